{#- A contract's constraints are created with the table: its primary key, its columns' NOT NULL
    and CHECK constraints. PostgreSQL then enforces them on every row each build writes, where a
    uniqueness, not_null or accepted_values test would re-read the whole incremental mart each
    night. Marts built before a constraint was declared are given it here, once.
    The intermediate tables declare the same constraints without a contract (their columns are their
    sources'); this post-hook gives them to each table as it is made, and a UNIQUE constraint (on a
    column, or on the model's columns) becomes a unique index unless the table has one on those columns. -#}
{% macro ensure_constraints() -%}
    {%- set keys = model.constraints | selectattr('type', 'equalto', 'primary_key') | list -%}
    {%- set not_null = [] -%}
    {%- set checks = [] -%}
    {%- set unique = [] -%}
    {%- for constraint in model.constraints if constraint.type == 'unique' -%}
        {%- do unique.append(constraint.columns) -%}
    {%- endfor -%}
    {%- for name, column in model.columns.items() -%}
        {%- for constraint in column.constraints -%}
            {%- if constraint.type == 'not_null' -%}
                {%- do not_null.append(name) -%}
            {%- elif constraint.type == 'check' and constraint.name -%}
                {%- do checks.append(constraint) -%}
            {%- elif constraint.type == 'unique' -%}
                {%- do unique.append([name]) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endfor -%}
    {#- a view holds no rows of its own: PostgreSQL has no constraints for it #}
    {%- if (keys or not_null or checks or unique) and model.config.materialized != 'view' -%}
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
        {%- for columns in unique %}
        {#- matched by its columns, not a name: a rebuilt table's old copy may still hold its index's name #}
        if not exists (select 1 from pg_index as i
                       where i.indrelid = '{{ this }}'::regclass and i.indisunique and i.indpred is null
                         and i.indnkeyatts = {{ columns | length }}
                         and array(select a.attname::text
                                   from unnest(i.indkey::smallint[]) with ordinality as k (attnum, position)
                                   join pg_attribute as a on a.attrelid = i.indrelid and a.attnum = k.attnum
                                   order by k.position)
                             = array['{{ columns | join("', '") }}']) then
            create unique index on {{ this }} ({{ columns | join(', ') }});
        end if;
        {%- endfor %}
    end
    $$
    {%- endif -%}
{%- endmacro %}
