{#- The rows this model holds for today's units `units_query` selects (their own scope, 'unit'), in one
    quarter (`year`, `quarter`: columns of the row it is lateral to). Read through the primary key with the
    quarter fixed: arrays of units, years and quarters read every quarter of every unit given (seven times
    the rows a 1 % correction spread over eight quarters needs), and with nested loops off (the model's hooks)
    a join could not read the key per quarter. Lateral, it does; offset 0 keeps it a scan of its own. -#}
{% macro rollup_unit_rows(year, quarter, units_query) -%}
    select * from {{ this }} as built
    where built.rollup_scope = 'current_unit' and built.scope = 'unit'
      and built.year = {{ year }} and built.quarter = {{ quarter }}
      and built.unit_code = any(array({{ units_query }}))
    offset 0
{%- endmacro %}
