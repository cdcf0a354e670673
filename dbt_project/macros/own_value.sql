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
{% macro changed_publications() -%}
    {%- set gate = ref('stg_audit__submission_gate') %}{# outside the if: dbt records the dependency at parse time #}
    select * from {{ ref('int_submissions_published') }}
    {% if is_incremental() %}
    where file_id in (select file_id from {{ gate }}
                      where gate_seq > {{ incremental_watermark('gate_seq') }})
    {% endif %}
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
