{#- A mart as BI tools read it: the fact with the unit's name and the quarter's dates for
    time axes (dim_org_unit's current record, dim_period), so a chart needs no joins. -#}
{% macro bi_view(fact, unit_column='unit_code') -%}
select
    fact.*,
    units.unit_name,
    periods.period_label_vi,
    periods.quarter_start,
    periods.quarter_end
from {{ ref(fact) }} as fact
left join {{ ref('dim_org_unit') }} as units
    on units.unit_code = fact.{{ unit_column }} and units.is_current_record
left join {{ ref('dim_period') }} as periods
    on periods.period_key = fact.period_key
{%- endmacro %}


{#- The base table's column comments (its documented descriptions) on a view's columns that
    have none of their own, so every column a BI tool shows carries its description. -#}
{% macro copy_column_comments(base) -%}
do $$
declare
    col record;
begin
    for col in
        select attribute.attname as name, col_description(attribute.attrelid, attribute.attnum) as comment
        from pg_attribute as attribute
        where attribute.attrelid = '{{ base }}'::regclass
          and attribute.attnum > 0
          and not attribute.attisdropped
          and col_description(attribute.attrelid, attribute.attnum) is not null
    loop
        if exists (select 1 from pg_attribute as target
                   where target.attrelid = '{{ this }}'::regclass and target.attname = col.name
                     and col_description(target.attrelid, target.attnum) is null) then
            execute format('comment on column %s.%I is %L', '{{ this }}', col.name, col.comment);
        end if;
    end loop;
end
$$
{%- endmacro %}
