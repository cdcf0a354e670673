{#- Relations a build keeps as they are instead of making them again (work.kept_relations records each one
    made: its oid, a fingerprint of its compiled SQL and configuration, and a table's inputs).

    dbt makes every selected view and table again on every build: a new relation, two renames, a drop,
    comments, a commit. The marts are built in marts_next and swapped with the live ones, so the copy a
    build finds in marts_next is the one made two builds ago, under the same name: hence a record per oid.

    A view is kept when the database holds it as this project's SQL and configuration made it. A view that
    one of its sources' rebuild dropped (dbt drops a rebuilt table's old version with cascade, and its views
    with it) is no longer in pg_class when its own node runs, after its sources': it is made again then. So
    is every view of a full refresh. About 0.1 s a view: the staging views of a night's first build, and the
    BI views over the marts.

    A table whose meta says `keep_when_unchanged` is kept when, besides, the relations it reads hold what they held
    when it was made (a digest of their rows). For the small tables that only change with the registry or
    the project (the dimensions, the registry's hierarchy): a night of new reports makes none of them again,
    nor the BI views over them. Such a table's SQL must be a function of the relations it reads: no now().

    A kept relation skips its hooks: the project's hooks only shape the relation itself (comments,
    constraints, statistics), which stays. -#}
{%- materialization view, adapter='postgres' -%}
    {%- set fingerprint = relation_fingerprint() -%}
    {%- if not should_full_refresh() -%}
        {%- call statement('main', fetch_result=True) -%}
            select count(*) as kept from work.kept_relations as built
            where {{ recorded_as(fingerprint) }}
        {%- endcall -%}
        {%- if load_result('main')['data'][0][0] == 1 -%}
            {%- do adapter.commit() -%}
            {{ return({'relations': [this.incorporate(type='view')]}) }}
        {%- endif -%}
    {%- endif -%}
    {%- set relations = dbt.materialization_view_default() -%}
    {%- do record_kept(fingerprint, none) -%}
    {{ return(relations) }}
{%- endmaterialization -%}

{%- materialization table, adapter='postgres' -%}
    {%- if not (config.get('meta') or {}).get('keep_when_unchanged') -%}
        {{ return(dbt.materialization_table_default()) }}
    {%- endif -%}
    {%- set fingerprint = relation_fingerprint() -%}
    {%- call statement('main', fetch_result=True) -%}
        with inputs as (select {{ inputs_digest() }} as digest)
        select inputs.digest,
               exists (select 1 from work.kept_relations as built
                       where {{ recorded_as(fingerprint) }} and built.inputs = inputs.digest) as kept
        from inputs
    {%- endcall -%}
    {%- set found = load_result('main')['data'][0] -%}
    {%- if found[1] and not should_full_refresh() -%}
        {%- do adapter.commit() -%}
        {{ return({'relations': [this.incorporate(type='table')]}) }}
    {%- endif -%}
    {%- set relations = dbt.materialization_table_default() -%}
    {%- do record_kept(fingerprint, found[0]) -%}
    {{ return(relations) }}
{%- endmaterialization -%}

{% macro relation_fingerprint() -%}
    {{- return(local_md5(sql ~ tojson(model.config) ~ (model.description or '') ~ tojson(model.columns))) -}}
{%- endmacro %}

{#- The relation under this name is the one recorded, made from this fingerprint. The name is checked too: an
    oid PostgreSQL gave again to another relation is not that relation's record. -#}
{% macro recorded_as(fingerprint) -%}
    built.relation_oid = to_regclass('{{ this }}') and built.relation = '{{ this }}'
    and built.fingerprint = '{{ fingerprint }}'
{%- endmacro %}

{#- This relation's record: made from `fingerprint`, with `inputs` (an SQL expression) as its inputs' digest. -#}
{% macro upsert_kept_record(fingerprint, inputs) -%}
    insert into work.kept_relations (relation_oid, relation, fingerprint, inputs)
    values ('{{ this }}'::regclass, '{{ this }}', '{{ fingerprint }}', {{ inputs }})
    on conflict (relation_oid) do update
    set relation = excluded.relation, fingerprint = excluded.fingerprint, inputs = excluded.inputs, built_at = now()
{%- endmacro %}

{% macro record_kept(fingerprint, inputs) -%}
    {%- call statement('record_kept') -%}
        {{ upsert_kept_record(fingerprint, "'" ~ inputs ~ "'" if inputs else 'null') }};
        -- the records of relations dropped since (a rebuilt table's old version, a view that went with it)
        delete from work.kept_relations as built
        where not exists (select 1 from pg_class where pg_class.oid = built.relation_oid);
    {%- endcall -%}
    {%- do adapter.commit() -%}
{%- endmacro %}

{#- A digest of every row of `relations` (by default those the model reads: its refs and sources): per
    relation, its rows' count and the sum of their 64-bit hashes, which no order of the rows changes and
    which needs no sort (an ordered md5 of the registry's 25,000 hierarchy rows took twice as long). -#}
{% macro inputs_digest(relations=none) -%}
    {%- if relations is none -%}
        {%- set relations = [] -%}
        {%- for unique_id in model.depends_on.nodes | sort -%}
            {%- set node = graph.nodes.get(unique_id) or graph.sources.get(unique_id) -%}
            {%- do relations.append(api.Relation.create(database=node.database, schema=node.schema,
                    identifier=node.identifier if node.resource_type == 'source' else node.alias)) -%}
        {%- endfor -%}
    {%- endif -%}
    md5(concat_ws('|', '{{ relations | join(",") }}'
    {%- for input in relations %},
        (select count(*) || ':' || coalesce(sum(hashtextextended(input::text, 0)::numeric), 0) from {{ input }} as input)
    {%- endfor %}))
{%- endmacro %}

{#- For an incremental model that redoes every row when some of its inputs changed (the registry, for the
    registry's columns it copies), or when the model itself did: whether the table was last built from
    these `relations` as they are and from this model (record_inputs, its post-hook). False before the
    first build and while dbt parses. -#}
{% macro inputs_as_recorded(relations) -%}
    {%- if not execute -%}
        {{- return(false) -}}
    {%- endif -%}
    {%- set found = run_query("select count(*) from work.kept_relations as built where "
                              ~ recorded_as(incremental_fingerprint()) ~ " and built.inputs = " ~ inputs_digest(relations)) -%}
    {{- return(found.columns[0].values()[0] == 1) -}}
{%- endmacro %}

{% macro record_inputs(relations) -%}
    {{ upsert_kept_record(incremental_fingerprint(), inputs_digest(relations)) }}
{%- endmacro %}

{#- An incremental model's own definition: its SQL as written (the compiled one holds the night's watermark)
    and its configuration. -#}
{% macro incremental_fingerprint() -%}
    {{- return(local_md5(model.raw_code ~ tojson(model.config))) -}}
{%- endmacro %}

{#- The relations whose rows the registry's columns of a submission come from. -#}
{% macro registry_inputs() -%}
    {{- return([ref('stg_raw__org_units'), ref('org_levels')]) -}}
{%- endmacro %}
