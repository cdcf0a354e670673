{#- What each incremental build changed, written down in the same transaction for the standby.
    After the swap, the marts this build wrote are live, and the version they replaced (the standby)
    must take the same changes before the next build starts from it (ingestion/pipeline/publish.py,
    refresh_standby). Finding those changes afterwards meant reading every live mart whole; the
    build knows them as it makes them, so it writes them down, tagged with dbt's invocation_id:
    - delete+insert: the key groups it replaced (the distinct keys of its new rows), in
      work."standby__<model>__<digest of the columns>";
    - append: the rows it added, in the same table;
    - a post-hook that removes groups (a withdrawn publication): the groups it removed;
    - and one mark per model in work.standby_writes. A model without tonight's mark was built
      whole (first build, or rebuilt after an upgrade): the standby copies it whole.
    These override dbt's own delete+insert and append strategies (same SQL, then the record). -#}

{#- The delete finds the replaced groups through the index every delete+insert mart has on its unique
    key (its primary key or a unique index leads with it): a night changes hundreds of groups of a mart
    of millions of rows. PostgreSQL guesses the groups from the new rows, thousands, and hashed them
    against the whole mart instead: 5.8 s against 0.25 s for fct_indicator_value on a 1 % rerun of a
    55 k-file history. Only the delete is planned so; what follows in the transaction is as before. (The
    standby's copy, ingestion/pipeline/publish.py, joins an analysed table of the distinct groups, which
    PostgreSQL sizes right and already reads through the index.) -#}
{% macro get_incremental_delete_insert_sql(arg_dict) -%}
    {%- set keys = arg_dict['unique_key'] if arg_dict['unique_key'] is not string else [arg_dict['unique_key']] -%}
    set local enable_nestloop = on;
    set local enable_hashjoin = off;
    set local enable_mergejoin = off;
    {{ adapter.dispatch('get_incremental_delete_insert_sql', 'dbt')(arg_dict) }};
    reset enable_nestloop;
    reset enable_hashjoin;
    reset enable_mergejoin;
    {%- if is_mart(arg_dict['target_relation']) %}
    {{ standby_record(arg_dict['target_relation'], keys,
                      'select distinct ' ~ (keys | join(', ')) ~ ' from ' ~ arg_dict['temp_relation']) }}
    {%- endif %}
{%- endmacro %}

{% macro get_incremental_append_sql(arg_dict) -%}
    {%- set columns = arg_dict['dest_columns'] | map(attribute='name') | list -%}
    {{ adapter.dispatch('get_incremental_append_sql', 'dbt')(arg_dict) }};
    {%- if is_mart(arg_dict['target_relation']) %}
    {{ standby_record(arg_dict['target_relation'], columns,
                      'select ' ~ get_quoted_csv(columns) ~ ' from ' ~ arg_dict['temp_relation']) }}
    {%- endif %}
{%- endmacro %}

{#- Only the marts have a standby: the incremental intermediate tables (the submissions, their decisions)
    are one table each, which every build brings up to date itself. -#}
{% macro is_mart(relation) -%}
    {{- return(relation.schema == var('marts_schema')) -}}
{%- endmacro %}

{#- The table holding one model's changes, named after its columns too: a model whose key changes
    (an upgrade) starts a new table instead of failing to write into the old one. The mark names it. -#}
{% macro standby_changes_name(relation, columns) -%}
    standby__{{ relation.identifier }}__{{ local_md5(columns | join(',')) [:8] }}
{%- endmacro %}

{% macro standby_changes(relation, columns) -%}
    work."{{ standby_changes_name(relation, columns) }}"
{%- endmacro %}

{#- Created on first use with the model's own column types, so the standby joins on them as they are. -#}
{% macro standby_changes_table(relation, columns) -%}
    create table if not exists {{ standby_changes(relation, columns) }} as
    select ''::text as invocation_id, {{ get_quoted_csv(columns) }} from {{ relation }} limit 0
{%- endmacro %}

{#- `rows`: a select of `columns`, recorded under this invocation; then the model's mark. -#}
{% macro standby_record(relation, columns, rows) -%}
    {{ standby_changes_table(relation, columns) }};
    insert into {{ standby_changes(relation, columns) }}
    select '{{ invocation_id }}', changed.* from ({{ rows }}) as changed;
    insert into work.standby_writes (invocation_id, model, changes)
    values ('{{ invocation_id }}', '{{ relation.identifier }}',
            '{{ standby_changes_name(relation, columns) }}')
{%- endmacro %}

{#- Wraps a post-hook's `delete from {{ this }} as built ...`: the key groups it removed are recorded
    beside the ones the build replaced (the standby removes them too). -#}
{% macro standby_removed() -%}
    {%- set keys = config.get('unique_key') -%}
    {%- set keys = [keys] if keys is string else keys -%}
    {{ standby_changes_table(this, keys) }};
    with removed as (
        {{ caller() }}
        returning {% for key in keys %}built.{{ key }}{{ ', ' if not loop.last }}{% endfor %}
    )
    insert into {{ standby_changes(this, keys) }}
    select distinct '{{ invocation_id }}', removed.* from removed
{%- endmacro %}

{#- A pre-hook for an incremental model whose rows all depend on inputs that change rarely (the
    registry, the project): when they changed (var same_project_and_registry false), its rows are
    removed in the build's transaction, recorded for the standby like any removed group, and the
    model's query selects every row again. -#}
{% macro remove_all_unless_same_inputs() -%}
    {%- if is_incremental() and not var('same_project_and_registry', false) -%}
    {%- call standby_removed() %}
    delete from {{ this }} as built
    {%- endcall %}
    {%- endif -%}
{%- endmacro %}
