"""The warehouse engine: one set-based SQL query per rule kind, generated from the rule catalog.

Each query evaluates every instance of its kind for every pending submission at once
(``{batch}`` is the pending figures; Great Expectations substitutes it) and returns one
row per evaluation with the same fields the offline engine produces:

    rule_id, rule_kind, severity, status, file_id, unit_code, year, quarter, indicator,
    sheet, row_number, rows, form, observed, expected, details

The semantics mirror ingestion/rules/offline.py kind by kind; the agreement test runs
both on the same workbooks. Queries contain no braces other than ``{batch}``, so they
survive the str.format Great Expectations applies.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..domain import EXPECTED_LEVELS, LEVEL_LETTERS, RULE_DECIMALS, sql_level_rank, sql_quarter_end, sql_valid_on
from ..indicators import Catalog
from ..text.scope import LEVEL_SCOPES, SCOPE_OF_LETTER
from .ruleset import RuleSet
from .narrative import targets_table
from .tree import sql_parts, sql_pivot_columns, sql_rows, sql_sum, sql_used_codes, tree_codes


@dataclass(frozen=True)
class Relations:
    basis: str = "intermediate.int_facts_basis"
    descendants: str = "intermediate.int_org_units_descendants"
    org_units: str = "staging.stg_raw__org_units"
    files: str = "staging.stg_raw__files"
    gate: str = "staging.stg_audit__submission_gate"
    dq_history: str = "audit.dq_results"
    narrative: str = "staging.stg_raw__narrative_figures"
    submissions: str = "intermediate.int_submissions_enriched"
    facts: str = "staging.stg_raw__facts"


# Great Expectations substitutes {batch} as "(select ...)" when the query text contains a JOIN
# and as "(select ...) AS subselect" otherwise; the explicit join keeps the form fixed.
PENDING_CTE = "with pending as (select batch_rows.* from {batch} as batch_rows cross join (select 1) as single_row)"
# One figure per (file, concept, rule scope): where a commune's generic row and its "cấp xã" variant
# meet, the generic row wins (as in Submission.index).
KEYED_CTE = """keyed as (
    select distinct on (file_id, concept_code, rule_scope) * from pending
    where concept_code is not null
    order by file_id, concept_code, rule_scope, (scope = 'unit') desc
)"""
# Evaluations within a level slice say which one.
SCOPE_DETAIL = "(case when s.rule_scope <> 'unit' then jsonb_build_object('scope', s.rule_scope) else jsonb_build_object() end)"


def lit(value: str | None) -> str:
    return "null" if value is None else "'" + str(value).replace("'", "''") + "'"


def text_array(values) -> str:
    return "array[" + ", ".join(lit(v) for v in values) + "]::text[]" if values else "array[]::text[]"


def _select(rule_id="rule_id", kind="rule_kind", severity="severity", status="status", file_id="s.file_id",
            unit="s.unit_code", year="s.year", quarter="s.quarter", indicator="s.indicator_code", sheet="s.sheet",
            row="s.row_number", rows="array[s.row_number]", form="s.form", observed="s.value", expected="null::numeric",
            details="jsonb_build_object('label', s.label)") -> str:
    return (f"select {rule_id} as rule_id, {kind} as rule_kind, {severity} as severity, {status} as status, "
            f"{file_id}::bigint as file_id, {unit}::text as unit_code, {year}::integer as year, "
            f"{quarter}::integer as quarter, {indicator}::text as indicator, {sheet}::text as sheet, "
            f"{row}::integer as row_number, {rows}::integer[] as rows, {form}::integer as form, "
            f"{observed}::numeric as observed, {expected}::numeric as expected, {details} as details")


class SqlEngine:
    def __init__(self, rules: RuleSet, catalog: Catalog, relations: Relations = Relations()):
        self.rules, self.catalog, self.rel = rules, catalog, relations
        self.tolerance = float(rules.settings["rate_tolerance_pp"])
        self.z_threshold = float(rules.settings["zscore_threshold"])
        self.z_min = int(rules.settings["zscore_min_history"])

    def kinds(self) -> list[str]:
        seen = []
        for inst in self.rules.instances:
            if inst.kind not in seen:
                seen.append(inst.kind)
        return seen

    def query(self, kind: str) -> str:
        """The evaluation query of one rule kind (all its instances), reading ``{batch}`` once."""
        return PENDING_CTE + "," + getattr(self, f"_{kind}")(kind)

    def unexpected_rows_query(self, kind: str, severity: str) -> str:
        """What Great Expectations checks: the failures of one kind at one severity."""
        return (f"select * from ({self.query(kind)}) as evaluations "
                f"where evaluations.status = 'fail' and evaluations.severity = {lit(severity)}")

    def _instances(self, columns: tuple[str, ...], values) -> str:
        rows = [f"({', '.join(v)})" for v in values]
        return f"inst ({', '.join(columns)}) as (values {', '.join(rows)})"

    # -- figure by figure ------------------------------------------------------------------------
    def _cell(self, kind: str, checked: str, failing: str) -> str:
        inst = self.rules.of_kind(kind)[0]
        head = f"{lit(inst.rule_id)}"
        return f"""
