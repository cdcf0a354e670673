"""The warehouse engine: one set-based SQL query per rule kind, generated from the rule catalog.

Each query evaluates every instance of its kind for every pending submission at once
(``{batch}`` is the pending figures, read through the CTE ``gate_batch`` (ingestion/rules/batch.py);
the validate stage runs each once, into the evaluations Great Expectations then validates) and
returns one row per evaluation with the same fields the offline engine produces:

    rule_id, rule_kind, severity, status, file_id, unit_code, year, quarter, indicator,
    sheet, row_number, rows, form, observed, expected, details

Each kind's query is in its module (ingestion/rules/kinds/<kind>.py), beside its offline
evaluation; this module holds the fragments several kinds share. The agreement tests run both
engines on the same reports. Queries contain no braces other than ``{batch}``.
"""
from __future__ import annotations

from ..indicators import Catalog
from . import batch
from .ruleset import RuleSet
from .tree import sql_pivot_columns


class Relations:
    """The dbt relations the gate reads (declared as the dbt exposure cchc_quality_gate), by model name.

    Each is resolved from dbt's manifest when a query first needs it (ingestion/warehouse/dbt_relations.py);
    tests pass their own tables by keyword.
    """

    MODELS = {
        "basis": "int_facts_basis",
        "descendants": "int_org_units_descendants",
        "org_units": "stg_raw__org_units",
        "files": "stg_raw__files",
        "gate": "stg_audit__submission_gate",
        "dq_history": "audit.dq_results",  # a source: the append-only history
        "narrative": "stg_raw__narrative_figures",
        "submissions": "int_submissions_enriched",
        "facts": "stg_raw__facts",
    }

    def __init__(self, **given: str):
        unknown = set(given) - set(self.MODELS)
        if unknown:
            raise TypeError(f"unknown relations: {sorted(unknown)}")
        self._resolved = dict(given)

    def __getattr__(self, name: str) -> str:
        if name not in self.MODELS:
            raise AttributeError(name)
        if name not in self._resolved:
            from ..warehouse.dbt_relations import relation

            self._resolved[name] = relation(self.MODELS[name])
        return self._resolved[name]


# Not materialized: the CTE only names the batch. Materialized, every kind that reads it twice first
# copied the whole batch (a national quarter: 445 k wide rows, spilled to disk); inlined, each reference
# reads only the columns and rows it needs. Measured on a national quarter, every rule kind: 9.2–9.6 s
# materialized, 7.8–8.0 s inlined, the same rows; on a 551-file night at 55 k files, the same time.
PENDING_CTE = f"with {batch.NAME} as not materialized (select batch_rows.* from {{batch}} as batch_rows)"


def keyed_cte(concepts, levels=None) -> str:
    """One figure per (file, concept, rule scope) of the concepts a kind reads: where a commune's
    generic row and its "cấp xã" variant meet, the generic row wins (as in Submission.index).

    Only those concepts are sorted: the whole batch sorted once per kind cost more than the rules.
    The filters keep whole (file, concept, scope) groups, so the figures chosen are the same;
    `levels` keeps the reports of those unit levels only."""
    of_levels = f" and unit_level = any({text_array(sorted(set(levels)))})" if levels is not None else ""
    return f"""keyed as (
    select distinct on (file_id, concept_code, rule_scope) * from gate_batch
    where concept_code = any({text_array(sorted(set(concepts)))}){of_levels}
    order by file_id, concept_code, rule_scope, (scope = 'unit') desc
)"""


# Evaluations within a level slice say which one.
SCOPE_DETAIL = "(case when s.rule_scope <> 'unit' then jsonb_build_object('scope', s.rule_scope) else jsonb_build_object() end)"


def lit(value: str | None) -> str:
    return "null" if value is None else "'" + str(value).replace("'", "''") + "'"


