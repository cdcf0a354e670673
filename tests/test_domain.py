"""Python and dbt agree on the domain facts they share (ingestion/domain.py): organisation levels
from the seed dbt loads, quarter ends, cut-offs and validity windows from the dbt macros the rule
SQL is rendered from, evaluated by PostgreSQL against the dates Python computes."""
from __future__ import annotations

import csv
import datetime as dt
import re

import pytest

from conftest import query
from ingestion import config, domain
from ingestion.registry import OrgUnit, Registry
from ingestion.rules import model
from ingestion.rules.ruleset import load_rules

QUARTERS = [(year, quarter) for year in (2015, 2020, 2024, 2025, 2026, 2035) for quarter in (1, 2, 3, 4)]
DBT = config.DBT_PROJECT_DIR


def test_levels_python_reads_are_the_seed_dbt_loads():
    with open(DBT / "seeds" / "org_levels.csv", newline="", encoding="utf-8") as fh:
        seed = list(csv.DictReader(fh))
    assert model.LEVEL_LETTERS == {r["level"]: r["letter"] for r in seed}
    assert model.LETTER_LEVEL == {r["letter"]: r["level"] for r in seed}
    assert model.LEVEL_RANK == {r["level"]: int(r["rank"]) for r in seed if r["rank"]}
    assert domain.EXPECTED_LEVELS == tuple(r["level"] for r in seed if r["expected_to_report"] == "true")
    # departments sum no lower level: the levels_add_up rule never applies to them
    assert "department" not in model.LEVEL_RANK


def _python_sources() -> list:
    """Every module of the package, the rule kinds' modules (ingestion/rules/kinds) included."""
    paths = sorted((config.PROJECT_DIR / "ingestion").glob("**/*.py"))
    kinds = {p.name for p in paths if p.parent.name == "kinds" and p.parent.parent.name == "rules"}
    assert {"levels_add_up.py", "unit_reported.py", "rate_matches_parts.py", "jump_within_history.py",
            "narrative_matches_appendix.py"} <= kinds
    return paths


def test_no_copy_of_the_levels_or_the_periods_is_left_in_sql():
    letters = re.compile(r"when\s+'(province|department|district|commune)'\s+then\s+'[psdc]'")
    ranks = re.compile(r"when\s+'(province|department|district|commune)'\s+then\s+-?\d")
    month_end = re.compile(r"make_date\(")
    for path in [*DBT.glob("models/**/*.sql"), *_python_sources()]:
        text = path.read_text(encoding="utf-8")
        assert not letters.search(text), path
        assert not ranks.search(text), f"{path}: a level rank outside seeds/org_levels.csv"
        if path.name != "periods.sql":
            assert not month_end.search(text), f"{path}: a date formula outside macros/periods.sql"


def test_rule_settings_have_no_default_in_code():
    for path in _python_sources():
        assert not re.search(r"settings\.get\(", path.read_text(encoding="utf-8")), path
    assert set(load_rules().settings) >= {"rate_tolerance_pp", "zscore_threshold", "zscore_min_history"}


def test_quarter_end_and_cutoff_macros_give_the_python_dates_in_postgresql(warehouse):
    values = ", ".join(f"({y}, {q})" for y, q in QUARTERS)
    rows = query(warehouse, f"""
        select year, quarter, {domain._period_macros().quarter_start('year', 'quarter')},
               {domain.sql_quarter_end('year', 'quarter')},
               {domain._period_macros().cutoff_start('year', 'quarter')},
               {domain._period_macros().cutoff_end('year', 'quarter')}
        from (values {values}) as q (year, quarter)""")
    assert len(rows) == len(QUARTERS)
    for year, quarter, first, end, start, cutoff in rows:
        assert (first, end, start, cutoff) == (domain.quarter_start(year, quarter), domain.quarter_end(year, quarter),
                                               domain.cutoff_start(year, quarter), domain.cutoff_end(year, quarter))
    assert domain.report_due_date(2026, 3) == dt.date(2026, 9, 14) + dt.timedelta(days=domain.report_due_days())


def test_validity_window_macro_and_python_agree_on_the_edges_in_postgresql(warehouse):
    day = dt.date(2025, 6, 30)
    windows = [(None, None), (day, None), (day + dt.timedelta(1), None), (None, day), (None, day - dt.timedelta(1)),
               (dt.date(2025, 1, 1), dt.date(2025, 12, 31)), (dt.date(2025, 7, 1), dt.date(2025, 12, 31))]
    values = ", ".join(f"({i}, {_date(f)}, {_date(t)})" for i, (f, t) in enumerate(windows))
    rows = dict(query(warehouse, f"""
        select u.i, {domain.sql_valid_on('u', "date '2025-06-30'")}
        from (values {values}) as u (i, valid_from, valid_to)"""))
    assert rows == {i: domain.valid_on(f, t, day) for i, (f, t) in enumerate(windows)}
    assert list(rows.values()).count(True) == 4


def test_recomputed_rate_python_and_the_marts_macro_agree_in_postgresql(warehouse):
    pairs = [(1, 32), (1, 8), (2, 3), (437, 437), (441, 446), (5, 0), (None, 4), (7, None), (1, 3), (5, 6)]
    values = ", ".join(f"({i}, {_num(n)}, {_num(d)})" for i, (n, d) in enumerate(pairs))
    rows = dict(query(warehouse, f"""
        select p.i, {domain.sql_recomputed_rate('p.n', 'p.d')}
        from (values {values}) as p (i, n, d)"""))
    assert {i: (float(v) if v is not None else None) for i, v in rows.items()} == {
        i: domain.recomputed_rate(n, d) for i, (n, d) in enumerate(pairs)}
    assert domain.recomputed_rate(1, 32) == 3.13  # a tie: half away from zero, as PostgreSQL (float round gives 3.12)


def test_level_rank_sql_is_the_seed_rank_in_postgresql(warehouse):
    rows = dict(query(warehouse, f"select level, {domain.sql_level_rank('level')} from unnest(%s::text[]) as level",
                      (list(domain.LEVELS),)))
    assert rows == {level: domain.LEVEL_RANK.get(level, -1) for level in domain.LEVELS}


def test_registry_expects_the_levels_the_seed_expects():
    units = [OrgUnit(code, code, level, "", None, None, None)
             for code, level in [("P", "province"), ("S", "department"), ("D", "district"), ("C", "commune")]]
    expected = Registry(units).expected(2026, 3, domain.EXPECTED_LEVELS)
    assert sorted(u.level for u in expected) == sorted(domain.EXPECTED_LEVELS)


@pytest.mark.parametrize("model_file", ["marts/dim_period.sql", "marts/fct_submission_status.sql"])
def test_dbt_models_call_the_shared_macros(model_file):
    sql = (DBT / "models" / model_file).read_text(encoding="utf-8")
    assert re.search(r"\{\{ (quarter_end|valid_on)\(", sql)


def _num(value) -> str:
    return "null::numeric" if value is None else f"{value}::numeric"


def _date(value: dt.date | None) -> str:
    return f"date '{value.isoformat()}'" if value else "null::date"