checked as (select * from pending as s where {checked}),
bad as (select * from checked as s where {failing})
{_select(rule_id=head, kind=lit(kind), severity=lit(inst.severity), status="'fail'")}
from bad as s
union all
{_select(rule_id=head, kind=lit(kind), severity=lit(inst.severity), status="'pass'", file_id="s.file_id",
         unit="min(s.unit_code)", year="min(s.year)", quarter="min(s.quarter)", indicator="null", sheet="null",
         row="null", rows="array[]::integer[]", form="null", observed="count(*)", details="jsonb_build_object()")}
from checked as s
where not exists (select 1 from bad where bad.file_id = s.file_id)
group by s.file_id"""

    def _percent_in_range(self, kind):
        return self._cell(kind, "s.kind = 'percent' and s.value is not null", "s.value < 0 or s.value > 100")

    def _count_not_negative(self, kind):
        return self._cell(kind, "s.kind in ('count', 'money') and s.value is not null", "s.value < 0")

    def _count_is_whole(self, kind):
        return self._cell(kind, "s.kind = 'count' and s.value is not null", "s.value <> trunc(s.value)")

    def _row_in_catalog(self, kind):
        return self._cell(kind, "true", "s.indicator_code is null")

    # -- relations within one submission: figures of one scope -----------------------------------
    def _partner_join(self, alias: str, concept: str, fixed: str) -> str:
        """Join the keyed figure of a partner (numerator, whole) at the subject's scope (tree.partner_scope)."""
        lookup = (f"(case when {fixed} is null then s.rule_scope "
                  f"when s.rule_scope = 'unit' or {self._norm(fixed)} = s.rule_scope then {self._norm(fixed)} end)")
        return (f"left join keyed as {alias} on {alias}.file_id = s.file_id and {alias}.concept_code = {concept} "
                f"and {alias}.rule_scope = {lookup}")

    @staticmethod
    def _norm(scope: str, level: str = "s.unit_level") -> str:
        from .tree import sql_rule_scope
        return sql_rule_scope(scope, level)

    def _concept(self, code: str | None) -> str:
        return lit(self.catalog[code].concept) if code else "null"

    def _fixed(self, code: str | None) -> str:
        return f"{lit(self.catalog[code].scope)}::text" if code and self.catalog[code].scope else "null::text"

    def _rate_matches_parts(self, kind):
        insts = self.rules.of_kind(kind)
        values = [(lit(i.rule_id), lit(i.severity), lit(i.subject), self._concept(i.numerator), self._fixed(i.numerator),
                   self._concept(i.denominator), self._fixed(i.denominator)) for i in insts]
        return f"""
{self._instances(('rule_id', 'severity', 'subject', 'numerator_concept', 'numerator_scope',
                        'denominator_concept', 'denominator_scope'), values)},
{KEYED_CTE},
joined as (
    select inst.rule_id, inst.severity, s.*,
           n.value as n_value, n.row_number as n_row, d.value as d_value, d.row_number as d_row,
           (n.value is not null and d.value is not null) as from_rows
    from inst
    join pending as s on s.indicator_code = inst.subject and s.value is not null
    {self._partner_join('n', 'inst.numerator_concept', 'inst.numerator_scope')}
    {self._partner_join('d', 'inst.denominator_concept', 'inst.denominator_scope')}
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
         status=f"case when s.den <> 0 and abs(s.value - s.expected_rate) > {self.tolerance} then 'fail' else 'pass' end",
         rows="case when s.from_rows then array[s.row_number, s.n_row, s.d_row] else array[s.row_number] end",
         expected="s.expected_rate",
         details="jsonb_build_object('label', s.label, 'numerator', s.num, 'denominator', s.den) || " + SCOPE_DETAIL)}
from computed as s"""

    def _pivot(self, codes: list[str], frames: str) -> str:
        """One row per frame (file, unit level, rule scope) with every tree code's figure in that frame."""
        columns = ",\n           ".join(sql_pivot_columns(self.catalog, codes))
        concepts = text_array(sorted({self.catalog[c].concept for c in codes}))
        return f"""pv as (
    select fr.file_id, fr.unit_level, fr.rule_scope,
           {columns}
    from (select distinct file_id, unit_level, rule_scope from {frames}) as fr
    join keyed as k on k.file_id = fr.file_id and k.concept_code = any({concepts})
    group by fr.file_id, fr.unit_level, fr.rule_scope
)"""

    def _total_equals_parts(self, kind):
        insts = self.rules.of_kind(kind)
        codes = tree_codes(self.catalog, [p for i in insts for p in i.parts])
        branches = []
        for i in insts:
            rows = " || ".join(sql_rows(self.catalog, p) for p in i.parts)
            parts = " || ".join(sql_parts(self.catalog, p) for p in i.parts)
            branches.append(f"when {lit(i.rule_id)} then jsonb_build_array({sql_sum(self.catalog, i.parts)}, "
                            f"to_jsonb({rows}), {parts})")
        values = [(lit(i.rule_id), lit(i.severity), lit(i.subject)) for i in insts]
        return f"""
{self._instances(('rule_id', 'severity', 'subject'), values)},
{KEYED_CTE},
totals as (
    select inst.rule_id, inst.severity, s.*
    from inst join pending as s on s.indicator_code = inst.subject and s.value is not null
),
{self._pivot(codes, 'totals')},
sums as (
    select t.rule_id, t.file_id, t.sheet, t.row_number,
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
                   and c.row_number = s.row_number
where c.parts_sum is not null and cardinality(c.part_rows) > 0"""

    def _part_not_above_whole(self, kind):
        insts = self.rules.of_kind(kind)
        values = [(lit(i.rule_id), lit(i.severity), lit(i.subject), self._concept(i.whole), self._fixed(i.whole))
                  for i in insts]
        return f"""
{self._instances(('rule_id', 'severity', 'subject', 'whole_concept', 'whole_scope'), values)},
{KEYED_CTE},
joined as (
    select inst.rule_id, inst.severity, s.*, w.value as w_value, w.row_number as w_row
    from inst
    join pending as s on s.indicator_code = inst.subject and s.value is not null
    {self._partner_join('w', 'inst.whole_concept', 'inst.whole_scope')}
)
{_select(rule_id="s.rule_id", kind=lit(kind), severity="s.severity",
         status="case when s.value > s.w_value then 'fail' else 'pass' end",
         rows="array[s.row_number, s.w_row]", expected="s.w_value",
         details="jsonb_build_object('label', s.label, 'whole', wholes.code) || " + SCOPE_DETAIL)}
from joined as s
join (values {', '.join(f"({lit(i.rule_id)}, {lit(i.whole)})" for i in insts)}) as wholes (rule_id, code)
  on wholes.rule_id = s.rule_id
where s.w_value is not null"""

    def _coded_in_legend(self, kind):
        insts = self.rules.of_kind(kind)
        values = [(lit(i.rule_id), lit(i.severity), lit(i.subject),
                   "array[" + ", ".join(str(c) for c in i.codes) + "]::numeric[]") for i in insts]
        return f"""
{self._instances(('rule_id', 'severity', 'subject', 'codes'), values)}
{_select(rule_id="inst.rule_id", kind=lit(kind), severity="inst.severity",
         status="case when s.value = any(inst.codes) then 'pass' else 'fail' end")}
from inst join pending as s on s.indicator_code = inst.subject and s.value is not null"""

    def _same_figure(self, kind):
        insts = self.rules.of_kind(kind)
        codes = tree_codes(self.catalog, [c for i in insts for c in (*i.left, *i.right)])
        frame_values, branches = [], []
        for i in insts:
            concepts = sorted({self.catalog[c].concept for c in tree_codes(self.catalog, (*i.left, *i.right))
                               if self.catalog[c].scope is None})
            frame_values.append(f"({lit(i.rule_id)}, {lit(i.severity)}, {text_array(concepts)})")
            used = " || ".join(sql_used_codes(self.catalog, c) for c in (*i.left, *i.right))
            rows = " || ".join(sql_rows(self.catalog, c) for c in (*i.left, *i.right))
            branches.append(f"when {lit(i.rule_id)} then jsonb_build_array({sql_sum(self.catalog, i.left)}, "
                            f"{sql_sum(self.catalog, i.right)}, to_jsonb({rows}), to_jsonb({used}), "
                            f"to_jsonb({' || '.join(sql_used_codes(self.catalog, c) for c in i.left)}), "
                            f"to_jsonb({' || '.join(sql_used_codes(self.catalog, c) for c in i.right)}))")
        firsts = " ".join(f"when {lit(c)} then jsonb_build_array(pv.\"s_{c}\", pv.\"r_{c}\")" for c in codes)
        return f"""
inst (rule_id, severity, frame_concepts) as (values {', '.join(frame_values)}),
{KEYED_CTE},
frames as (
    select distinct inst.rule_id, inst.severity, k.file_id, k.unit_level, k.rule_scope
    from inst join keyed as k on k.concept_code = any(inst.frame_concepts) and k.value is not null
),
{self._pivot(codes, 'frames')},
sides as (
    select frames.rule_id, frames.severity, frames.file_id, frames.rule_scope, r.result,
           case r.result -> 3 ->> 0 {firsts} end as first_figure
    from frames
    join pv on pv.file_id = frames.file_id and pv.rule_scope = frames.rule_scope
    cross join lateral (select case frames.rule_id {' '.join(branches)} end as result) as r
),
compared as (
    select sides.rule_id, sides.severity, sides.file_id, sides.rule_scope, sides.first_figure,
           (result ->> 0)::numeric as left_sum, (result ->> 1)::numeric as right_sum,
           array(select jsonb_array_elements_text(result -> 2)::integer) as all_rows,
           jsonb_array_length(result -> 4) as left_used, jsonb_array_length(result -> 5) as right_used
    from sides
),
located as (
    select c.*, f.sheet, f.row_number, f.form, f.label, f.indicator_code, f.unit_code, f.year, f.quarter
    from compared as c
    join pending as f on f.file_id = c.file_id and f.sheet = c.first_figure ->> 0
                     and f.row_number = (c.first_figure ->> 1)::integer
    where c.left_sum is not null and c.right_sum is not null and c.left_used > 0 and c.right_used > 0
)
{_select(rule_id="s.rule_id", kind=lit(kind), severity="s.severity",
         status="case when s.left_sum <> s.right_sum then 'fail' else 'pass' end",
         rows="s.all_rows", observed="s.left_sum", expected="s.right_sum",
         details="jsonb_build_object('label', s.label) || " + SCOPE_DETAIL)}
from located as s"""

    def _whole_equals_levels(self, kind):
        insts = self.rules.of_kind(kind)
        values = [(lit(i.rule_id), lit(i.severity), lit(i.subject)) for i in insts]
        slices = " ".join(f"when {lit(level)} then {text_array(scopes)}" for level, scopes in LEVEL_SCOPES.items())
        return f"""
{self._instances(('rule_id', 'severity', 'concept'), values)},
{KEYED_CTE},
wholes as (
    select inst.rule_id, inst.severity, s.*, case s.unit_level {slices} end as slices
    from inst join keyed as s on s.concept_code = inst.concept and s.rule_scope = 'unit' and s.value is not null
    where s.unit_level in ({', '.join(lit(level) for level in LEVEL_SCOPES)})
),
levels as (
    select w.rule_id, w.file_id, count(*) as n, sum(l.value) as levels_sum,
           array_agg(l.row_number order by array_position(w.slices, l.rule_scope)) as level_rows,
           jsonb_agg(jsonb_build_array(l.rule_scope, l.value) order by array_position(w.slices, l.rule_scope)) as levels
    from wholes as w
    join keyed as l on l.file_id = w.file_id and l.concept_code = w.concept_code and l.value is not null
                   and l.rule_scope = any(w.slices)
    group by w.rule_id, w.file_id
)
{_select(rule_id="s.rule_id", kind=lit(kind), severity="s.severity",
         status="case when s.value <> l.levels_sum then 'fail' else 'pass' end",
         rows="array[s.row_number] || l.level_rows", expected="l.levels_sum",
         details="jsonb_build_object('label', s.label, 'levels', l.levels)")}
from wholes as s
join levels as l on l.rule_id = s.rule_id and l.file_id = s.file_id and l.n = cardinality(s.slices)"""

    # -- a Word report against its own appendix and against the unit's spreadsheet ---------------
    def _level_letter(self, column: str) -> str:
        return "case " + column + "".join(f" when {lit(level)} then {lit(letter)}" for level, letter in LEVEL_LETTERS.items()) + " end"

    def _narrative_matches_appendix(self, kind):
        rule = {i.subject: i for i in self.rules.of_kind(kind)}
        values = [(lit(rule[code].rule_id), lit(rule[code].severity), lit(code), lit(scope), lit(level), text_array(targets))
                  for (code, scope, level), targets in targets_table(self.catalog, self.rules).items() if targets]
        return f"""
{self._instances(('rule_id', 'severity', 'subject', 'scope', 'unit_level', 'targets'), values)},
submissions as (select file_id, min(unit_level) as unit_level from pending group by file_id),
narrative as (
    select n.*, s.unit_level
    from {self.rel.narrative} as n
    join submissions as s on s.file_id = n.file_id
    where n.comparable and (n.levels = '' or strpos(n.levels, coalesce({self._level_letter('s.unit_level')}, '?')) > 0)
),
candidates as (
    select inst.rule_id, inst.severity, n.paragraph_number, n.position as narrative_position, n.sentence,
           n.indicator_code as narrative_indicator, n.scope as narrative_scope, n.value as narrative_value,
           n.kind as narrative_kind,
           t.ordinal, f.*
    from narrative as n
    join inst on inst.subject = n.indicator_code and inst.scope = n.scope
              and inst.unit_level is not distinct from n.unit_level
    cross join lateral unnest(inst.targets) with ordinality as t(target, ordinal)
    join pending as f
      on f.file_id = n.file_id and f.value is not null
     and case split_part(t.target, ':', 1)
             when 'own' then f.own_indicator_code = split_part(t.target, ':', 2)
             -- "row:<concept>@<rule scope>": that concept's figure for that level (narrative.py)
             else f.concept_code = split_part(split_part(t.target, ':', 2), '@', 1)
                  and f.rule_scope = split_part(t.target, '@', 2)
         end
),
picked as (
    select distinct on (file_id, paragraph_number, narrative_position) *
    -- as Submission.by_key: of two rows of one concept and scope, the generic (unit-scope) row, then the first
    from candidates order by file_id, paragraph_number, narrative_position, ordinal, (scope = 'unit') desc, sheet,
                             row_number
)
{_select(rule_id="s.rule_id", kind=lit(kind), severity="s.severity",
         status=f"case when (s.kind = 'percent' or s.narrative_kind = 'percent') "
                f"then case when abs(s.narrative_value - s.value) > {self.tolerance} then 'fail' else 'pass' end "
                f"when s.narrative_value <> s.value then 'fail' else 'pass' end",
         observed="s.narrative_value", expected="s.value",
         details="jsonb_build_object('label', s.label, 'paragraph', s.paragraph_number, 'position', "
                 "s.narrative_position, 'sentence', s.sentence, 'narrative_indicator', s.narrative_indicator, "
                 "'scope', s.narrative_scope)")}
from picked as s"""

    def _document_matches_spreadsheet(self, kind):
        inst = self.rules.of_kind(kind)[0]
        file_name = "regexp_replace({}, '^.*/', '')"
        return f"""
submissions as (
    select p.file_id, min(p.unit_code) as unit_code, min(p.year) as year, min(p.quarter) as quarter
    from pending as p group by p.file_id
),
mine as (
    select s.*, e.source_format, e.source_path
    from submissions as s join {self.rel.submissions} as e on e.file_id = s.file_id
),
pairs as (
    select m.file_id, m.source_path, o.file_id as other_id, o.source_path as other_path
    from mine as m
    cross join lateral (
        select e.file_id, e.source_path from {self.rel.submissions} as e
        where e.unit_code = m.unit_code and e.year = m.year and e.quarter = m.quarter
          and e.file_id <> m.file_id and e.source_format <> m.source_format
        order by e.file_id desc limit 1
    ) as o
    where m.source_format = 'docx' or not exists (select 1 from submissions as q where q.file_id = o.file_id)
),
compared as (
    select s.*, pr.source_path, pr.other_path, t.value as other_value, t.kind as other_kind,
           t.sheet as other_sheet, t.row_number as other_row, t.form as other_form
    from pairs as pr
    join pending as s on s.file_id = pr.file_id and s.value is not null and s.indicator_code is not null
    join {self.rel.facts} as t on t.file_id = pr.other_id and t.indicator_code = s.indicator_code
                              and t.scope = s.scope and t.value is not null  -- same indicator, same scope
),
bad as (
    select * from compared as c
    where case when c.kind = 'percent' or c.other_kind = 'percent' then abs(c.value - c.other_value) > {self.tolerance}
               else c.value <> c.other_value end
)
{_select(rule_id=lit(inst.rule_id), kind=lit(kind), severity=lit(inst.severity), status="'fail'",
         expected="s.other_value",
         details="jsonb_build_object('label', s.label, 'file_name', " + file_name.format("s.source_path")
                 + ", 'other_file', " + file_name.format("s.other_path")
                 + ", 'other_sheet', s.other_sheet, 'other_row', s.other_row, 'other_form', s.other_form)")}
from bad as s
union all
{_select(rule_id=lit(inst.rule_id), kind=lit(kind), severity=lit(inst.severity), status="'pass'", file_id="s.file_id",
         unit="min(s.unit_code)", year="min(s.year)", quarter="min(s.quarter)", indicator="null", sheet="null",
         row="null", rows="array[]::integer[]", form="null", observed="count(*)",
         details="jsonb_build_object('file_name', " + file_name.format("min(s.source_path)")
                 + ", 'other_file', " + file_name.format("min(s.other_path)") + ")")}
from compared as s
where not exists (select 1 from bad where bad.file_id = s.file_id)
group by s.file_id"""

    # -- history and other units ---------------------------------------------------------------
    def _own_values(self, kind: str) -> str:
        """The rule instances of a history kind and the pending submissions' own figures they check."""
        values = [(lit(i.rule_id), lit(i.severity), lit(i.subject)) for i in self.rules.of_kind(kind)]
        return f"""
{self._instances(('rule_id', 'severity', 'subject'), values)},
current_values as (
    select inst.rule_id, inst.severity, s.*
    from inst join pending as s on s.own_indicator_code = inst.subject and s.value is not null
)"""

    def _cumulative_not_decreasing(self, kind):
        return f"""{self._own_values(kind)},
previous as (
    select c.rule_id, c.file_id, b.value as previous_value, b.year as previous_year, b.quarter as previous_quarter,
           row_number() over (partition by c.rule_id, c.file_id order by b.quarter desc) as recency
    from current_values as c
    join {self.rel.basis} as b
      on b.unit_code = c.unit_code and b.year = c.year and b.quarter < c.quarter
     and b.own_indicator_code = c.own_indicator_code and b.value is not null
)
{_select(rule_id="s.rule_id", kind=lit(kind), severity="s.severity",
         status="case when s.value < p.previous_value then 'fail' else 'pass' end",
         expected="p.previous_value",
         details="jsonb_build_object('label', s.label, 'previous_period', p.previous_year || '-Q' || p.previous_quarter)")}
from current_values as s
join previous as p on p.rule_id = s.rule_id and p.file_id = s.file_id and p.recency = 1"""

    def _basis_by(self, keys: str, match: dict[str, str]) -> str:
        """Basis figures (with a value) for each row of `keys`, read key by key through LATERAL.

        OFFSET 0 keeps PostgreSQL from flattening it into a hash join over the whole warehouse
        history: only the pending units' own series is touched, through the basis view's index.
        Callers materialize it: inlined, the join that follows was re-run once per key.
        """
        on = " and ".join(f"b.{column} = keys.{key}" for column, key in match.items())
        return (f"select b.* from ({keys}) as keys "
                f"cross join lateral (select * from {self.rel.basis} as b where {on} offset 0) as b "
                f"where b.value is not null")

    def _jump_within_history(self, kind):
        return f"""{self._own_values(kind)},
units_history as materialized ({self._basis_by("select distinct unit_code from current_values", {"unit_code": "unit_code"})}),
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
    where sp.n >= {self.z_min} and sp.mad > 0
)
{_select(rule_id="s.rule_id", kind=lit(kind), severity="s.severity",
         status=f"case when abs(s.z) > {self.z_threshold} then 'fail' else 'pass' end",
         expected=f"round(s.median::numeric, {RULE_DECIMALS})",
         details=f"jsonb_build_object('label', s.label, 'z', round(s.z::numeric, {RULE_DECIMALS}))")}
from scored as s"""

    def _levels_add_up(self, kind):
        insts = self.rules.of_kind(kind)
        level_of = {letter: name for name, letter in LEVEL_LETTERS.items()}
        values = [(lit(i.rule_id), lit(i.severity), lit(i.subject), lit(i.canonical), lit(level_of[i.authority]),
                   lit(SCOPE_OF_LETTER[i.authority])) for i in insts]
        return f"""
{self._instances(('rule_id', 'severity', 'subject', 'canonical', 'child_level', 'child_scope'), values)},
{KEYED_CTE},
current_values as (
    -- the unit's figure for its lower level: the level variant, or the concept in that level's block
    select inst.rule_id, inst.severity, inst.canonical, inst.child_level, s.*,
           {sql_quarter_end('s.year', 's.quarter')} as quarter_end
    from inst join keyed as s on s.concept_code = inst.canonical and s.rule_scope = inst.child_scope
                             and s.value is not null
    where {sql_level_rank('s.unit_level')} > {sql_level_rank('inst.child_level')}
),
child_quarters as (
    select c.rule_id, c.file_id, c.year, c.quarter, c.canonical, d.descendant_code
    from current_values as c
    join {self.rel.descendants} as d
      on d.unit_code = c.unit_code and d.descendant_level = c.child_level
     and {sql_valid_on('d', 'c.quarter_end')}
),
children_basis as materialized ({self._basis_by("select distinct descendant_code, year, quarter from child_quarters",
                                     {"unit_code": "descendant_code", "year": "year", "quarter": "quarter"})}),
children as (
    select c.rule_id, c.file_id, c.descendant_code, b.value as child_value
    from child_quarters as c
    left join children_basis as b
      on b.unit_code = c.descendant_code and b.year = c.year and b.quarter = c.quarter
     and b.own_indicator_code = c.canonical
),
sums as (
    select rule_id, file_id, count(*) as n_children, count(child_value) as n_values, sum(child_value) as total
    from children group by rule_id, file_id
)
{_select(rule_id="s.rule_id", kind=lit(kind), severity="s.severity",
         status="case when s.value <> sums.total then 'fail' else 'pass' end",
         expected="sums.total", details="jsonb_build_object('label', s.label, 'children', sums.n_children)")}
from current_values as s
join sums on sums.rule_id = s.rule_id and sums.file_id = s.file_id
where sums.n_children > 0 and sums.n_values = sums.n_children"""

    # -- whole submissions ----------------------------------------------------------------------
    def _submissions(self) -> str:
        return ("select file_id, min(unit_code) as unit_code, min(unit_level) as unit_level, min(year) as year, "
                "min(quarter) as quarter, min(title_year) as title_year, min(title_quarter) as title_quarter, "
                "min(title_unit) as title_unit, bool_and(title_unit_matches) as title_unit_matches "
                "from pending group by file_id")

    def _required_present(self, kind):
        inst = self.rules.of_kind(kind)[0]
        same = self.rules.equivalents()
        values = []
        for level, letter in LEVEL_LETTERS.items():
            for position, ind in enumerate(ind for ind in self.catalog if letter in ind.required):
                values.append((lit(level), lit(ind.code), str(position),
                               text_array([ind.code, *sorted(same.get(ind.code, ()))])))
        return f"""
{self._instances(('unit_level', 'code', 'position', 'alternatives'), values)},
submissions as ({self._submissions()}),
present as (
    -- reported for the whole unit or for any of its levels, here or as its one-to-one same figure
    select file_id, array_agg(concept_code) as codes
    from pending where concept_code is not null and value is not null group by file_id
),
gaps as (
    select s.*, array(
        select inst.code from inst
        where inst.unit_level = s.unit_level
          and not inst.alternatives && coalesce(present.codes, array[]::text[])
        order by inst.position) as missing
    from submissions as s
    left join present on present.file_id = s.file_id
    where s.unit_level is not null
)
{_select(rule_id=lit(inst.rule_id), kind=lit(kind), severity=lit(inst.severity),
         status="case when cardinality(s.missing) > 0 then 'fail' else 'pass' end",
         indicator="null", sheet="null", row="null", rows="array[]::integer[]", form="null",
         observed="cardinality(s.missing)", details="jsonb_build_object('missing', to_jsonb(s.missing))")}
from gaps as s"""

    def _submission_check(self, kind: str, status: str, details: str, where: str) -> str:
        """A rule on a whole submission (title vs inbox path): no sheet, row or figure."""
        inst = self.rules.of_kind(kind)[0]
        return f"""
submissions as ({self._submissions()})
{_select(rule_id=lit(inst.rule_id), kind=lit(kind), severity=lit(inst.severity), status=status,
         indicator="null", sheet="null", row="null", rows="array[]::integer[]", form="null", observed="null",
         details=details)}
from submissions as s
where {where}"""

    def _period_matches_path(self, kind):
        return self._submission_check(
            kind, status="case when (s.title_year, s.title_quarter) = (s.year, s.quarter) then 'pass' else 'fail' end",
            details="jsonb_build_object('observed_period', s.title_year || '-Q' || s.title_quarter, "
                    "'expected_period', s.year || '-Q' || s.quarter)",
            where="s.title_year is not null and s.year is not null")

    def _unit_matches_path(self, kind):
        return self._submission_check(
            kind, status="case when s.title_unit_matches then 'pass' else 'fail' end",
            details="jsonb_build_object('observed_unit', s.title_unit)",
            where="s.title_unit_matches is not null")

    # -- files and versions (the convention is in ingestion/pipeline/versions.py) ---------------------
    def _own_files(self) -> str:
        """Pending submissions of a unit with the file facts the version rules need."""
        return f"""
submissions as ({self._submissions()}),
own as (
    select s.file_id, s.unit_code, s.year, s.quarter, f.content_hash, f.source_path, f.folder_files, f.source_format
    from submissions as s join {self.rel.files} as f on f.file_id = s.file_id
    where s.unit_code is not null
)"""

    def _file_rule(self, kind: str, status: str, details: str, joins: str, where: str = "true") -> str:
        inst = self.rules.of_kind(kind)[0]
        return f"""
{_select(rule_id=lit(inst.rule_id), kind=lit(kind), severity=lit(inst.severity), status=status,
         indicator="null", sheet="null", row="null", rows="array[]::integer[]", form="null", observed="null",
         details=f"case when {status} = 'fail' then {details} else jsonb_build_object() end")}
from own as s
{joins}
where {where}"""

    @staticmethod
    def _file_name(path: str) -> str:
        return f"regexp_replace({path}, '^.*/', '')"

    def _one_file_per_quarter(self, kind):
        # Files present in the folder at discovery whose latest version is loaded (the warehouse's
        # readable reports) and of the same format (a Word report beside its spreadsheet is a pair,
        # ingestion/pairing.py); the one loaded last is in use.
        return f"""{self._own_files()},
folder as (
    select s.file_id, sibling.file_id as sibling_id, sibling.source_path
    from own as s
    cross join lateral unnest(coalesce(s.folder_files, array[s.source_path])) as listed(path)
    cross join lateral (
        select f.file_id, f.source_path, f.load_status, f.source_format from {self.rel.files} as f
        where f.source_path = listed.path order by f.file_id desc limit 1
    ) as sibling
    where sibling.load_status = 'loaded' and sibling.source_format = s.source_format
),
grouped as (
    select file_id, count(*) as n_files,
           array_agg({self._file_name('source_path')} order by {self._file_name('source_path')}) as names,
           (array_agg({self._file_name('source_path')} order by sibling_id desc))[1] as in_use
    from folder group by file_id
)
{self._file_rule(kind, status="case when coalesce(g.n_files, 1) > 1 then 'fail' else 'pass' end",
                 details="jsonb_build_object('files', to_jsonb(g.names), 'in_use', g.in_use)",
                 joins="left join grouped as g on g.file_id = s.file_id", where="s.year is not null")}"""

    def _content_unique_across_units(self, kind):
        return f"""{self._own_files()},
twins as (
    select s.file_id, other.unit_code as other_unit, other.source_path as other_path,
           row_number() over (partition by s.file_id order by other.unit_code, other.file_id) as rank
    from own as s
    join {self.rel.files} as other
      on other.content_hash = s.content_hash and other.load_status = 'loaded'
     and other.unit_code is not null and other.unit_code <> s.unit_code
)
{self._file_rule(kind, status="case when t.file_id is null then 'pass' else 'fail' end",
                 details=f"jsonb_build_object('other_unit', t.other_unit, 'other_file', {self._file_name('t.other_path')})",
                 joins="left join twins as t on t.file_id = s.file_id and t.rank = 1")}"""

    def _version_not_reverted(self, kind):
        # The version in use before s: the latest earlier loaded version (of its format) not held back. s reverts
        # when it differs from that one but has the content of a version older than it.
        return f"""{self._own_files()},
versions as (
    select s.file_id as for_file, v.file_id, v.content_hash, v.source_path,
           row_number() over (partition by s.file_id order by v.file_id) as number,
           coalesce(g.decision = 'held', false) as held
    from own as s
    join {self.rel.files} as v
      on v.unit_code = s.unit_code and v.year = s.year and v.quarter = s.quarter and v.load_status = 'loaded'
     and v.source_format = s.source_format  -- versions are of one format (ingestion/pairing.py)
    left join {self.rel.gate} as g on g.file_id = v.file_id
    where s.year is not null
),
current_version as (
    select distinct on (s.file_id) s.file_id, v.file_id as version_id, v.content_hash, v.number, v.source_path
    from own as s join versions as v on v.for_file = s.file_id and v.file_id < s.file_id and not v.held
    order by s.file_id, v.file_id desc
),
reverted_to as (
    select distinct on (c.file_id) c.file_id, v.number, v.source_path
    from current_version as c
    join own as s on s.file_id = c.file_id and s.content_hash <> c.content_hash
    join versions as v on v.for_file = c.file_id and v.file_id < c.version_id and v.content_hash = s.content_hash
    order by c.file_id, v.file_id desc
)
{self._file_rule(kind, status="case when r.file_id is null then 'pass' else 'fail' end",
                 details=f"jsonb_build_object('earlier_version', r.number, 'earlier_file', {self._file_name('r.source_path')}, "
                         f"'current_version', c.number, 'current_file', {self._file_name('c.source_path')})",
                 joins="left join current_version as c on c.file_id = s.file_id "
                       "left join reverted_to as r on r.file_id = s.file_id",
                 where="s.year is not null")}"""

    def _unit_reported(self, kind):
        """Recorded when a unit-quarter is first expected and whenever its outcome changes:
        the history says when a unit was missing and when its report came in, without
        re-recording every expected unit of every quarter a night touches."""
        inst = self.rules.of_kind(kind)[0]
        levels = text_array(EXPECTED_LEVELS)
        return f"""
quarters as (
    select distinct year, quarter,
           {sql_quarter_end('year', 'quarter')} as quarter_end
    from pending where year is not null
),
expected as (
    select q.year, q.quarter, u.unit_code, u.unit_name,
           case when exists (select 1 from {self.rel.files} as f where f.unit_code = u.unit_code
                             and f.year = q.year and f.quarter = q.quarter) then 'pass' else 'fail' end as status
    from quarters as q
    join {self.rel.org_units} as u
      on u.unit_level = any({levels})
     and {sql_valid_on('u', 'q.quarter_end')}
)
{_select(rule_id=lit(inst.rule_id), kind=lit(kind), severity=lit(inst.severity), status="s.status",
         file_id="null", unit="s.unit_code", year="s.year", quarter="s.quarter", indicator="null", sheet="null",
         row="null", rows="array[]::integer[]", form="null", observed="null",
         details="jsonb_build_object('unit_name', s.unit_name)")}
from expected as s
left join lateral (
    select recorded.status from {self.rel.dq_history} as recorded
    where recorded.rule_kind = {lit(kind)} and recorded.unit_code = s.unit_code
      and recorded.year = s.year and recorded.quarter = s.quarter
    order by recorded.dq_result_id desc
    limit 1
) as last_recorded on true
where last_recorded.status is distinct from s.status"""


