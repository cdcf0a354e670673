{#- One indicator's value for the unit itself, when pivoting a unit-quarter's figures. -#}
{% macro own_value(code) -%}
    max(value) filter (where own_indicator_code = '{{ code }}')
{%- endmacro %}

{#- 100 × numerator / denominator, or null when the denominator is missing or zero. -#}
{% macro recomputed_rate(numerator, denominator) -%}
    round(100.0 * ({{ numerator }}) / nullif({{ denominator }}, 0), 2)
{%- endmacro %}

{#- Incremental marts rebuild only the unit-quarters whose published version changed since
    the table was last built (its highest gate decision). -#}
{% macro changed_publications() -%}
    select * from {{ ref('int_submissions_published') }}
    {% if is_incremental() %}
    where gate_seq > (select coalesce(max(gate_seq), 0) from {{ this }})
    {% endif %}
{%- endmacro %}

{#- The unit's own figures pivoted to one row per changed unit-quarter: {column: indicator}. -#}
{% macro own_figures_by_unit_quarter(columns) -%}
    select
        facts.unit_code, facts.year, facts.quarter, facts.period_key, facts.file_id, facts.gate_seq,
        {%- for column, code in columns.items() %}
        {{ own_value(code) }} as {{ column }}{{ "," if not loop.last }}
        {%- endfor %}
    from {{ ref('int_facts_published') }} as facts
    where facts.file_id in (select file_id from ({{ changed_publications() }}) as changed)
    group by facts.unit_code, facts.year, facts.quarter, facts.period_key, facts.file_id, facts.gate_seq
{%- endmacro %}
