"""cumulative_not_decreasing: A year-to-date figure cannot decrease within a year."""
from __future__ import annotations

from ...indicators import Catalog
from ..model import Evaluation, Submission
from ..offline import OfflineEngine, _ev, _value
from ..ruleset import RuleInstance, indicator_instances
from ..sql import SqlEngine, _select, lit, quarter_number
from ..messages import period_vi
from . import RuleKind


def instances(kind: str, rule: dict, catalog: Catalog) -> list[RuleInstance]:
    return indicator_instances(kind, rule, catalog, lambda ind: bool(ind.cumulative))


def offline(engine: OfflineEngine, inst: RuleInstance, s: Submission) -> list[Evaluation]:
    fact = s.own.get(inst.subject)
    if _value(fact) is None or not s.unit_code or not s.year:
        return []
    earlier = [b for b in engine._history(s) if b.year == s.year and _value(b.own.get(inst.subject)) is not None]
    if not earlier:
        return []
    prev = earlier[-1]
    prev_value = prev.own[inst.subject].value
    status = "fail" if fact.value < prev_value else "pass"
    return [_ev(inst, s, status, fact, rows=[fact.row], observed=fact.value, expected=prev_value,
                previous_period=prev.period)]


def sql(engine: SqlEngine, kind: str) -> str:
    # The earlier quarters of each pending unit-year, read unit by unit (as jump_within_history reads a
    # unit's series): joined whole, the basis view sorted every submission of the history first.
    return f"""{engine._own_values(kind)},
year_history as materialized ({engine._basis_by(
    f"select unit_code, year, max({quarter_number()}) as latest from current_values group by unit_code, year",
    {"unit_code": "unit_code", "year": "year"}, (i.subject for i in engine.rules.of_kind(kind)), before="latest")}),
previous as (
    select c.rule_id, c.file_id, b.value as previous_value, b.year as previous_year, b.quarter as previous_quarter,
           row_number() over (partition by c.rule_id, c.file_id order by b.quarter desc) as recency
    from current_values as c
    join year_history as b
      on b.unit_code = c.unit_code and b.year = c.year and b.quarter < c.quarter
     and b.own_indicator_code = c.own_indicator_code
)
{_select(rule_id="s.rule_id", kind=lit(kind), severity="s.severity",
         status="case when s.value < p.previous_value then 'fail' else 'pass' end",
         expected="p.previous_value",
         details="jsonb_build_object('label', s.label, 'previous_period', p.previous_year || '-Q' || p.previous_quarter)")}
from current_values as s
join previous as p on p.rule_id = s.rule_id and p.file_id = s.file_id and p.recency = 1"""


def message_fields(ev: Evaluation, inst: RuleInstance | None, catalog: Catalog, lang: str) -> dict:
    d = ev.detail
    return {"previous_period": period_vi(d.get("previous_period"), lang)}


KIND = RuleKind(name='cumulative_not_decreasing', instances=instances, offline=offline, sql=sql,
                message_fields=message_fields)
