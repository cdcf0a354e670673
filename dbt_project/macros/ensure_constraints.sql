{#- A contract's primary key is created with the table. Marts built before their key was
    declared are given it here, once: the key guards the incremental delete+insert on
    every build, where a uniqueness test would re-read the whole table each night. -#}
{% macro ensure_primary_key() -%}
    {%- set keys = model.constraints | selectattr('type', 'equalto', 'primary_key') | list -%}
    {%- if keys -%}
    do $$
    begin
        if not exists (select 1 from pg_constraint
                       where conrelid = '{{ this }}'::regclass and contype = 'p') then
            alter table {{ this }} add primary key ({{ keys[0].columns | join(', ') }});
        end if;
    end
    $$
    {%- endif -%}
{%- endmacro %}
