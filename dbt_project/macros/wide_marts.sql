{#- The wide marts (fct_tthc_processing, fct_staffing, fct_finance): one row per unit-quarter,
    one column per figure. Which column holds which indicator is data, in seeds/mart_columns.csv
    (read here and by tests/test_wide_marts.py against the marts' contracts); rates are
    recomputed from the numerator and denominator the indicator catalog gives them. -#}

{#- Rebuilt incrementally, unit-quarter by unit-quarter, from the publications that changed. -#}
{% macro wide_mart_config() -%}
    {%- do return({
        'materialized': 'incremental', 'incremental_strategy': 'delete+insert',
        'unique_key': ['unit_code', 'year', 'quarter'], 'on_schema_change': 'fail',
        'post_hook': '{{ remove_withdrawn_publications() }}', 'indexes': [{'columns': ['gate_seq']}]}) -%}
{%- endmacro %}

{#- One indicator's value for the unit itself, when pivoting a unit-quarter's figures. -#}
{% macro own_value(code) -%}
    max(value) filter (where own_indicator_code = '{{ code }}')
{%- endmacro %}

{#- A column's expression from its mapping row. derivation:
      own              the unit's own figure of indicator_code ("a|b": the first one reported);
      recomputed_rate  100 × numerator / denominator of the indicator, as the catalog defines it;
      above_whole      the figure exceeds the whole the catalog bounds it by (staff above quota). -#}
{% macro wide_mart_column(row) -%}
    {%- if row['derivation'] == 'own' -%}
        {%- set codes = row['indicator_code'].split('|') -%}
        {%- if codes | length == 1 -%}{{ own_value(codes[0]) }}
        {%- else -%}coalesce({% for code in codes %}{{ own_value(code) }}{{ ", " if not loop.last }}{% endfor %})
        {%- endif -%}
    {%- elif row['derivation'] == 'recomputed_rate' and row['numerator'] and row['denominator'] -%}
        {{ recomputed_rate(own_value(row['numerator']), own_value(row['denominator'])) }}
    {%- elif row['derivation'] == 'above_whole' and row['whole'] -%}
        ({{ own_value(row['indicator_code']) }} > {{ own_value(row['whole']) }})
    {%- else -%}
        {{ exceptions.raise_compiler_error(
            "mart_columns.csv: " ~ row['column_name'] ~ " (" ~ row['derivation'] ~ " of " ~ row['indicator_code']
            ~ ") has no such derivation, or the catalog gives the indicator no numerator/denominator or whole") }}
    {%- endif -%}
{%- endmacro %}

{#- The columns of `mart` (its mart_columns.csv rows), pivoted from the own figures of the
    publications that changed since the mart was last built. -#}
{% macro wide_mart(mart) -%}
    {%- do ref('mart_columns') %}{# outside the if: dbt records the dependencies at parse time #}
    {%- do ref('indicator_catalog') %}
    {%- set columns = [] %}
    {%- if execute %}
        {#- the seeds as loaded, also in a unit test (where ref() names the test's fixtures) -#}
        {%- set mapping = seed_relation('mart_columns') %}
        {%- set catalog = seed_relation('indicator_catalog') %}
        {%- set query %}
            select m.column_name, m.derivation, m.indicator_code, c.numerator, c.denominator, c.whole
            from {{ mapping }} as m
            left join {{ catalog }} as c on c.code = m.indicator_code
            where m.mart = '{{ mart }}'
            order by m.position
        {%- endset %}
        {%- set columns = run_query(query).rows %}
        {%- if columns | length == 0 %}
            {{ exceptions.raise_compiler_error("mart_columns.csv has no column for " ~ mart) }}
        {%- endif %}
    {%- endif %}
    with changed as materialized (
        {{ changed_publications() }}
    )

    select
        facts.unit_code, facts.year, facts.quarter, facts.period_key,
        {%- for row in columns %}
        {{ wide_mart_column(row) }} as {{ row['column_name'] }},
        {%- endfor %}
        facts.file_id, facts.gate_seq
    -- offset 0: each figure's own_indicator_code (a CASE with subqueries) is worked out once, in
    -- the subquery; flattened into the query, it was evaluated again in every column's filter
    -- (a hundred subplans: 4.5 s instead of 1.2 s for fct_tthc_processing on a national quarter).
    from ({{ published_facts('changed', ['gate_seq', 'period_key']) }} offset 0) as facts
    group by facts.unit_code, facts.year, facts.quarter, facts.period_key, facts.file_id, facts.gate_seq
{%- endmacro %}

{#- A seed's table, resolved from the project graph rather than ref(); a unit test's context has no
    graph, and there the seeds' schema (dbt_project.yml: seeds +schema) is named. -#}
{% macro seed_relation(name) -%}
    {%- set nodes = graph.get('nodes', {}).values() | selectattr('resource_type', 'equalto', 'seed')
                                                   | selectattr('name', 'equalto', name) | list %}
    {%- if nodes %}
        {%- do return(api.Relation.create(database=nodes[0].database, schema=nodes[0].schema, identifier=nodes[0].alias)) %}
    {%- endif %}
    {%- do return(api.Relation.create(database=target.database, schema=generate_schema_name('reference', none), identifier=name)) %}
{%- endmacro %}
