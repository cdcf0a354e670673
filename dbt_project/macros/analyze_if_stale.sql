{#- Fresh statistics after an incremental build, without paying for them every night: the rule
    (a tenth of the table changed, or never analyzed) is the warehouse function audit.analyze_if_stale
    (ingestion/warehouse/schema.sql), which the standby's copy of the build's changes calls too. -#}
{% macro analyze_if_stale() -%}
select audit.analyze_if_stale('{{ this }}'::regclass)
{%- endmacro %}
