"""same_figure: One concept reported twice must agree."""
from __future__ import annotations

from ...indicators import Catalog
from ..model import Evaluation, Submission
from ..offline import OfflineEngine, _ev, _scoped
from ..ruleset import RuleInstance
from ..sql import SqlEngine, keyed_cte, SCOPE_DETAIL, _select, lit, text_array
from ..tree import sql_rows, sql_sum, sql_used_codes, sum_of, tree_codes
from ..messages import short_name
from . import RuleKind


def instances(kind: str, rule: dict, catalog: Catalog) -> list[RuleInstance]:
    """One instance per pair listed in rules.yml (its own severity, else the kind's)."""
    out = []
    for pair in rule.get("pairs", []):
        for code in (*pair["left"], *pair["right"]):
            if code not in catalog:
                raise ValueError(f"rules.yml: same_figure {pair['id']} names unknown indicator {code!r}")
        out.append(RuleInstance(f"{kind}:{pair['id']}", kind, pair.get("severity", rule["severity"]), pair["left"][0],
                                left=tuple(pair["left"]), right=tuple(pair["right"])))
    return out


def offline(engine: OfflineEngine, inst: RuleInstance, s: Submission) -> list[Evaluation]:
    codes = tree_codes(engine.catalog, (*inst.left, *inst.right))
    concepts = {engine.catalog[c].concept for c in codes if engine.catalog[c].scope is None}
    frames = sorted({scope for (concept, scope), f in s.by_key.items() if concept in concepts and f.value is not None})
    out = []
    for scope in frames:
        left, right = sum_of(engine.catalog, s, inst.left, scope), sum_of(engine.catalog, s, inst.right, scope)
        if left.value is None or right.value is None or not left.used or not right.used:
            continue
        status = "fail" if left.value != right.value else "pass"
        first = left.used[0][1]
        out.append(_ev(inst, s, status, first, rows=[f.row for _, f in left.used + right.used],
                       observed=left.value, expected=right.value, **_scoped(scope)))
    return out


def sql(engine: SqlEngine, kind: str) -> str:
    insts = engine.rules.of_kind(kind)
    codes = tree_codes(engine.catalog, [c for i in insts for c in (*i.left, *i.right)])
    frame_values, branches = [], []
    for i in insts:
        concepts = sorted({engine.catalog[c].concept for c in tree_codes(engine.catalog, (*i.left, *i.right))
                           if engine.catalog[c].scope is None})
        frame_values.append(f"({lit(i.rule_id)}, {lit(i.severity)}, {text_array(concepts)})")
        used = " || ".join(sql_used_codes(engine.catalog, c) for c in (*i.left, *i.right))
        rows = " || ".join(sql_rows(engine.catalog, c) for c in (*i.left, *i.right))
        branches.append(f"when {lit(i.rule_id)} then jsonb_build_array({sql_sum(engine.catalog, i.left)}, "
                        f"{sql_sum(engine.catalog, i.right)}, to_jsonb({rows}), to_jsonb({used}), "
                        f"to_jsonb({' || '.join(sql_used_codes(engine.catalog, c) for c in i.left)}), "
                        f"to_jsonb({' || '.join(sql_used_codes(engine.catalog, c) for c in i.right)}))")
    firsts = " ".join(f"when {lit(c)} then jsonb_build_array(pv.\"s_{c}\", pv.\"r_{c}\", pv.\"c_{c}\")"
                      for c in codes)
    return f"""
inst (rule_id, severity, frame_concepts) as (values {', '.join(frame_values)}),
{keyed_cte(engine.catalog[c].concept for c in codes)},
frames as (
    select distinct inst.rule_id, inst.severity, k.file_id, k.unit_level, k.rule_scope
    from inst join keyed as k on k.concept_code = any(inst.frame_concepts) and k.value is not null
),
{engine._pivot(codes, 'frames')},
-- Materialized: its result is read six times below, and inlined, the CASE over every instance's sums
-- was worked out again for each.
sides as materialized (
    select frames.rule_id, frames.severity, frames.file_id, frames.rule_scope, r.result,
           case r.result -> 3 ->> 0 {firsts} end as first_figure
    from frames
    join pv on pv.file_id = frames.file_id and pv.rule_scope = frames.rule_scope
    cross join lateral (select case frames.rule_id {' '.join(branches)} end as result) as r
),
compared as materialized (
    select sides.rule_id, sides.severity, sides.file_id, sides.rule_scope,
           sides.first_figure ->> 0 as first_sheet, (sides.first_figure ->> 1)::integer as first_row,
           (sides.first_figure ->> 2)::integer as first_col,
           (result ->> 0)::numeric as left_sum, (result ->> 1)::numeric as right_sum,
           array(select jsonb_array_elements_text(result -> 2)::integer) as all_rows,
           jsonb_array_length(result -> 4) as left_used, jsonb_array_length(result -> 5) as right_used
    from sides
),
located as (
    select c.*, f.sheet, f.row_number, f.form, f.label, f.indicator_code, f.unit_code, f.year, f.quarter
    from compared as c
    join gate_batch as f on f.file_id = c.file_id and f.sheet = c.first_sheet
                     and f.row_number = c.first_row and f.col_number = c.first_col
    where c.left_sum is not null and c.right_sum is not null and c.left_used > 0 and c.right_used > 0
)
{_select(rule_id="s.rule_id", kind=lit(kind), severity="s.severity",
         status="case when s.left_sum <> s.right_sum then 'fail' else 'pass' end",
         rows="s.all_rows", observed="s.left_sum", expected="s.right_sum",
         details="jsonb_build_object('label', s.label) || " + SCOPE_DETAIL)}
from located as s"""


def message_fields(ev: Evaluation, inst: RuleInstance | None, catalog: Catalog, lang: str) -> dict:
    if inst is None or not inst.left:
        return {}
    return {"left_names": " + ".join(short_name(catalog, c, lang) for c in inst.left),
            "right_names": " + ".join(short_name(catalog, c, lang) for c in inst.right)}


KIND = RuleKind(name='same_figure', instances=instances, offline=offline, sql=sql,
                message_fields=message_fields)
