{#- Fresh statistics after an incremental build, without paying for them every night: ANALYZE reads
    a sample of the whole table (a second or more on a long history) to take in a night's few changed
    rows. The table is analyzed when the rows this build changed, or those changed since its last
    ANALYZE, exceed autovacuum's default threshold (50 rows and a tenth of the table), and when it
    never was (built in this transaction, or a copy). Statistics steer plans only, never results. -#}
{% macro analyze_if_stale() -%}
do $$
begin
    if (select tables.reltuples < 0
               or greatest(coalesce(since.n_mod_since_analyze, 0),
                           coalesce(tonight.n_tup_ins + tonight.n_tup_upd + tonight.n_tup_del, 0))
                  > 50 + 0.1 * tables.reltuples
        from pg_class as tables
        left join pg_stat_user_tables as since on since.relid = tables.oid
        left join pg_stat_xact_user_tables as tonight on tonight.relid = tables.oid
        where tables.oid = '{{ this }}'::regclass) then
        analyze {{ this }};
    end if;
end
$$
{%- endmacro %}
