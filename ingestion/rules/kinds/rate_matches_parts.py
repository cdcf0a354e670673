"""rate_matches_parts: A rate must match its numerator and denominator."""
from __future__ import annotations

from ...domain import RULE_DECIMALS
from ...indicators import Catalog
from ..model import Evaluation, Submission, round_expected
from ..offline import OfflineEngine, _ev, _value, _scoped
from ..ruleset import RuleInstance, indicator_instances
from ..sql import SqlEngine, keyed_cte, SCOPE_DETAIL, _select, lit
from ..messages import _num
from . import RuleKind


def instances(kind: str, rule: dict, catalog: Catalog) -> list[RuleInstance]:
    return indicator_instances(kind, rule, catalog, lambda ind: ind.kind == "percent",
                               numerator=lambda ind: ind.numerator, denominator=lambda ind: ind.denominator)


def offline(engine: OfflineEngine, inst: RuleInstance, s: Submission) -> list[Evaluation]:
    out = []
    for rate in engine._subjects(s, inst.subject):
        scope = s.scope_of(rate)
        num_f, den_f = engine._partner(s, inst.numerator, scope), engine._partner(s, inst.denominator, scope)
        num, den = _value(num_f), _value(den_f)
        rows = [rate.row]
        if num is not None and den is not None:
            rows += [num_f.row, den_f.row]
        else:
            num, den = rate.numerator, rate.denominator  # "100% (18/18)": the fraction typed in the cell
        if num is None or den is None:
            continue
        if den == 0:
            out.append(_ev(inst, s, "pass", rate, rows=rows, observed=rate.value, numerator=num, denominator=den,
                           **_scoped(scope)))
            continue
        expected = round_expected(num * 100 / den)
        status = "fail" if abs(rate.value - expected) > engine.tolerance else "pass"
        out.append(_ev(inst, s, status, rate, rows=rows, observed=rate.value, expected=expected, numerator=num,
                       denominator=den, **_scoped(scope)))
    return out


def sql(engine: SqlEngine, kind: str) -> str:
    insts = engine.rules.of_kind(kind)
    values = [(lit(i.rule_id), lit(i.severity), lit(i.subject), engine._concept(i.numerator), engine._fixed(i.numerator),
               engine._concept(i.denominator), engine._fixed(i.denominator)) for i in insts]
    return f"""
{engine._instances(('rule_id', 'severity', 'subject', 'numerator_concept', 'numerator_scope',
                        'denominator_concept', 'denominator_scope'), values)},
{keyed_cte(engine.catalog[c].concept for i in insts for c in (i.numerator, i.denominator) if c)},
joined as (
    select inst.rule_id, inst.severity, s.*,
           n.value as n_value, n.row_number as n_row, d.value as d_value, d.row_number as d_row,
           (n.value is not null and d.value is not null) as from_rows
    from inst
    join gate_batch as s on s.indicator_code = inst.subject and s.value is not null
    {engine._partner_join('n', 'inst.numerator_concept', 'inst.numerator_scope')}
    {engine._partner_join('d', 'inst.denominator_concept', 'inst.denominator_scope')}
),
fractions as (
    select joined.*,
           case when from_rows then n_value else cell_numerator end as num,
           case when from_rows then d_value else cell_denominator end as den
    from joined
),
computed as (
    select fractions.*, case when den <> 0 then round(num * 100 / den, {RULE_DECIMALS}) end as expected_rate from fractions
    where num is not null and den is not null
)
{_select(rule_id="s.rule_id", kind=lit(kind), severity="s.severity",
         status=f"case when s.den <> 0 and abs(s.value - s.expected_rate) > {engine.tolerance} then 'fail' else 'pass' end",
         rows="case when s.from_rows then array[s.row_number, s.n_row, s.d_row] else array[s.row_number] end",
         expected="s.expected_rate",
         details="jsonb_build_object('label', s.label, 'numerator', s.num, 'denominator', s.den) || " + SCOPE_DETAIL)}
from computed as s"""


def message_fields(ev: Evaluation, inst: RuleInstance | None, catalog: Catalog, lang: str) -> dict:
    d = ev.detail
    return {"numerator": _num(d.get("numerator"), lang), "denominator": _num(d.get("denominator"), lang)}


KIND = RuleKind(name='rate_matches_parts', instances=instances, offline=offline, sql=sql,
                message_fields=message_fields)
