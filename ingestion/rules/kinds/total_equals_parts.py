"""total_equals_parts: A total must equal the sum of its parts."""
from __future__ import annotations

from ...indicators import Catalog
from ..model import Evaluation, Submission
from ..offline import OfflineEngine, _ev, _scoped
from ..ruleset import RuleInstance, indicator_instances
from ..sql import SqlEngine, keyed_cte, SCOPE_DETAIL, _select, lit
from ..tree import sql_parts, sql_rows, sql_sum, sum_of, tree_codes
from ..messages import _num, short_name
from . import RuleKind


def instances(kind: str, rule: dict, catalog: Catalog) -> list[RuleInstance]:
    return indicator_instances(kind, rule, catalog, lambda ind: bool(ind.parts), parts=lambda ind: ind.parts)


def offline(engine: OfflineEngine, inst: RuleInstance, s: Submission) -> list[Evaluation]:
    out = []
    for total in engine._subjects(s, inst.subject):
        scope = s.scope_of(total)
        parts = sum_of(engine.catalog, s, inst.parts, scope)
        if parts.value is None or not parts.used:
            continue  # a part is missing and cannot be made of its own parts: nothing to compare
        status = "fail" if total.value != parts.value else "pass"
        out.append(_ev(inst, s, status, total, rows=[total.row, *(f.row for _, f in parts.used)],
                       observed=total.value, expected=parts.value,
                       parts=tuple((code, f.value) for code, f in parts.used), **_scoped(scope)))
    return out


def sql(engine: SqlEngine, kind: str) -> str:
    insts = engine.rules.of_kind(kind)
    codes = tree_codes(engine.catalog, [p for i in insts for p in i.parts])
    branches = []
    for i in insts:
        rows = " || ".join(sql_rows(engine.catalog, p) for p in i.parts)
        parts = " || ".join(sql_parts(engine.catalog, p) for p in i.parts)
        branches.append(f"when {lit(i.rule_id)} then jsonb_build_array({sql_sum(engine.catalog, i.parts)}, "
                        f"to_jsonb({rows}), {parts})")
    values = [(lit(i.rule_id), lit(i.severity), lit(i.subject)) for i in insts]
    return f"""
{engine._instances(('rule_id', 'severity', 'subject'), values)},
{keyed_cte(engine.catalog[c].concept for c in codes)},
totals as (
    select inst.rule_id, inst.severity, s.*
    from inst join gate_batch as s on s.indicator_code = inst.subject and s.value is not null
),
{engine._pivot(codes, 'totals')},
-- Materialized: the sum, the parts' rows and their list are taken from its result four times below, and
-- inlined, its CASE over every instance's sum was worked out again for each (half the kind's time).
sums as materialized (
    select t.rule_id, t.file_id, t.sheet, t.row_number, t.col_number,
           case t.rule_id {' '.join(branches)} end as result
    from totals as t
    join pv on pv.file_id = t.file_id and pv.rule_scope = t.rule_scope
),
completed as (
    select sums.*, (result ->> 0)::numeric as parts_sum,
           array(select jsonb_array_elements_text(result -> 1)::integer) as part_rows, result -> 2 as parts
    from sums
)
{_select(rule_id="s.rule_id", kind=lit(kind), severity="s.severity",
         status="case when s.value <> c.parts_sum then 'fail' else 'pass' end",
         rows="array[s.row_number] || c.part_rows", expected="c.parts_sum",
         details="jsonb_build_object('label', s.label, 'parts', c.parts) || " + SCOPE_DETAIL)}
from totals as s
join completed as c on c.rule_id = s.rule_id and c.file_id = s.file_id and c.sheet = s.sheet
                   and c.row_number = s.row_number and c.col_number = s.col_number
where c.parts_sum is not null and cardinality(c.part_rows) > 0"""


def message_fields(ev: Evaluation, inst: RuleInstance | None, catalog: Catalog, lang: str) -> dict:
    d = ev.detail
    return {"parts": ", ".join(f"{short_name(catalog, c, lang)} {_num(v, lang)}" for c, v in d.get("parts", ()))}


KIND = RuleKind(name='total_equals_parts', instances=instances, offline=offline, sql=sql,
                message_fields=message_fields)