def evaluation_from_row(row: dict):
    """An evaluation row of the warehouse engine as the Evaluation the offline engine returns."""
    from decimal import Decimal

    from .model import Evaluation

    def dec(v):
        return None if v is None else Decimal(str(v))

    details = dict(row.get("details") or {})
    for key in ("numerator", "denominator", "z", "position", "paragraph", "other_row", "other_form"):
        if isinstance(details.get(key), float) and details[key].is_integer():
            details[key] = int(details[key])
    for key in ("numerator", "denominator", "z"):
        if details.get(key) is not None:
            details[key] = dec(details[key])
    if "parts" in details:
        details["parts"] = tuple((code, dec(value)) for code, value in details["parts"])
    if "levels" in details:
        details["levels"] = tuple((scope, dec(value)) for scope, value in details["levels"])
    if "missing" in details:
        details["missing"] = tuple(details["missing"])
    if "files" in details:
        details["files"] = tuple(details["files"])
    return Evaluation(
        rule_id=row["rule_id"], kind=row["rule_kind"], severity=row["severity"], status=row["status"],
        submission=None if row["file_id"] is None else str(row["file_id"]), unit_code=row["unit_code"],
        year=row["year"], quarter=row["quarter"], indicator=row["indicator"], sheet=row["sheet"],
        row=row["row_number"], rows=tuple(row["rows"] or ()), form=row["form"],
        observed=dec(row["observed"]), expected=dec(row["expected"]), details=tuple(sorted(details.items())))
