{#- Figures of a set of submissions with what the rules and marts need beside them: the
    unit's level, the figure's scope and concept, and the unit's *own* indicator.

    scope: the part of the unit the figure covers (unit, department, district, commune);
    concept_code: what a level variant stands for ("..._district" rows are the district's
    figure of their canonical indicator); rule_scope: the scope rules compare within (a
    commune's or a department's own level is the whole unit).

    Own figures (ingestion/rules/model.py Submission.index): the unit-scope figure of an
    indicator; else the figure for the unit's own level (a district's "cấp huyện" rows, a
    province's "cấp tỉnh" ones); a level-specific indicator without a concept of its own
    ("Số TTHC cấp huyện") is always the unit's. The generic row wins when a workbook has both. -#}
{% macro enriched_facts(submissions, extra_columns=[]) %}
select
    f.file_id,
    s.unit_code,
    s.unit_level,
    s.year,
    s.quarter,
    s.title_year,
    s.title_quarter,
    s.title_unit,
    s.title_unit_matches,
    f.sheet,
    f.row_number,
    f.col_number,
    f.form,
    f.label,
    f.indicator_code,
    f.kind,
    f.value,
    f.cell_numerator,
    f.cell_denominator,
    f.unit_text,
    f.note,
    f.scope,
    coalesce(c.canonical_code, f.indicator_code) as concept_code,
    {{ rule_scope('f.scope', 's.unit_level') }} as rule_scope,
    case
        when f.indicator_code is null then null
        when c.canonical_code is not null then
            case when c.authority_level = s.level_letter
                      and not exists (select 1 from {{ ref('stg_raw__facts') }} g
                                      where g.file_id = f.file_id and g.indicator_code = c.canonical_code
                                        and {{ rule_scope('g.scope', 's.unit_level') }} = 'unit')
                 then c.canonical_code end
        when c.fixed_scope is not null then f.indicator_code
        when {{ rule_scope('f.scope', 's.unit_level') }} = 'unit' then
            case when f.scope = 'unit'
                      or not exists (select 1 from {{ ref('stg_raw__facts') }} g
                                     where g.file_id = f.file_id and g.indicator_code = f.indicator_code
                                       and g.scope = 'unit')
                 then f.indicator_code end
        when f.scope = {{ own_scope('s.unit_level') }}
             and not exists (select 1 from {{ ref('stg_raw__facts') }} g
                             where g.file_id = f.file_id and g.indicator_code = f.indicator_code
                               and {{ rule_scope('g.scope', 's.unit_level') }} = 'unit')
            then f.indicator_code
    end as own_indicator_code
    {%- for column in extra_columns %},
    s.{{ column }}
    {%- endfor %}
from {{ submissions }} as s
-- Each submission's figures through the facts' primary key, whatever the planner guesses of
-- the submissions' count (offset 0 keeps the subquery from being flattened into a plain join,
-- which a caller with nested loops disabled would turn into a scan of every figure).
cross join lateral (
    select * from {{ ref('stg_raw__facts') }} as facts where facts.file_id = s.file_id offset 0
) as f
left join {{ ref('stg_reference__indicators') }} as c on c.indicator_code = f.indicator_code
{% endmacro %}

{#- Figures of a set of submissions (a relation or CTE with int_submissions_published's
    columns) as BI sees them: enriched, with the warning rules that flagged each row.
    Callers pass the few submissions they rebuild, as a materialized CTE: PostgreSQL then
    reads their figures through the facts' primary key instead of hashing every figure. -#}
{% macro published_facts(submissions, extra_columns=[]) %}
select
    facts.*,
    coalesce(warnings.dq_warnings, array[]::text[]) as dq_warnings
from ({{ enriched_facts(submissions, extra_columns) }}) as facts
left join (
    -- Failed warnings are few: aggregate those of these files once and hash-join. The files as an
    -- array: read through the index whatever the caller's planner settings (the roll-up turns nested
    -- loops off, and an IN (subquery) then scanned the whole index of every evaluation).
    select
        dq.file_id,
        dq.sheet,
        checked.row_number,
        array_agg(distinct dq.rule_id order by dq.rule_id) as dq_warnings
    from {{ ref('stg_audit__dq_results') }} as dq
    cross join lateral unnest(dq.checked_rows) as checked (row_number)
    where dq.severity = 'warning'
      and dq.status = 'fail'
      and dq.file_id = any(array(select file_id from {{ submissions }}))
    group by dq.file_id, dq.sheet, checked.row_number
) as warnings
    on warnings.file_id = facts.file_id
   and warnings.sheet = facts.sheet
   and warnings.row_number = facts.row_number
{% endmacro %}
