-- Tables the loader and the gate write. dbt owns staging, intermediate and marts.
-- Idempotent: applied at the start of every run.
create schema if not exists raw;
create schema if not exists audit;
create schema if not exists work;  -- scratch: the gate's batch, and the marts' changes until the standby takes them

-- One row per workbook version seen in the inbox, loaded or rejected. Never deleted:
-- a changed file adds a row that supersedes the earlier version of its unit-quarter.
create table if not exists raw.files (
    file_id        bigserial primary key,
    path           text        not null,  -- relative to the inbox
    content_hash   text        not null,  -- sha256 of the bytes
    size_bytes     bigint      not null,
    modified_at    timestamptz,
    unit_code      text,
    year           smallint,
    quarter        smallint,
    status         text        not null check (status in ('loaded', 'rejected')),
    run_id         text        not null,
    loaded_at      timestamptz not null default now(),
    parser         text,
    n_facts        integer     not null default 0,
    title          text,
    title_year     smallint,
    title_quarter  smallint,
    title_unit     text,
    title_unit_matches boolean,  -- does the title name the unit of the folder? (registry.title_names_unit)
    reject_code    text,
    reject_message text
);
alter table raw.files add column if not exists title_unit_matches boolean;
-- Every file present in the file's unit-quarter folder when it was discovered (itself included):
-- the rule one_file_per_quarter warns when several of them are loaded (ingestion/pipeline/versions.py).
alter table raw.files add column if not exists folder_files text[];
-- What the file is, by content: 'xlsx' (a workbook) or 'docx' (a Word report); null before documents were read.
alter table raw.files add column if not exists source_format text;
create index if not exists files_path_idx on raw.files (path, file_id desc);
create index if not exists files_content_hash_idx on raw.files (content_hash);
create index if not exists files_unit_period_idx on raw.files (unit_code, year, quarter, file_id desc);

-- Every figure of a loaded workbook, with its provenance (file, sheet, row, column): one per labelled row,
-- one per level column in a table laid out by level ("Tổng số | Cấp tỉnh | Cấp huyện | Cấp xã").
create table if not exists raw.facts (
    file_id     bigint   not null,  -- a file of raw.files (raw.figures_have_files below)
    sheet       text     not null,
    row_number  integer  not null,
    col_number  integer  not null,
    form        smallint,
    stt         text,
    label       text     not null,
    unit_text   text,
    raw_value   text,
    value       numeric,
    numerator   numeric,
    denominator numeric,
    kind        text     not null,
    indicator   text,
    match       text,
    note        text,
    legend      text,
    scope       text,  -- unit | department | district | commune: the part of the unit the figure covers
    primary key (file_id, sheet, row_number, col_number)
);
alter table raw.facts add column if not exists scope text;
-- A warehouse made when a row held one figure: its key gains the column.
do $$
begin
    if (select array_length(conkey, 1) from pg_constraint
        where conrelid = 'raw.facts'::regclass and contype = 'p') = 3 then
        update raw.facts set col_number = 0 where col_number is null;
        alter table raw.facts alter column col_number set not null,
            drop constraint facts_pkey, add primary key (file_id, sheet, row_number, col_number);
    end if;
end $$;
create index if not exists facts_file_indicator_idx on raw.facts (file_id, indicator);

-- Every figure belongs to a file of raw.files. Checked once per statement, over the files of the rows it
-- wrote, rather than by a foreign key: a foreign key checks each row on its own, which took the server
-- 2.4 s of a national quarter's COPY of 444,851 figures (5.5 s with it, 3.0 s without). The error is the
-- one a foreign key raises (foreign_key_violation), so the load refuses the file that caused it alike.
create or replace function raw.figures_have_files() returns trigger language plpgsql as $$
declare orphan bigint;
begin
    select w.file_id into orphan
    from (select distinct file_id from written) as w
    where not exists (select 1 from raw.files as f where f.file_id = w.file_id)
    limit 1;
    if found then
        raise foreign_key_violation using
            message = format('raw.facts: figures of file_id %s, which raw.files does not hold', orphan);
    end if;
    return null;
end $$;

-- A file whose figures are kept cannot go, nor change its id, and raw.files cannot be emptied under them.
create or replace function raw.files_keep_figures() returns trigger language plpgsql as $$
begin
    if tg_level = 'STATEMENT' then
        if exists (select 1 from raw.facts) then
            raise foreign_key_violation using message = 'raw.files: cannot truncate, raw.facts holds its figures';
        end if;
    elsif exists (select 1 from raw.facts where file_id = old.file_id) then
        raise foreign_key_violation using
            message = format('raw.files: file_id %s has figures in raw.facts; it cannot be %s',
                             old.file_id, lower(tg_op) || 'd');
    end if;
    return case when tg_op = 'DELETE' then old else new end;
