{#- A contract's constraints are created with the table: its primary key, its columns' NOT NULL
    and CHECK constraints. PostgreSQL then enforces them on every row each build writes, where a
    uniqueness, not_null or accepted_values test would re-read the whole incremental mart each
    night. Marts built before a constraint was declared are given it here, once. -#}
{% macro ensure_constraints() -%}
    {%- set keys = model.constraints | selectattr('type', 'equalto', 'primary_key') | list -%}
    {%- set not_null = [] -%}
    {%- set checks = [] -%}
    {%- for name, column in model.columns.items() -%}
        {%- for constraint in column.constraints -%}
            {%- if constraint.type == 'not_null' -%}
                {%- do not_null.append(name) -%}
            {%- elif constraint.type == 'check' and constraint.name -%}
                {%- do checks.append(constraint) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endfor -%}
    {#- a view holds no rows of its own: PostgreSQL has no constraints for it #}
    {%- if (keys or not_null or checks) and model.config.materialized != 'view' -%}
    do $$
    begin
        {%- if keys %}
        if not exists (select 1 from pg_constraint
                       where conrelid = '{{ this }}'::regclass and contype = 'p') then
            alter table {{ this }} add primary key ({{ keys[0].columns | join(', ') }});
        end if;
        {%- endif %}
        {%- for column in not_null %}
        if not (select attnotnull from pg_attribute
                where attrelid = '{{ this }}'::regclass and attname = '{{ column }}') then
            alter table {{ this }} alter column {{ column }} set not null;
        end if;
        {%- endfor %}
        {%- for check in checks %}
        if not exists (select 1 from pg_constraint
                       where conrelid = '{{ this }}'::regclass and conname = '{{ check.name }}') then
            alter table {{ this }} add constraint {{ check.name }} check ({{ check.expression }});
        end if;
        {%- endfor %}
    end
    $$
    {%- endif -%}
{%- endmacro %}
