"""Domain facts that Python and dbt must agree on, read from where dbt reads them.

- Organisation levels (``dbt_project/seeds/org_levels.csv``, the seed ``org_levels``): each level's
  catalog letter, its rank for sums of lower levels (a unit sums the levels ranked below its own;
  departments have none: they stand beside the districts, above nobody) and whether its units are
  expected to report every quarter.
- Quarters and validity windows (``dbt_project/macros/periods.sql``): the SQL the rule engines run
  is rendered from the dbt macros; the Python dates below are checked against them in PostgreSQL
  (tests/test_domain.py).
- The reporting deadline's grace days (the dbt var ``report_due_days`` of dbt_project.yml).
"""
from __future__ import annotations

import csv
import datetime as dt
import functools
from decimal import ROUND_HALF_UP, Decimal

from . import config

SEEDS_DIR = config.DBT_PROJECT_DIR / "seeds"
PERIOD_MACROS = config.DBT_PROJECT_DIR / "macros" / "periods.sql"


def _levels() -> list[dict[str, str]]:
    with open(SEEDS_DIR / "org_levels.csv", newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


_LEVEL_ROWS = _levels()
LEVELS = tuple(r["level"] for r in _LEVEL_ROWS)  # from the top of the hierarchy down
LEVEL_LETTERS = {r["level"]: r["letter"] for r in _LEVEL_ROWS}
LETTER_LEVEL = {letter: level for level, letter in LEVEL_LETTERS.items()}
LEVEL_RANK = {r["level"]: int(r["rank"]) for r in _LEVEL_ROWS if r["rank"]}
EXPECTED_LEVELS = tuple(r["level"] for r in _LEVEL_ROWS if r["expected_to_report"] == "true")

# Rule expectations (a recomputed rate, a median) are rounded half away from zero to this many
# decimals by both engines; the marts publish recomputed rates to 2 (macros/rates.sql).
RULE_DECIMALS = 4


def recomputed_rate(numerator, denominator) -> float | None:
    """100 × numerator / denominator as the marts publish it (macros/rates.sql recomputed_rate():
    2 decimals, half away from zero like PostgreSQL's numeric round), or None without a denominator."""
    if numerator is None or not denominator:
        return None
    rate = Decimal(100) * Decimal(str(numerator)) / Decimal(str(denominator))
    return float(rate.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def quarter_start(year: int, quarter: int) -> dt.date:
    return dt.date(year, quarter * 3 - 2, 1)


def quarter_end(year: int, quarter: int) -> dt.date:
    month = quarter * 3
    return dt.date(year + (month == 12), 1 if month == 12 else month + 1, 1) - dt.timedelta(days=1)


def cutoff_start(year: int, quarter: int) -> dt.date:
    first_month = quarter * 3 - 2
    return dt.date(year - (first_month == 1), 12 if first_month == 1 else first_month - 1, 15)


def cutoff_end(year: int, quarter: int) -> dt.date:
    return dt.date(year, quarter * 3, 14)


@functools.cache
def report_due_days() -> int:
    import yaml

    project = yaml.safe_load((config.DBT_PROJECT_DIR / "dbt_project.yml").read_text(encoding="utf-8"))
    return int(project["vars"]["report_due_days"])


def report_due_date(year: int, quarter: int) -> dt.date:
    """Figures run to the cut-off; the report is due report_due_days later (dim_period.report_due_date)."""
    return cutoff_end(year, quarter) + dt.timedelta(days=report_due_days())


def valid_on(valid_from: dt.date | None, valid_to: dt.date | None, day: dt.date) -> bool:
    return (valid_from is None or valid_from <= day) and (valid_to is None or day <= valid_to)


@functools.cache
def _macros(path):
    import jinja2

    return jinja2.Environment().from_string(path.read_text(encoding="utf-8")).module


def _period_macros():
    return _macros(PERIOD_MACROS)


def sql_recomputed_rate(numerator: str, denominator: str) -> str:
    """macros/rates.sql recomputed_rate() over SQL expressions (tests compare it with recomputed_rate())."""
    return str(_macros(config.DBT_PROJECT_DIR / "macros" / "rates.sql").recomputed_rate(numerator, denominator)).strip()


def sql_quarter_end(year: str, quarter: str) -> str:
    """macros/periods.sql quarter_end() over SQL expressions."""
    return str(_period_macros().quarter_end(year, quarter)).strip()


def sql_valid_on(unit: str, day: str) -> str:
    """macros/periods.sql valid_on() for a registry relation's alias."""
    return " ".join(str(_period_macros().valid_on(unit, day)).split())


def sql_level_rank(column: str) -> str:
    """A unit level's rank for sums of lower levels, -1 for a level that sums none."""
    whens = "".join(f" when '{level}' then {rank}" for level, rank in LEVEL_RANK.items())
    return f"case {column}{whens} else -1 end"
