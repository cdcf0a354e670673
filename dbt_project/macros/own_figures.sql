{#- One indicator's value for the unit itself, when pivoting a unit-quarter's figures. -#}
{% macro own_value(code) -%}
    max(value) filter (where own_indicator_code = '{{ code }}')
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