end $$;

-- One trigger per event: PostgreSQL gives a transition table to a trigger of one event only.
create or replace trigger facts_inserted_have_files after insert on raw.facts referencing new table as written
    for each statement execute function raw.figures_have_files();
create or replace trigger facts_updated_have_files after update on raw.facts referencing new table as written
    for each statement execute function raw.figures_have_files();
create or replace trigger files_keep_figures before delete or update of file_id on raw.files
    for each row execute function raw.files_keep_figures();
create or replace trigger files_keep_figures_truncate before truncate on raw.files
    for each statement execute function raw.files_keep_figures();
-- A warehouse made when a foreign key kept them: the triggers above keep them now.
alter table raw.facts drop constraint if exists facts_file_id_fkey;

-- Figures a Word report's narrative states in sentences ("đã giải quyết 438 hồ sơ"), with their provenance
-- (paragraph and sentence), the catalog indicator and the scope read from the words around them. Only
-- the comparable ones are checked against the appendix (rule narrative_matches_appendix).
create table if not exists raw.narrative_figures (
    file_id          bigint  not null references raw.files (file_id),
    paragraph_number integer not null,  -- 1-based among the document's non-empty paragraphs
    position         integer not null,  -- 1-based order of the figure within its paragraph
    sentence         text    not null,
    indicator        text    not null,
    scope            text    not null,  -- unit | province | department | district | commune | mixed
    value            numeric not null,
    raw_value        text,
    kind             text,
    comparable       boolean not null,  -- certain enough to be compared with the appendix
    levels           text,              -- unit levels (p, s, d, c) where it is certain; empty: all
    pattern          text,              -- the row of dbt_project/seeds/narrative_patterns.csv that read it
    primary key (file_id, paragraph_number, position)
);

-- Parser remarks about loaded files (unmatched rows, ambiguous labels ...).
create table if not exists raw.parse_issues (
    file_id    bigint not null references raw.files (file_id),
    sheet      text,
    row_number integer,
    severity   text   not null,
    code       text   not null,
    message    text   not null
);
create index if not exists parse_issues_file_idx on raw.parse_issues (file_id);

-- The registry and the reorganisation mapping as of the latest run (reloaded when the CSVs change).
create table if not exists raw.org_units (
    unit_code   text primary key,
    name        text not null,
    level       text not null,
    unit_type   text,
    parent_code text,
    valid_from  date,
    valid_to    date,
    source_hash text not null,
    loaded_at   timestamptz not null default now()
);
create table if not exists raw.unit_mapping (
    old_code       text    not null,
    new_code       text    not null,
    weight         numeric not null,
    effective_date date    not null,
    source_hash    text    not null,
    loaded_at      timestamptz not null default now(),
    primary key (old_code, new_code)
);

-- Runs of the nightly job.
create table if not exists audit.load_runs (
    run_id               text primary key,
    started_at           timestamptz not null default now(),
    finished_at          timestamptz,
    status               text not null default 'running',
    inbox                text,
    parser               text,
    files_found          integer,
    files_new            integer,
    files_unchanged      integer,
    files_loaded         integer,
    files_rejected       integer,
    facts_staged         bigint,
    submissions_checked  integer,
    submissions_accepted integer,
    submissions_held     integer,
    rules_passed         integer,
    rules_failed         integer,
    marts_published      boolean not null default false,
    reports_dir          text,
    stage_seconds        jsonb not null default '{}'::jsonb,
    error                text
);
-- One night at a time (ingestion/pipeline/runlock.py): who runs, and until when a run spread over
-- Airflow tasks keeps its claim between two of them (null: its process holds the run lock throughout).
alter table audit.load_runs add column if not exists holder text;
alter table audit.load_runs add column if not exists lease_until timestamptz;

-- Files that could not be accepted as typed, and why (append-only).
create table if not exists audit.rejected_files (
    rejection_id bigserial primary key,
    run_id       text not null,
    file_id      bigint references raw.files (file_id),
    path         text not null,
    content_hash text,
    unit_code    text,
    year         smallint,
    quarter      smallint,
    reason_code  text not null,
    message      text not null,
    details      jsonb,
    rejected_at  timestamptz not null default now()
);

