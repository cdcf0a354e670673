"""A warehouse built by an earlier version (a seed or an incremental mart without a column the
project has now) is brought up to date by the next night, without a manual full refresh."""
from __future__ import annotations

import pytest

from conftest import generated_inbox, query


@pytest.mark.e2e
def test_a_night_after_an_upgrade_rebuilds_changed_seeds_and_marts(pipeline_env):
    from ingestion.pipeline import nightly
    from ingestion.warehouse.connection import connect

    dsn = pipeline_env["dsn"]
    generated_inbox(pipeline_env["inbox"], units=4, quarters=1, error_rate=0.0, seed=5, end=(2026, 3))
    assert nightly.run_all(docs=False)["status"] == "success"
    before = query(dsn, "select count(*), count(*) filter (where scope = 'unit') from marts.fct_indicator_value")

    # What the earlier version left: no `scope` in the catalog seed, nor in the figures' marts.
    conn = connect(dsn)
    with conn, conn.cursor() as cur:
        cur.execute("alter table reference.indicator_catalog drop column scope cascade")
        for schema in ("marts", "marts_next"):
            cur.execute(f"alter table {schema}.fct_indicator_value drop column scope cascade")
        # figures keyed by their row only, before a row could hold one figure per level column
        cur.execute("""alter table raw.facts drop constraint facts_pkey, alter column col_number drop not null,
                       add primary key (file_id, sheet, row_number)""")
    conn.close()

    run = nightly.new_run_id()
    nightly.start(run)
    nightly.ingest_stage(run)
    nightly.build_candidates(run)
    nightly.validate_stage(run)
    assert nightly.publish_stage(run, force=True)["published"]
    nightly.finish(run)

    assert query(dsn, """select count(*) from information_schema.columns where table_schema = 'reference'
                         and table_name = 'indicator_catalog' and column_name = 'scope'""") == [(1,)]
    assert query(dsn, """select array_length(conkey, 1) from pg_constraint
                         where conrelid = 'raw.facts'::regclass and contype = 'p'""") == [(4,)]
    after = query(dsn, "select count(*), count(*) filter (where scope = 'unit') from marts.fct_indicator_value")
    assert after == before and before[0][0] > 100
