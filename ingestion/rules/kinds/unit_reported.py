"""unit_reported: Every expected unit sends its quarterly report."""
from __future__ import annotations

from ...domain import EXPECTED_LEVELS, sql_quarter_end, sql_valid_on
from ..model import Evaluation, Submission
from ..offline import OfflineEngine
from ..ruleset import RuleInstance, single_instance
from ..sql import SqlEngine, _select, lit, text_array
from . import RuleKind


def offline(engine: OfflineEngine, inst: RuleInstance, s: Submission) -> list[Evaluation]:
    return []  # about expected units, not about one file: see expected_units


def expected_units(engine: OfflineEngine, submissions: list[Submission],
                   reported: set[tuple[str, int, int]] | None) -> list[Evaluation]:
    inst = engine.rules.of_kind("unit_reported")[0]
    sent = {(s.unit_code, s.year, s.quarter) for s in submissions if s.unit_code and s.year} | (reported or set())
    quarters = sorted({(s.year, s.quarter) for s in submissions if s.pending and s.year})
    levels = EXPECTED_LEVELS
    out = []
    for year, quarter in quarters:
        for unit in sorted(engine.registry.expected(year, quarter, levels), key=lambda u: u.code):
            status = "pass" if (unit.code, year, quarter) in sent else "fail"
            out.append(Evaluation(rule_id=inst.rule_id, kind=inst.kind, severity=inst.severity, status=status,
                                  submission=None, unit_code=unit.code, year=year, quarter=quarter,
                                  details=(("unit_name", unit.name),)))
    return out


def sql(engine: SqlEngine, kind: str) -> str:
    """Recorded when a unit-quarter is first expected and whenever its outcome changes:
        the history says when a unit was missing and when its report came in, without
        re-recording every expected unit of every quarter a night touches."""
    inst = engine.rules.of_kind(kind)[0]
    levels = text_array(EXPECTED_LEVELS)
    return f"""
quarters as (
    select distinct year, quarter,
           {sql_quarter_end('year', 'quarter')} as quarter_end
    from gate_batch where year is not null
),
expected as (
    select q.year, q.quarter, u.unit_code, u.unit_name,
           case when exists (select 1 from {engine.rel.files} as f where f.unit_code = u.unit_code
                             and f.year = q.year and f.quarter = q.quarter) then 'pass' else 'fail' end as status
    from quarters as q
    join {engine.rel.org_units} as u
      on u.unit_level = any({levels})
     and {sql_valid_on('u', 'q.quarter_end')}
)
{_select(rule_id=lit(inst.rule_id), kind=lit(kind), severity=lit(inst.severity), status="s.status",
         file_id="null", unit="s.unit_code", year="s.year", quarter="s.quarter", indicator="null", sheet="null",
         row="null", rows="array[]::integer[]", form="null", observed="null",
         details="jsonb_build_object('unit_name', s.unit_name)")}
from expected as s
left join lateral (
    select recorded.status from {engine.rel.dq_history} as recorded
    where recorded.rule_kind = {lit(kind)} and recorded.unit_code = s.unit_code
      and recorded.year = s.year and recorded.quarter = s.quarter
    order by recorded.dq_result_id desc
    limit 1
) as last_recorded on true
where last_recorded.status is distinct from s.status"""


KIND = RuleKind(name='unit_reported', instances=single_instance, offline=offline, sql=sql,
                offline_expected=expected_units)