-- The gate's decision for each submission, taken once (append-only).
create table if not exists audit.submission_gate (
    gate_seq   bigserial primary key,
    file_id    bigint  not null unique references raw.files (file_id),
    run_id     text    not null,
    decision   text    not null check (decision in ('accepted', 'held')),
    errors     integer not null,
    warnings   integer not null,
    decided_at timestamptz not null default now()
);

-- One row per rule per unit-quarter per run (append-only, never rewritten).
create table if not exists audit.dq_results (
    dq_result_id bigserial primary key,
    run_id       text     not null,
    file_id      bigint,
    content_hash text,
    unit_code    text,
    year         smallint,
    quarter      smallint,
    rule_id      text     not null,
    rule_kind    text     not null,
    severity     text     not null,
    status       text     not null check (status in ('pass', 'fail')),
    indicator    text,
    sheet        text,
    row_number   integer,
    rows         integer[],
    form         smallint,
    observed     numeric,
    expected     numeric,
    details      jsonb,
    message      text,
    evaluated_at timestamptz not null default now()
);
create index if not exists dq_results_run_idx on audit.dq_results (run_id);
create index if not exists dq_results_file_idx on audit.dq_results (file_id);
-- The marts flag figures with failed warnings: a small slice of a history that only grows.
create index if not exists dq_results_failed_warnings_idx on audit.dq_results (file_id)
    where severity = 'warning' and status = 'fail';
-- unit_reported is recorded only when a unit-quarter's outcome changes: its last record, by index. The index
-- holds the status the rule compares with, so the probe (one per expected unit-quarter: 55,559 on a 1 % night of
-- the benchmark's history) need not read the table: 0.38 -> 0.26 s for the rule.
drop index if exists audit.dq_results_unit_reported_idx;
create index if not exists dq_results_unit_reported_status_idx
    on audit.dq_results (unit_code, year, quarter, dq_result_id) include (status)
    where rule_kind = 'unit_reported';

-- The data team's reviews of gate decisions (append-only): accept a held submission (the rules
-- were wrong for this file) or reject an accepted one, always with a reason. A review holds for
-- the exact file version it names (unit-quarter and content hash): a new file is checked afresh.
-- Its decision_seq comes from the gate's sequence, so gate decisions and reviews share one order
-- (the incremental marts use it as their watermark).
create table if not exists audit.submission_review (
    review_id      bigserial primary key,
    decision_seq   bigint      not null default nextval('audit.submission_gate_gate_seq_seq'),
    file_id        bigint      not null references raw.files (file_id),
    content_hash   text        not null,
    unit_code      text        not null,
    year           smallint    not null,
    quarter        smallint    not null,
    decision       text        not null check (decision in ('accept', 'reject')),
    reason         text        not null check (length(btrim(reason)) >= 10),
    reviewed_by    text        not null check (length(btrim(reviewed_by)) > 0),
    reviewed_at    timestamptz not null default now(),
    state_before   text        not null,  -- the submission's state when it was reviewed
    rule_results   jsonb       not null   -- its failed rule evaluations at that moment
);
create index if not exists submission_review_unit_period_idx on audit.submission_review (unit_code, year, quarter, review_id);
create index if not exists submission_review_seq_idx on audit.submission_review (decision_seq);
-- A submission's failed evaluations: what the status mart and the console read for a file.
create index if not exists dq_results_failed_idx on audit.dq_results (file_id) where status = 'fail';

-- Great Expectations' own verdicts, one row per expectation per run (append-only).
create table if not exists audit.gx_validations (
    run_id           text    not null,
    suite            text    not null,
    expectation      text    not null,
    rule_kind        text    not null,
    severity         text    not null,
    success          boolean not null,
    unexpected_count bigint,
    result           jsonb,
    validated_at     timestamptz not null default now()
);

-- Each publication of the marts.
create table if not exists audit.publish_log (
    run_id       text not null,
    published_at timestamptz not null default now(),
    submissions  integer,
    details      jsonb
);

-- Audit tables are append-only: history is never overwritten. The tables are owned by a role the
-- nightly job does not hold (ingestion/warehouse/roles.py), so it cannot drop or disable these guards,
-- and they fire ALWAYS, even in a session that sets session_replication_role = replica.
create or replace function audit.forbid_rewrite() returns trigger language plpgsql as $$
begin
    raise exception 'audit.% is append-only: % is not allowed', tg_table_name, tg_op;
end $$;

create or replace function audit.append_only_tables() returns text[] language sql immutable as $$
    select array['rejected_files', 'submission_gate', 'dq_results', 'gx_validations', 'publish_log',
                 'submission_review']
$$;

