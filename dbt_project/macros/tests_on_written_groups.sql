{#- A data test on an incremental mart that reads only the key groups tonight's build wrote, when it is
    declared with `config: {where: written_by_this_build}`.

    A relationships test reads its whole mart (millions of figures on a long history) to check the few
    thousand a night replaced. The rows it did not replace passed the same test when they were
    published, against the same dimensions, as long as the project (models, macros, seeds: the indicator
    catalog, the periods) is the one of that publication: the var `same_project_and_registry` says so
    (ingestion/pipeline/publish.py). The groups come from the record the build keeps for the standby
    (macros/standby_writes.sql). Without that record tonight (a first or full build), or without the
    var, the test reads the whole mart. -#}

{% macro get_where_subquery(relation) -%}
    {%- if config.get('where') == 'written_by_this_build' -%}
        {%- do return(written_by_this_build(relation)) -%}
    {%- endif -%}
    {%- do return(adapter.dispatch('get_where_subquery', 'dbt')(relation)) -%}
{%- endmacro %}

{% macro written_by_this_build(relation) -%}
    {%- if not execute -%}
        {%- do return(relation) -%}
    {%- endif -%}
    {%- set model = graph.nodes.values() | selectattr('resource_type', 'equalto', 'model')
                    | selectattr('name', 'equalto', relation.identifier) | first -%}
    {%- if model.config.incremental_strategy != 'delete+insert' or not model.config.unique_key -%}
        {#- the record holds the keys of replaced groups only for delete+insert (standby_writes.sql) -#}
        {%- do exceptions.raise_compiler_error("where: written_by_this_build needs an incremental delete+insert model "
                                               ~ "with a unique_key; " ~ relation.identifier ~ " is "
                                               ~ model.config.materialized ~ " (" ~ model.config.incremental_strategy ~ ")") -%}
    {%- endif -%}
    {%- if not var('same_project_and_registry', false) -%}
        {%- do return(relation) -%}
    {%- endif -%}
    {%- set marks = run_query("select changes from work.standby_writes where invocation_id = '" ~ invocation_id
                              ~ "' and model = '" ~ relation.identifier ~ "'") -%}
    {%- if marks.rows | length != 1 -%}
        {%- do return(relation) -%}
    {%- endif -%}
    {%- set keys = model.config.unique_key -%}
    {%- set keys = [keys] if keys is string else keys -%}
    {%- set filtered -%}
    (select * from {{ relation }}
     where ({{ keys | join(', ') }}) in (select {{ keys | join(', ') }} from work."{{ marks.columns[0].values()[0] }}"
                                         where invocation_id = '{{ invocation_id }}')) as written_by_this_build
    {%- endset -%}
    {%- do return(filtered) -%}
{%- endmacro %}
