"""coded_in_legend: A coded answer must be one of its legend's codes."""
from __future__ import annotations

from decimal import Decimal
from ...indicators import Catalog
from ..model import Evaluation, Submission
from ..offline import OfflineEngine, _ev
from ..ruleset import RuleInstance, indicator_instances
from ..sql import SqlEngine, _select, lit
from . import RuleKind


def instances(kind: str, rule: dict, catalog: Catalog) -> list[RuleInstance]:
    return indicator_instances(kind, rule, catalog, lambda ind: ind.kind == "coded" and bool(ind.legend),
                               codes=lambda ind: tuple(code for code, _ in ind.legend))


def offline(engine: OfflineEngine, inst: RuleInstance, s: Submission) -> list[Evaluation]:
    out = []
    for fact in engine._subjects(s, inst.subject):
        status = "pass" if fact.value in {Decimal(c) for c in inst.codes} else "fail"
        out.append(_ev(inst, s, status, fact, rows=[fact.row], observed=fact.value))
    return out


def sql(engine: SqlEngine, kind: str) -> str:
    insts = engine.rules.of_kind(kind)
    values = [(lit(i.rule_id), lit(i.severity), lit(i.subject),
               "array[" + ", ".join(str(c) for c in i.codes) + "]::numeric[]") for i in insts]
    return f"""
{engine._instances(('rule_id', 'severity', 'subject', 'codes'), values)}
{_select(rule_id="inst.rule_id", kind=lit(kind), severity="inst.severity",
         status="case when s.value = any(inst.codes) then 'pass' else 'fail' end")}
from inst join gate_batch as s on s.indicator_code = inst.subject and s.value is not null"""


def message_fields(ev: Evaluation, inst: RuleInstance | None, catalog: Catalog, lang: str) -> dict:
    if inst is None or not inst.codes or ev.indicator not in catalog:
        return {}
    legend = dict(catalog[ev.indicator].legend)
    return {"legend": ", ".join(f"{c} = {legend.get(c, '')}" for c in inst.codes)}


KIND = RuleKind(name='coded_in_legend', instances=instances, offline=offline, sql=sql,
                message_fields=message_fields)