-- Each guard on its own: one dropped or disabled is re-created without touching the others.
do $$
declare t text;
begin
    foreach t in array audit.append_only_tables() loop
        if not exists (select 1 from pg_trigger where tgname = t || '_append_only' and tgrelid = ('audit.' || t)::regclass) then
            execute format('create trigger %I before update or delete on audit.%I
                            for each row execute function audit.forbid_rewrite()', t || '_append_only', t);
        end if;
        if not exists (select 1 from pg_trigger where tgname = t || '_no_truncate' and tgrelid = ('audit.' || t)::regclass) then
            execute format('create trigger %I before truncate on audit.%I
                            for each statement execute function audit.forbid_rewrite()', t || '_no_truncate', t);
        end if;
        if exists (select 1 from pg_trigger where tgrelid = ('audit.' || t)::regclass
                   and tgname in (t || '_append_only', t || '_no_truncate') and tgenabled <> 'A') then
            execute format('alter table audit.%I enable always trigger %I', t, t || '_append_only');
            execute format('alter table audit.%I enable always trigger %I', t, t || '_no_truncate');
        end if;
    end loop;
end $$;

-- Fresh statistics after an incremental change, without paying for them every night: ANALYZE reads a
-- sample of the whole table (a second or more on a long history) to take in a night's few changed rows.
-- The table is analyzed when the rows changed in this transaction, those changed since its last
-- ANALYZE, or the `written` rows the caller counted, exceed autovacuum's default threshold (50 rows and a
-- tenth of the table), and when it never was. Statistics steer plans only, never results. Called by the
-- incremental marts' dbt post-hook (macros/analyze_if_stale.sql), by the copy of their changes to the
-- standby (pipeline/publish.py) and after the night's files are stored (pipeline/load.py, which counts
-- what it wrote: a backend's last second of writes may not have reached the statistics yet), as the
-- table's owner.
drop function if exists audit.analyze_if_stale(regclass);  -- the version before `written`
create or replace function audit.analyze_if_stale(t regclass, written bigint default 0) returns boolean
language plpgsql set search_path = pg_catalog as $$
begin
    if (select tables.reltuples < 0
               or greatest(coalesce(since.n_mod_since_analyze, 0),
                           coalesce(tonight.n_tup_ins + tonight.n_tup_upd + tonight.n_tup_del, 0),
                           written)
                  > 50 + 0.1 * tables.reltuples
        from pg_class as tables
        left join pg_stat_user_tables as since on since.relid = tables.oid
        left join pg_stat_xact_user_tables as tonight on tonight.relid = tables.oid
        where tables.oid = t) then
        execute format('analyze %s', t);
        return true;
    end if;
    return false;
end $$;

-- Fresh planner statistics for the nightly job, which may read and append to these tables but does not own them.
create or replace function audit.refresh_statistics(t text) returns void language plpgsql security definer
set search_path = pg_catalog as $$
begin
    if t is null or to_regclass('audit.' || quote_ident(t)) is null then
        raise exception 'audit.% is not an audit table', t;
    end if;
    execute format('analyze audit.%I', t);
end $$;

-- Each dbt build of the candidates (before the gate) and what it was built from: a night with
-- nothing new (same files, gate, registry, catalog and models) skips the build.
create table if not exists audit.build_log (
    run_id      text not null,
    built_at    timestamptz not null default now(),
    selector    text not null,
    fingerprint text not null
);

-- The relations dbt built that a later build may keep as they are (dbt_project/macros/relations_kept.sql):
-- a view whose definition is unchanged, a table whose definition and inputs are unchanged. Recorded by
-- oid: the marts are built in marts_next and swapped, so the copy in marts_next tonight is the one
-- built two nights ago, under the same name.
drop table if exists work.dbt_views;  -- recorded views by name: every swapped mart view was made again
create table if not exists work.kept_relations (
    relation_oid oid primary key,  -- the relation made then: one made again, or dropped, has another or none
    relation     text not null,    -- as dbt names it: "database"."schema"."name"
    fingerprint  text not null,    -- of its compiled SQL and configuration
    inputs       text,             -- a table's: the content of the relations it reads (null for a view)
    built_at     timestamptz not null default now()
);

-- What each incremental build of the marts changed, until the standby has taken it: a mark per model
-- and build (dbt's invocation_id), the changes themselves in work."standby__<model>__<digest>"
-- (dbt_project/macros/standby_writes.sql; taken by ingestion/pipeline/publish.py, refresh_standby).
create table if not exists work.standby_writes (
    invocation_id text not null,
    model         text not null,
    changes       text not null,  -- the table in schema work holding the changes
    written_at    timestamptz not null default now(),
    primary key (invocation_id, model)
);
