{#- Incremental marts rebuild only the unit-quarters whose published version changed since
    the table was last built (its highest gate decision). The gate decisions are filtered
    before the latest-version view, with the watermark as a literal: PostgreSQL then sizes the
    changed set from the gate's index (hundreds of rows) instead of guessing a third of all
    submissions, which sent the roll-up into full scans of every figure. Callers keep the
    result in a materialized CTE and read its figures with published_facts(). -#}
{#- A review changes what is published without a new gate decision: the unit-quarters the
    data team reviewed since the watermark are rebuilt too (reviews draw their decision_seq
    from the gate's sequence, and are few). -#}
{% macro changed_publications() -%}
    {%- set gate = ref('stg_audit__submission_gate') %}{# outside the if: dbt records the dependency at parse time #}
    {%- set reviews = ref('stg_audit__submission_review') %}
    {%- set published = ref('int_submissions_published') %}
    {%- if is_incremental() %}
    {%- set watermark = incremental_watermark('gate_seq') %}
    select * from {{ published }}
    where file_id in (select file_id from {{ gate }} where gate_seq > {{ watermark }})
    union
    select * from {{ published }}
    where (unit_code, year, quarter) in (select unit_code, year, quarter from {{ reviews }}
                                         where decision_seq > {{ watermark }})
    {%- else %}
    select * from {{ published }}
    {%- endif %}
{%- endmacro %}

{#- The highest `column` already built into this incremental model. A literal when the model
    runs for real; a subquery in dbt unit tests, where `this` is a fixture (a CTE name). -#}
{% macro incremental_watermark(column) -%}
    {%- if this is string or not execute -%}
        (select coalesce(max({{ column }}), 0) from {{ this }})
    {%- else -%}
        {{ run_query("select coalesce(max(" ~ column ~ "), 0) from " ~ this).columns[0].values()[0] }}
    {%- endif -%}
{%- endmacro %}

{#- The rows of `relation` in the unit-quarters of `groups` (a few of many), read per group through
    its index (lateral; offset 0 keeps PostgreSQL from flattening it into a join it would run as a scan
    of the whole relation, having guessed thousands of groups where there are a hundred). Only for a
    relation the group's filter reaches the index of: a table, or a view PostgreSQL can filter before
    it groups. A view whose CTEs are read twice (int_submission_latest) is materialized whole on every
    group instead. -#}
{% macro per_changed_group(relation, groups, keys=['unit_code', 'year', 'quarter']) -%}
    select group_rows.*
    from {{ groups }} as changed_group
    cross join lateral (
        select * from {{ relation }} as candidate
        where {% for key in keys %}candidate.{{ key }} = changed_group.{{ key }}{{ ' and ' if not loop.last }}{% endfor %}
        offset 0
    ) as group_rows
{%- endmacro %}
