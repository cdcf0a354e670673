{#- Custom schemas are used as named (staging, intermediate, marts ...), not prefixed with the
    target schema. The marts go to var('marts_schema') so the nightly job can build them next
    to the published ones and swap atomically. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- elif custom_schema_name == 'marts' -%}
        {{ var('marts_schema') }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