def quarter_number(alias: str = "") -> str:
    """A quarter as one ordered number (2026 Q1 -> 8104): what the history kinds compare."""
    prefix = f"{alias}." if alias else ""
    return f"{prefix}year * 4 + {prefix}quarter - 1"


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
    def __init__(self, rules: RuleSet, catalog: Catalog, relations: Relations | None = None):
        self.rules, self.catalog, self.rel = rules, catalog, relations or Relations()
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
        from .kinds import kind_of  # the kind modules build on this module

        return PENDING_CTE + "," + kind_of(kind).sql(self, kind)

    def batch_query(self, kind: str) -> str:
        """The query of one kind over the gate's pending batch (batch.RELATION): what the gate runs, and what
        ``cchc rules sql`` writes out."""
        return self.query(kind).replace("{batch}", batch.RELATION)

    def unexpected_rows_query(self, kind: str, severity: str) -> str:
        """What Great Expectations checks: the failures of one kind at one severity among the gate's
        evaluations (``{batch}``: batch.EVALUATIONS, every kind's query run once by the validate stage)."""
        # GX names the batch itself ("(select ...) AS subselect": the query has no JOIN), so no alias here.
        return (f"select * from {{batch}} where rule_kind = {lit(kind)} and severity = {lit(severity)} "
                f"and status = 'fail'")

    def _instances(self, columns: tuple[str, ...], values) -> str:
        rows = [f"({', '.join(v)})" for v in values]
        return f"inst ({', '.join(columns)}) as (values {', '.join(rows)})"

    # -- figure by figure ------------------------------------------------------------------------
    def _cell(self, kind: str, checked: str, failing: str) -> str:
        inst = self.rules.of_kind(kind)[0]
        head = f"{lit(inst.rule_id)}"
        return f"""
checked as (select * from gate_batch as s where {checked}),
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

    # -- a Word report against its own appendix and against the unit's spreadsheet ---------------
    # -- history and other units ---------------------------------------------------------------
    def _own_values(self, kind: str) -> str:
        """The rule instances of a history kind and the pending submissions' own figures they check."""
        values = [(lit(i.rule_id), lit(i.severity), lit(i.subject)) for i in self.rules.of_kind(kind)]
        return f"""
{self._instances(('rule_id', 'severity', 'subject'), values)},
current_values as (
    select inst.rule_id, inst.severity, s.*
    from inst join gate_batch as s on s.own_indicator_code = inst.subject and s.value is not null
)"""

    def _basis_by(self, keys: str, match: dict[str, str], indicators, before: str | None = None) -> str:
        """Basis figures (with a value) for each row of `keys`, read key by key through LATERAL.

        OFFSET 0 keeps PostgreSQL from flattening it into a hash join over the whole warehouse
        history: only the pending units' own series is touched, through the basis view's index.
        Callers materialize it: inlined, the join that follows was re-run once per key. Only the
        indicators the kind compares are kept: a unit's whole history is a hundred times more rows.
        ``before``: a column of `keys` numbering a quarter (``quarter_number``); only earlier
        quarters are read (a unit's pending quarter is not its own history).
        """
        wanted = set(indicators)
        on = " and ".join(f"b.{column} = keys.{key}" for column, key in match.items())
        # own_indicator_code is worked out figure by figure, with lookups (macros/enriched_facts.sql): the
        # figures that can have one of these codes as their own (the code, or a level variant of it) are
        # picked first by a plain comparison, not each of a submission's hundred figures worked out.
        codes = wanted | {i.code for i in self.catalog if i.concept in wanted}
        on += f" and b.indicator_code = any({text_array(sorted(codes))})"
        on += f" and b.own_indicator_code = any({text_array(sorted(wanted))})"
        if before is not None:
            on += f" and {quarter_number('b')} < keys.{before}"
        return (f"select b.* from ({keys}) as keys "
                f"cross join lateral (select * from {self.rel.basis} as b where {on} offset 0) as b "
                f"where b.value is not null")

    # -- whole submissions ----------------------------------------------------------------------
    def _submissions(self) -> str:
        return ("select file_id, min(unit_code) as unit_code, min(unit_level) as unit_level, min(year) as year, "
                "min(quarter) as quarter, min(title_year) as title_year, min(title_quarter) as title_quarter, "
                "min(title_unit) as title_unit, bool_and(title_unit_matches) as title_unit_matches "
                "from gate_batch group by file_id")

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
