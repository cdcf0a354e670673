{#- One indicator's value for the unit itself, when pivoting a unit-quarter's figures. -#}
{% macro own_value(code) -%}
    max(value) filter (where own_indicator_code = '{{ code }}')
{%- endmacro %}

{#- 100 × numerator / denominator, or null when the denominator is missing or zero. -#}
{% macro recomputed_rate(numerator, denominator) -%}
    round(100.0 * ({{ numerator }}) / nullif({{ denominator }}, 0), 2)
{%- endmacro %}

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

{#- Unit-quarters the data team rejected on review that no longer have any accepted version:
    nothing replaces their rows in an incremental build, so this post-hook removes them.
    Rejections are few; the check runs on every build, so no watermark can miss one. -#}
{% macro withdrawn_publications() -%}
    select distinct reviews.unit_code, reviews.year, reviews.quarter
    from {{ ref('stg_audit__submission_review') }} as reviews
    where reviews.review_decision = 'reject'
      and not exists (select 1 from {{ ref('int_submission_outcomes') }} as outcomes
                      where outcomes.unit_code = reviews.unit_code
                        and outcomes.year = reviews.year
                        and outcomes.quarter = reviews.quarter
                        and outcomes.decision = 'accepted')
{%- endmacro %}

{% macro remove_withdrawn_publications() -%}
    delete from {{ this }} as built
    using ({{ withdrawn_publications() }}) as withdrawn
    where built.unit_code = withdrawn.unit_code
      and built.year = withdrawn.year
      and built.quarter = withdrawn.quarter
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

{#- The unit's own figures of `submissions` pivoted to one row per unit-quarter:
    {column: indicator}. -#}
{% macro own_figures_by_unit_quarter(submissions, columns) -%}
    select
        facts.unit_code, facts.year, facts.quarter, facts.period_key, facts.file_id, facts.gate_seq,
        {%- for column, code in columns.items() %}
        {{ own_value(code) }} as {{ column }}{{ "," if not loop.last }}
        {%- endfor %}
    from ({{ published_facts(submissions, ['gate_seq', 'period_key']) }}) as facts
    group by facts.unit_code, facts.year, facts.quarter, facts.period_key, facts.file_id, facts.gate_seq
{%- endmacro %}

{#- Each unit's numerator figure beside its denominator figure for every recomputed rate,
    within the same `group_column` (a roll-up unit or province) and, with `match_scope`, the
    same scope: FROM and WHERE of a rate query. -#}
{% macro rate_pairs(indicators, figures, group_column, match_scope=false) -%}
    from {{ indicators }} as indicators
    join {{ figures }} as numerators on numerators.indicator_code = indicators.numerator_code
    join {{ figures }} as denominators
        on denominators.indicator_code = indicators.denominator_code
       and denominators.unit_code = numerators.unit_code
       and denominators.year = numerators.year
       and denominators.quarter = numerators.quarter
       and denominators.{{ group_column }} = numerators.{{ group_column }}
       {%- if match_scope %}
       and denominators.scope = numerators.scope
       {%- endif %}
    where indicators.kind = 'percent' and indicators.canonical_code is null
{%- endmacro %}

{#- The roll-up's counterpart: a today's unit (or province) all of whose sources were withdrawn
    is recomputed to nothing, so its rows are removed here. -#}
{% macro remove_withdrawn_rollups() -%}
    delete from {{ this }} as built
    using (
        select distinct lineage.current_unit_code, lineage.current_province_code, withdrawn.year, withdrawn.quarter
        from ({{ withdrawn_publications() }}) as withdrawn
        join {{ ref('int_org_units_lineage') }} as lineage on lineage.unit_code = withdrawn.unit_code
    ) as touched
    where built.year = touched.year
      and built.quarter = touched.quarter
      and ((built.rollup_scope = 'current_unit' and built.unit_code = touched.current_unit_code)
           or (built.rollup_scope = 'province' and built.unit_code = touched.current_province_code))
      and not exists (
          select 1
          from {{ ref('int_org_units_lineage') }} as sources
          join {{ ref('int_submissions_published') }} as published
              on published.unit_code = sources.unit_code
             and published.year = built.year
             and published.quarter = built.quarter
          where (built.rollup_scope = 'current_unit' and sources.current_unit_code = built.unit_code)
             or (built.rollup_scope = 'province' and sources.current_province_code = built.unit_code)
      )
{%- endmacro %}
