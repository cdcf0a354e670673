"""part_not_above_whole: A part cannot exceed its whole."""
from __future__ import annotations

from ...indicators import Catalog
from ..model import Evaluation, Submission
from ..offline import OfflineEngine, _ev, _value, _scoped
from ..ruleset import RuleInstance, indicator_instances
from ..sql import SqlEngine, keyed_cte, SCOPE_DETAIL, _select, lit
from ..messages import short_name
from . import RuleKind


def instances(kind: str, rule: dict, catalog: Catalog) -> list[RuleInstance]:
    return indicator_instances(kind, rule, catalog, lambda ind: bool(ind.whole), whole=lambda ind: ind.whole)


def offline(engine: OfflineEngine, inst: RuleInstance, s: Submission) -> list[Evaluation]:
    out = []
    for part in engine._subjects(s, inst.subject):
        scope = s.scope_of(part)
        whole = engine._partner(s, inst.whole, scope)
        if _value(whole) is None:
            continue
        status = "fail" if part.value > whole.value else "pass"
        out.append(_ev(inst, s, status, part, rows=[part.row, whole.row], observed=part.value, expected=whole.value,
                       whole=inst.whole, **_scoped(scope)))
    return out


def sql(engine: SqlEngine, kind: str) -> str:
    insts = engine.rules.of_kind(kind)
    values = [(lit(i.rule_id), lit(i.severity), lit(i.subject), engine._concept(i.whole), engine._fixed(i.whole))
              for i in insts]
    return f"""
{engine._instances(('rule_id', 'severity', 'subject', 'whole_concept', 'whole_scope'), values)},
{keyed_cte(engine.catalog[i.whole].concept for i in insts if i.whole)},
joined as (
    select inst.rule_id, inst.severity, s.*, w.value as w_value, w.row_number as w_row
    from inst
    join gate_batch as s on s.indicator_code = inst.subject and s.value is not null
    {engine._partner_join('w', 'inst.whole_concept', 'inst.whole_scope')}
)
{_select(rule_id="s.rule_id", kind=lit(kind), severity="s.severity",
         status="case when s.value > s.w_value then 'fail' else 'pass' end",
         rows="array[s.row_number, s.w_row]", expected="s.w_value",
         details="jsonb_build_object('label', s.label, 'whole', wholes.code) || " + SCOPE_DETAIL)}
from joined as s
join (values {', '.join(f"({lit(i.rule_id)}, {lit(i.whole)})" for i in insts)}) as wholes (rule_id, code)
  on wholes.rule_id = s.rule_id
where s.w_value is not null"""


def message_fields(ev: Evaluation, inst: RuleInstance | None, catalog: Catalog, lang: str) -> dict:
    d = ev.detail
    return {"whole_name": short_name(catalog, d.get("whole"), lang)}


KIND = RuleKind(name='part_not_above_whole', instances=instances, offline=offline, sql=sql,
                message_fields=message_fields)
