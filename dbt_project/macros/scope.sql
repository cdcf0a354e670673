{#- The scope rules compare figures within (ingestion/text/scope.py rule_scope): in a commune's
    or a department's report the unit's own level is the whole unit. -#}
{% macro rule_scope(scope, level) -%}
    (case when ({{ level }} = 'commune' and {{ scope }} = 'commune')
            or ({{ level }} = 'department' and {{ scope }} = 'department') then 'unit'
          else coalesce({{ scope }}, 'unit') end)
{%- endmacro %}

{#- The slice a unit's own bodies are: a province's are its provincial bodies (cấp tỉnh). -#}
{% macro own_scope(level) -%}
    (case {{ level }} when 'province' then 'department' when 'district' then 'district'
                      when 'department' then 'department' when 'commune' then 'commune' end)
{%- endmacro %}
