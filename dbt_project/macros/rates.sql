{#- 100 × numerator / denominator, or null when the denominator is missing or zero. -#}
{% macro recomputed_rate(numerator, denominator) -%}
    round(100.0 * ({{ numerator }}) / nullif({{ denominator }}, 0), 2)
{%- endmacro %}

{#- Each unit's numerator figure beside its denominator figure for every recomputed rate,
    within the same `group_column` (a roll-up unit or province) and, with `match_scope`, the
    same scope: FROM and WHERE of a rate query. -#}
{% macro rate_pairs(indicators, figures, group_column, match_scope=false) -%}
    from {{ indicators }} as indicators
    join {{ figures }} as numerators on numerators.indicator_code = indicators.numerator_code
    -- the denominators' figures alone (a tenth of the figures): joined whole, all of them were sorted
    join (
        select denominator_figures.*
        from {{ figures }} as denominator_figures
        where denominator_figures.indicator_code in (select rate_indicators.denominator_code
                                                     from {{ indicators }} as rate_indicators
                                                     where rate_indicators.kind = 'percent'
                                                       and rate_indicators.canonical_code is null)
    ) as denominators
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
