"""jump_within_history: A jump far outside the unit's own history."""
from __future__ import annotations

import statistics
from decimal import Decimal
from ...domain import RULE_DECIMALS
from ...indicators import Catalog
from ..model import Evaluation, Submission, round_expected
from ..offline import OfflineEngine, _ev, _value
from ..ruleset import RuleInstance, indicator_instances
from ..sql import SqlEngine, _select, lit, quarter_number
from ..messages import _num
from . import RuleKind


def instances(kind: str, rule: dict, catalog: Catalog) -> list[RuleInstance]:
    return indicator_instances(kind, rule, catalog, lambda ind: bool(ind.zscore))


def offline(engine: OfflineEngine, inst: RuleInstance, s: Submission) -> list[Evaluation]:
    fact = s.own.get(inst.subject)
    if _value(fact) is None or not s.unit_code or not s.year:
        return []
    series = [float(b.own[inst.subject].value) for b in engine._history(s) if _value(b.own.get(inst.subject)) is not None]
    if len(series) < engine.z_min:
        return []
    median = statistics.median(series)
    mad = statistics.median([abs(x - median) for x in series])
    if mad == 0:
        return []
    z = 0.6745 * (float(fact.value) - median) / mad
    status = "fail" if abs(z) > engine.z_threshold else "pass"
    return [_ev(inst, s, status, fact, rows=[fact.row], observed=fact.value,
                expected=round_expected(Decimal(repr(median))), z=round_expected(Decimal(repr(z))))]


def sql(engine: SqlEngine, kind: str) -> str:
    return f"""{engine._own_values(kind)},
units_history as materialized ({engine._basis_by(
    f"select unit_code, max({quarter_number()}) as latest from current_values group by unit_code",
    {"unit_code": "unit_code"}, (i.subject for i in engine.rules.of_kind(kind)), before="latest")}),
history as (
    select c.rule_id, c.file_id, b.value::float8 as x
    from current_values as c
    join units_history as b
      on b.unit_code = c.unit_code and (b.year, b.quarter) < (c.year, c.quarter)
     and b.own_indicator_code = c.own_indicator_code
),
medians as (
    select rule_id, file_id, count(*) as n, percentile_cont(0.5) within group (order by x) as median
    from history group by rule_id, file_id
),
spreads as (
    select h.rule_id, h.file_id, m.n, m.median, percentile_cont(0.5) within group (order by abs(h.x - m.median)) as mad
    from history as h join medians as m on m.rule_id = h.rule_id and m.file_id = h.file_id
    group by h.rule_id, h.file_id, m.n, m.median
),
scored as (
    select s.*, sp.median, 0.6745 * (s.value::float8 - sp.median) / sp.mad as z
    from current_values as s
    join spreads as sp on sp.rule_id = s.rule_id and sp.file_id = s.file_id
    where sp.n >= {engine.z_min} and sp.mad > 0
)
{_select(rule_id="s.rule_id", kind=lit(kind), severity="s.severity",
         status=f"case when abs(s.z) > {engine.z_threshold} then 'fail' else 'pass' end",
         expected=f"round(s.median::numeric, {RULE_DECIMALS})",
         details=f"jsonb_build_object('label', s.label, 'z', round(s.z::numeric, {RULE_DECIMALS}))")}
from scored as s"""


def message_fields(ev: Evaluation, inst: RuleInstance | None, catalog: Catalog, lang: str) -> dict:
    d = ev.detail
    return {"z": _num(d.get("z"), lang)}


KIND = RuleKind(name='jump_within_history', instances=instances, offline=offline, sql=sql,
                message_fields=message_fields)
