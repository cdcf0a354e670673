{#- Figures of a set of submissions with what the rules and marts need beside them: the
    unit's level and the unit's *own* indicator. A commune's "cấp xã" rows are its own
    figures; a district's "cấp xã" rows are its communes' (see canonical/authority in the
    indicator catalog). The generic row wins when a workbook has both. -#}
{% macro enriched_facts(submissions, extra_columns=[]) %}
select
    f.file_id,
    s.unit_code,
    s.unit_level,
    s.year,
    s.quarter,
    s.title_year,
    s.title_quarter,
    s.title_unit,
    s.title_unit_matches,
    f.sheet,
    f.row_number,
    f.form,
    f.label,
    f.indicator_code,
    f.kind,
    f.value,
    f.cell_numerator,
    f.cell_denominator,
    f.unit_text,
    f.note,
    case
        when f.indicator_code is null then null
        when c.canonical_code is null then f.indicator_code
        when c.authority_level = s.level_letter
             and not exists (select 1 from {{ ref('stg_raw__facts') }} g
                             where g.file_id = f.file_id and g.indicator_code = c.canonical_code)
            then c.canonical_code
    end as own_indicator_code
    {%- for column in extra_columns %},
    s.{{ column }}
    {%- endfor %}
from {{ submissions }} as s
join {{ ref('stg_raw__facts') }} as f on f.file_id = s.file_id
left join {{ ref('stg_reference__indicators') }} as c on c.indicator_code = f.indicator_code
{% endmacro %}
