{#- A view is kept as it is, not made again, when the database holds it as this project's SQL and
    configuration made it (work.dbt_views: its oid and a fingerprint of both; the same oid under its
    name is the same view, as a view made again or dropped has another or none).

    dbt makes every selected view again on every build: a new view, two renames, a drop, comments,
    a commit, about 0.1 s each for the staging views a night's first build selects. Their definition
    changes only with the project, and a view that one of its sources' rebuild dropped (dbt drops a
    rebuilt table's old version with cascade, and its views with it) is no longer in pg_class when
    its own node runs, after its sources': it is made again then. So is every view of a full refresh.
    A kept view skips its hooks: the project's hooks on views only shape the view itself (comments,
    constraints), which stays. -#}
{%- materialization view, adapter='postgres' -%}
    {%- set fingerprint = local_md5(sql ~ tojson(model.config) ~ (model.description or '') ~ tojson(model.columns)) -%}
    {%- if not should_full_refresh() -%}
        {%- call statement('main', fetch_result=True) -%}
            select count(*) as kept
            from work.dbt_views as built
            where built.relation = '{{ this }}'
              and built.fingerprint = '{{ fingerprint }}'
              and built.view_oid = to_regclass('{{ this }}')
        {%- endcall -%}
        {%- if load_result('main')['data'][0][0] == 1 -%}
            {%- do adapter.commit() -%}
            {{ return({'relations': [this.incorporate(type='view')]}) }}
        {%- endif -%}
    {%- endif -%}
    {%- set relations = dbt.materialization_view_default() -%}
    {%- call statement('record_view') -%}
        insert into work.dbt_views (relation, view_oid, fingerprint)
        values ('{{ this }}', '{{ this }}'::regclass, '{{ fingerprint }}')
        on conflict (relation) do update
        set view_oid = excluded.view_oid, fingerprint = excluded.fingerprint, built_at = now()
    {%- endcall -%}
    {%- do adapter.commit() -%}
    {{ return(relations) }}
{%- endmaterialization -%}
