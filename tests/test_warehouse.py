"""Warehouse behaviour across runs: the gate, atomic publication, kill -9, access, append-only audit."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time

import psycopg2
import pytest
from conftest import generated_inbox, incremental_marts, set_figure, marts_fingerprint, query

from ingestion import config
from ingestion.pipeline import load, nightly, publish
from ingestion.pipeline.dbt import run_dbt
from ingestion.warehouse.connection import connect
from ingestion.warehouse.copy import copy_rows

pytestmark = pytest.mark.e2e
BUSINESS_MARTS = ("fct_indicator_value", "fct_tthc_processing", "fct_staffing", "fct_finance", "fct_indicator_rollup",
                  "dim_indicator", "dim_period")



def _clean_commune_file(inbox, manifest):
    injected = {i["path"] for i in manifest["injected"]}
    return next(p for p in sorted(inbox.rglob("*.xlsx"))
                if p.relative_to(inbox).as_posix() not in injected and "X" in p.parent.parent.name)


def test_held_back_correction_keeps_previous_version_published(pipeline_env):
    inbox, dsn = pipeline_env["inbox"], pipeline_env["dsn"]
    manifest = generated_inbox(inbox, units=12, quarters=1, error_rate=0.0, seed=21, end=(2026, 2))
    nightly.run_all(docs=False)
    path = _clean_commune_file(inbox, manifest)
    unit, period = path.relative_to(inbox).parts[:2]
    year, quarter = int(period[:4]), int(period[-1])
    before = query(dsn, "select file_id, on_time_rate_reported from marts.fct_tthc_processing "
                        "where unit_code = %s and year = %s and quarter = %s", (unit, year, quarter))
    assert len(before) == 1

    # The unit resubmits with an on-time rate that contradicts its own counts: an error.
    set_figure(path, "Tỷ lệ hồ sơ TTHC do UBND cấp xã tiếp nhận", 12)
    summary = nightly.run_all(docs=False)
    assert summary["submissions_held"] == 1 and summary["held"][0]["unit_code"] == unit
    after = query(dsn, "select file_id, on_time_rate_reported from marts.fct_tthc_processing "
                       "where unit_code = %s and year = %s and quarter = %s", (unit, year, quarter))
    assert after == before  # the previous accepted version stays published
    new_file = query(dsn, "select max(file_id) from raw.files where path = %s",
                     (path.relative_to(inbox).as_posix(),))[0][0]
    fails = query(dsn, "select rule_id, severity, message from audit.dq_results where file_id = %s and status = 'fail'",
                  (new_file,))
    assert [f[:2] for f in fails] == [("rate_matches_parts:tthc_ontime_rate_commune", "error")]
    assert "12%" in fails[0][2]
    report = next((config.load_settings().reports_dir / summary["reports_dir"]).rglob(f"{unit}/*.html"))
    report = report.read_text(encoding="utf-8")
    assert "Tạm giữ" in report and "12%" in report


def test_republishing_through_the_standby_gives_identical_marts(pipeline_env):
    inbox, dsn = pipeline_env["inbox"], pipeline_env["dsn"]
    generated_inbox(inbox, units=12, quarters=2, error_rate=0.2, seed=4, end=(2026, 3))
    first = nightly.run_all(docs=False)
    assert first["marts_published"]
    reference = marts_fingerprint(dsn, exclude_columns=())
    # Two forced publications: the first brings the standby copy up to date, the second swaps back.
    for _ in range(2):
        stats = nightly.publish_stage(first["run_id"], force=True)
        assert stats["published"]
        assert marts_fingerprint(dsn, exclude_columns=()) == reference


def _wait(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _start_run():
    return subprocess.Popen([sys.executable, "-m", "ingestion.cli", "run", "--direct", "--no-docs"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)


def _kill(proc, dsn) -> None:
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    # PostgreSQL ends a dead client's sessions, and with them the run lock, when it notices the closed
    # connections: a moment after the processes are gone (their forked readers too), not at the same instant.
    from ingestion.pipeline.runlock import LOCK_KEYS

    _wait(lambda: not query(dsn, """select 1 from pg_locks where locktype = 'advisory' and granted
                                    and classid = %s and objid = %s""", (LOCK_KEYS[0] & 0xFFFFFFFF, LOCK_KEYS[1])),
          30, "the killed run's sessions to end")


def test_kill_9_mid_ingest_and_mid_publish_leaves_no_duplicates_or_half_marts_and_reports_every_file_read(
        pipeline_env):
    inbox, dsn = pipeline_env["inbox"], pipeline_env["dsn"]
    # Three batches of 250: the second is parsed while the first is stored, so the run is still
    # loading for a good second after its first commit, whatever the machine's speed.
    generated_inbox(inbox, units=260, quarters=2, error_rate=0.1, seed=9, end=(2026, 3))
    total = sum(1 for p in inbox.rglob("*.xlsx") if "_registry" not in p.parts)
    assert total > 2 * load.BATCH_SIZE
    nightly.start("warmup")  # schema and registry in place so progress can be watched
    nightly.finish("warmup", failed="warm-up only")

    # 1. killed while loading: some batches committed, one in flight
    proc = _start_run()
    loaded = _wait(lambda: query(dsn, "select count(*) from raw.files")[0][0], 120, "the first committed batch")
    _kill(proc, dsn)
    assert 0 < loaded < total
    summary = nightly.run_all(docs=False)
    assert summary["status"] == "success"
    assert query(dsn, "select count(*), count(distinct path) from raw.files")[0] == (total, total)
    # every file the killed run read gets its feedback report from the run that finished the job
    (killed,) = query(dsn, "select run_id from audit.load_runs where status = 'interrupted'")
    read = query(dsn, "select content_hash from raw.files where run_id = %s", killed)
    assert len(read) >= loaded
    reports = {p.name.split("__")[-1][:10] for p in (config.load_settings().reports_dir / summary["reports_dir"])
               .rglob("*.html")}
    assert {h[:10] for (h,) in read} <= reports
    assert query(dsn, """select count(*) from raw.files f where status = 'loaded'
                         and n_facts <> (select count(*) from raw.facts x where x.file_id = f.file_id)""")[0][0] == 0
    assert query(dsn, """select count(*) from raw.files f where status = 'loaded' and not exists
                         (select 1 from audit.submission_gate g where g.file_id = f.file_id)""")[0][0] == 0
    published = marts_fingerprint(dsn, exclude_columns=())

    # 2. killed while publishing: BI must see the old marts or the new ones, never a mix
    set_figure(next(p for p in sorted(inbox.rglob("*.xlsx")) if "_registry" not in p.parts),
                "Số văn bản chỉ đạo CCHC", 77)
    proc = _start_run()
    _wait(lambda: query(dsn, """select count(*) from audit.load_runs where run_id <> %s
                                and stage_seconds ? 'gx_validate' and status = 'running'""",
                        (summary["run_id"],))[0][0], 180, "the publish stage")
    time.sleep(0.5)
    _kill(proc, dsn)
    during = marts_fingerprint(dsn, exclude_columns=())
    assert set(during) == set(published)  # every mart is there
    changed = {t for t in during if during[t] != published[t]}
    # Old version (nothing changed) or the whole new one: the corrected figure moves these together.
    assert not changed or {"fct_indicator_value", "fct_indicator_rollup", "fct_dq_results"} <= changed
    final = nightly.run_all(docs=False)
    assert final["status"] == "success"
    value = query(dsn, "select value from marts.fct_indicator_value v join raw.files f using (file_id) "
                       "where v.indicator_code = 'dir_directive_docs' and v.value = 77")
    assert value == [(77,)]
    assert query(dsn, "select count(*), count(distinct path) from raw.files")[0] == (total + 1, total)


def test_bi_reader_reads_marts_and_nothing_else(pipeline_env):
    inbox = pipeline_env["inbox"]
    generated_inbox(inbox, units=12, quarters=1, error_rate=0.0, seed=2, end=(2026, 1))
    nightly.run_all(docs=False)
    from ingestion.warehouse import access

    reader = psycopg2.connect(access.resolve().bi.url())
    reader.autocommit = True
    try:
        with reader.cursor() as cur:
            cur.execute("select count(*) from marts.fct_tthc_processing")
            assert cur.fetchone()[0] > 0
            cur.execute("select count(*) from marts.fct_dq_summary")
            for statement in ("select * from raw.facts limit 1", "select * from audit.dq_results limit 1",
                              "select * from staging.stg_raw__files limit 1", "select * from marts_next.dim_period limit 1",
                              "delete from marts.fct_staffing", "create table marts.x (a int)",
                              "create table public.x (a int)"):
                with pytest.raises(psycopg2.Error) as info:
                    cur.execute(statement)
                assert info.value.pgcode in ("42501", "25006", "3F000"), statement  # denied / read-only
    finally:
        reader.close()


def test_audit_history_is_append_only(pipeline_env):
    inbox, dsn = pipeline_env["inbox"], pipeline_env["dsn"]
    generated_inbox(inbox, units=12, quarters=1, error_rate=0.3, seed=8, end=(2026, 1))
    nightly.run_all(docs=False)
    n = query(dsn, "select count(*) from audit.dq_results")[0][0]
    assert n > 0
    for statement in ("update audit.dq_results set status = 'pass'", "delete from audit.dq_results",
                      "truncate audit.dq_results", "delete from audit.submission_gate",
                      "update audit.rejected_files set message = ''"):
        with pytest.raises(psycopg2.Error, match="append-only"):
            query(dsn, statement)
    # a rerun adds evaluations for new submissions only; it never rewrites earlier ones
    nightly.run_all(docs=False)
    assert query(dsn, "select count(*) from audit.dq_results")[0][0] >= n


def test_merged_communes_history_rolls_up_to_their_successor(pipeline_env):
    inbox, dsn = pipeline_env["inbox"], pipeline_env["dsn"]
    generated_inbox(inbox, units=14, quarters=2, error_rate=0.0, seed=6, end=(2025, 3))  # 2025-Q2 before, Q3 after
    nightly.run_all(docs=False)
    groups = query(dsn, """select m.new_code, array_agg(m.old_code order by m.old_code)
                           from raw.unit_mapping m join raw.org_units u on u.unit_code = m.new_code
                           where u.level = 'commune'
                             and not exists (select 1 from raw.unit_mapping x where x.old_code = m.old_code
                                             and x.new_code <> m.new_code)  -- not split
                           group by m.new_code having count(*) >= 2 order by 1""")
    assert groups, "the generated country has merged communes"
    successor, predecessors = groups[0]
    old = query(dsn, """select count(*), sum(dossiers_resolved), sum(dossiers_resolved_by_deadline),
                               array_agg(on_time_rate_reported)
                        from marts.fct_tthc_processing where year = 2025 and quarter = 2 and unit_code = any(%s)""",
                (predecessors,))[0]
    assert old[0] == len(predecessors)
    rolled = dict(query(dsn, """select indicator_code, value from marts.fct_indicator_rollup
                                where rollup_scope = 'current_unit' and unit_code = %s and year = 2025 and quarter = 2""",
                        (successor,)))
    assert rolled["tthc_dossiers_resolved"] == old[1]
    assert rolled["tthc_dossiers_ontime"] == old[2]
    recomputed = round(100 * old[2] / old[1], 2)
    assert rolled["tthc_ontime_rate"] == recomputed  # from the summed counts, not an average of the rates
    province = query(dsn, """select value from marts.fct_indicator_rollup where rollup_scope = 'province'
                             and year = 2025 and quarter = 2 and indicator_code = 'tthc_dossiers_resolved'""")
    assert len(province) == 1 and province[0][0] >= old[1]


# 14 units make one province today; 240 make two, whose rolled-up rows a correction must keep apart.
@pytest.mark.parametrize("units", [14, 240])
def test_incremental_marts_equal_a_full_rebuild_after_corrections(pipeline_env, units):
    inbox, dsn = pipeline_env["inbox"], pipeline_env["dsn"]
    generated_inbox(inbox, units=units, quarters=2, error_rate=0.0, seed=6, end=(2025, 3))  # across the reorganisation
    nightly.run_all(docs=False)
    split = [r[0] for r in query(dsn, "select old_code from raw.unit_mapping group by old_code having count(*) > 1")]
    assert split, "the generated country has a split commune"
    provinces = query(dsn, "select count(distinct unit_code) from marts.fct_indicator_rollup where rollup_scope = 'province' "
                           "and (year, quarter) = (2025, 3)")[0][0]
    assert provinces == (1 if units < 100 else 2)
    files = sorted(inbox.rglob("*.xlsx"))
    corrected = [p for p in files if p.parent.parent.name in split] + files[::9]
    for number, path in enumerate(corrected):
        set_figure(path, "Số văn bản chỉ đạo CCHC", 30 + number)
    second = nightly.run_all(docs=False)
    assert second["files_new"] == len(set(corrected)) and second["marts_published"]
    incremental = marts_fingerprint(dsn, exclude_columns=())
    # Right after the swap the standby's incremental marts are brought up to date, so the next build applies
    # only its own changes; its other marts are rebuilt whole by that build, so they are left as they were.
    carried = incremental_marts()
    assert carried >= {"fct_indicator_value", "fct_indicator_rollup", "fct_tthc_processing", "fct_dq_results"}
    standby = marts_fingerprint(dsn, exclude_columns=(), schema="marts_next")
    assert {t: v for t, v in standby.items() if t in carried} == {t: v for t, v in incremental.items() if t in carried}
    # The next build, from that standby, publishes the same marts again.
    assert nightly.publish_stage(second["run_id"], force=True)["published"]
    assert marts_fingerprint(dsn, exclude_columns=()) == incremental

    run_dbt(dsn, config.load_settings().dbt_target_dir,
            ["build", "--full-refresh", "--selector", "publish", "--vars", json.dumps({"marts_schema": "marts_rebuilt"})])
    rebuilt = marts_fingerprint(dsn, exclude_columns=(), schema="marts_rebuilt")
    assert set(rebuilt) == set(incremental)
    assert {t: v for t, v in incremental.items() if v != rebuilt[t]} == {}


def test_the_standby_step_runs_beside_the_reports_and_can_be_rerun(pipeline_env, monkeypatch):
    """The standby copy is a stage of its own (the DAG's `standby` task): the night runs it while the reports are
    written, and a retry of it (after the first publication, or after a correction) leaves the same standby."""
    import threading

    inbox, dsn = pipeline_env["inbox"], pipeline_env["dsn"]
    generated_inbox(inbox, units=4, quarters=1, error_rate=0.0, seed=13, end=(2026, 2))
    threads = {}
    real_standby, real_report = nightly.standby_stage, nightly.report_stage

    def standby(*args, **kwargs):
        threads["standby"] = threading.current_thread().name
        return real_standby(*args, **kwargs)

    def report(*args, **kwargs):
        threads["report"] = threading.current_thread().name
        return real_report(*args, **kwargs)

    monkeypatch.setattr(nightly, "standby_stage", standby)
    monkeypatch.setattr(nightly, "report_stage", report)
    first = nightly.run_all(docs=False)
    assert threads["standby"] != threads["report"]
    assert "standby" in first["stage_seconds"] and "report" in first["stage_seconds"]
    carried = incremental_marts()

    def behind() -> dict:
        live, standby_ = (marts_fingerprint(dsn, exclude_columns=(), schema=s) for s in ("marts", "marts_next"))
        return {t for t in carried if live.get(t) != standby_.get(t)}

    assert behind() == set()
    assert real_standby(first["run_id"])["refreshed"] and behind() == set()  # the first publication's copy, again
    files = [p for p in sorted(inbox.rglob("*.xlsx")) if "_registry" not in p.parts]
    set_figure(files[0], "Số văn bản chỉ đạo CCHC", 71)
    second = nightly.run_all(docs=False)
    assert second["marts_published"] and behind() == set()
    assert real_standby(second["run_id"])["refreshed"] and behind() == set()  # a correction's copy, again
    # An earlier run's step, retried after a later publication, leaves the standby alone.
    assert nightly.standby_stage(first["run_id"]) == {"refreshed": False, "seconds": 0.0} and behind() == set()


def test_the_standby_takes_the_published_rows_and_catches_up_after_a_refresh_that_failed(pipeline_env, monkeypatch):
    """The standby is not built a second time: the groups the build recorded as replaced are copied from the
    live marts. A night whose copy of a mart fails leaves that mart a night behind; the next build catches
    it up, and the copy takes both nights' changes."""
    from ingestion.pipeline import publish

    inbox, dsn = pipeline_env["inbox"], pipeline_env["dsn"]
    generated_inbox(inbox, units=8, quarters=1, error_rate=0.0, seed=12, end=(2026, 2))
    nightly.run_all(docs=False)
    files = [p for p in sorted(inbox.rglob("*.xlsx")) if "_registry" not in p.parts]
    carried = incremental_marts()

    def same(schema_a: str, schema_b: str) -> dict:
        a, b = (marts_fingerprint(dsn, exclude_columns=(), schema=s) for s in (schema_a, schema_b))
        return {t: (a.get(t), b.get(t)) for t in carried if a.get(t) != b.get(t)}

    builds = []
    real_dbt = publish.run_dbt
    monkeypatch.setattr(publish, "run_dbt", lambda *a, **kw: builds.append(a[2][0]) or real_dbt(*a, **kw))
    real_table = publish._refresh_standby_table

    def lock_held(cur, node, invocation):
        if node["name"] == "fct_indicator_rollup":
            raise psycopg2.errors.LockNotAvailable("a reader holds the standby")
        return real_table(cur, node, invocation)

    monkeypatch.setattr(publish, "_refresh_standby_table", lock_held)
    set_figure(files[0], "Số văn bản chỉ đạo CCHC", 61)
    assert nightly.run_all(docs=False)["marts_published"]
    assert builds == ["build"]  # one dbt command builds the marts; none builds the standby again
    # Each mart is copied in a transaction of its own: the one whose copy failed is a night behind, alone.
    assert set(same("marts", "marts_next")) == {"fct_indicator_rollup"}

    # The next build also meets a standby that lost a whole mart: dbt builds it whole there, so it has no
    # recorded changes, and after the swap it is copied whole to the other version.
    copied_whole, started = [], []
    # The first two marts wait for each other: it passes only with two sessions copying side by side.
    together = threading.Barrier(publish.STANDBY_LANES, timeout=30)

    def recorded(cur, node, invocation):
        started.append(node["name"])
        if len(started) <= publish.STANDBY_LANES:
            together.wait()
        whole = real_table(cur, node, invocation)
        copied_whole.extend([node["name"]] if whole else [])
        return whole

    drop = connect(dsn)
    with drop, drop.cursor() as cur:
        cur.execute("drop table marts_next.fct_dq_results")
    drop.close()
    monkeypatch.setattr(publish, "_refresh_standby_table", recorded)
    set_figure(files[1], "Số văn bản chỉ đạo CCHC", 62)
    assert nightly.run_all(docs=False)["marts_published"]
    assert query(dsn, "select count(*) from marts.fct_indicator_value where indicator_code = 'dir_directive_docs' "
                      "and value in (61, 62)") == [(2,)]
    assert copied_whole == ["fct_dq_results"]
    assert sorted(started) == sorted(carried)  # each mart once, whichever session took it
    assert same("marts", "marts_next") == {}
    indexes = "select indexname from pg_indexes where schemaname = %s and tablename = 'fct_dq_results' order by 1"
    assert query(dsn, indexes, ("marts_next",)) == query(dsn, indexes, ("marts",)) != []
    run_dbt(dsn, config.load_settings().dbt_target_dir,
            ["build", "--full-refresh", "--selector", "publish", "--vars", json.dumps({"marts_schema": "marts_rebuilt"})])
    assert same("marts", "marts_rebuilt") == {}


def test_the_figures_relationships_are_tested_on_tonights_groups_unless_the_project_changed(pipeline_env,
                                                                                           monkeypatch):
    """fct_indicator_value's relationships tests read the unit-quarters tonight's build replaced: the figures it
    kept passed them when they were published, against the same dimensions. After an upgrade of the project (the
    indicator catalog among it) they read the whole mart again."""
    from ingestion.pipeline.dbt import DbtError

    inbox, dsn = pipeline_env["inbox"], pipeline_env["dsn"]
    generated_inbox(inbox, units=6, quarters=1, error_rate=0.0, seed=12, end=(2026, 2))
    assert nightly.run_all(docs=False)["marts_published"]
    files = [p for p in sorted(inbox.rglob("*.xlsx")) if "_registry" not in p.parts]
    (changed_unit,), = query(dsn, "select unit_code from raw.files where path = %s", (str(files[0].relative_to(inbox)),))

    def plant() -> None:  # a figure of no catalog indicator, in the copy the next build starts from, in a kept group
        conn = psycopg2.connect(dsn.url())
        with conn, conn.cursor() as cur:
            cur.execute("""update marts_next.fct_indicator_value set indicator_code = 'no_such_indicator'
                           where ctid = (select ctid from marts_next.fct_indicator_value
                                         where unit_code <> %s and indicator_code is not null limit 1)""",
                        (changed_unit,))
            assert cur.rowcount == 1
        conn.close()

    plant()
    set_figure(files[0], "Số văn bản chỉ đạo CCHC", 42)
    assert nightly.run_all(docs=False)["marts_published"]
    assert query(dsn, "select count(*) from marts.fct_indicator_value where indicator_code = 'no_such_indicator'") \
        == [(1,)]
    assert query(dsn, "select count(*) from marts.fct_indicator_value where indicator_code = 'dir_directive_docs' "
                      "and unit_code = %s and value = 42", (changed_unit,)) == [(1,)]

    plant()
    monkeypatch.setattr(nightly, "project_digest", lambda: "an upgraded project")
    monkeypatch.setattr(publish, "project_digest", lambda: "an upgraded project")
    set_figure(files[0], "Số văn bản chỉ đạo CCHC", 43)
    with pytest.raises(DbtError, match="relationships_fct_indicator_value_indicator_code"):
        nightly.run_all(docs=False)


def test_after_an_upgrade_rebuilds_the_marts_whole_the_standby_takes_them_despite_their_views(pipeline_env,
                                                                                              monkeypatch):
    """An upgrade that changes an incremental mart's columns rebuilds the marts whole, once: the standby is then
    copied whole, its BI views (which read its marts) made again by the next build, which is incremental."""
    inbox, dsn = pipeline_env["inbox"], pipeline_env["dsn"]
    generated_inbox(inbox, units=6, quarters=1, error_rate=0.0, seed=14, end=(2026, 2))
    assert nightly.run_all(docs=False)["marts_published"]
    files = [p for p in sorted(inbox.rglob("*.xlsx")) if "_registry" not in p.parts]
    set_figure(files[2], "Số văn bản chỉ đạo CCHC", 70)
    assert nightly.run_all(docs=False)["marts_published"]  # the standby is now a version dbt built
    views = "select count(*) from pg_views where schemaname = %s and viewname like 'bi\\_%%'"
    assert query(dsn, views, ("marts_next",))[0][0] >= 1  # with its own BI views, which read its marts
    conn = psycopg2.connect(dsn.url())
    with conn, conn.cursor() as cur:  # the columns an older version built the standby with
        cur.execute("alter table marts_next.fct_indicator_value add column retired_column integer")
    conn.close()
    builds = []
    real_dbt = publish.run_dbt
    monkeypatch.setattr(publish, "run_dbt", lambda *a, **kw: builds.append(a[2]) or real_dbt(*a, **kw))

    set_figure(files[0], "Số văn bản chỉ đạo CCHC", 71)
    upgraded = nightly.run_all(docs=False)
    assert upgraded["marts_published"] and "--full-refresh" in builds[-1]
    assert query(dsn, "select status from audit.load_runs where run_id = %s", (upgraded["run_id"],)) == [("success",)]
    carried = incremental_marts()
    live, standby = (marts_fingerprint(dsn, exclude_columns=(), schema=s) for s in ("marts", "marts_next"))
    assert {t: (live[t], standby.get(t)) for t in carried if live[t] != standby.get(t)} == {}

    set_figure(files[1], "Số văn bản chỉ đạo CCHC", 72)
    assert nightly.run_all(docs=False)["marts_published"]
    assert "--full-refresh" not in builds[-1]
    assert query(dsn, views, ("marts",)) == query(dsn, views, ("marts_next",))
    assert query(dsn, "select count(*) from marts.fct_indicator_value where indicator_code = 'dir_directive_docs' "
                      "and value in (71, 72)") == [(2,)]


def test_staged_figures_are_checked_once_as_they_enter_the_gate_and_kept_by_their_keys(pipeline_env):
    """raw.facts is not re-tested every night: its keys refuse a duplicate or orphan figure when it is written,
    and dbt's tests of a figure's kind, scope and indicator run on the figures entering the gate."""
    from ingestion.pipeline.dbt import DbtError

    inbox, dsn = pipeline_env["inbox"], pipeline_env["dsn"]
    generated_inbox(inbox, units=4, quarters=1, error_rate=0.0, seed=5, end=(2026, 1))
    run_id = nightly.new_run_id()
    nightly.start(run_id)
    nightly.ingest_stage(run_id)
    columns = "file_id, sheet, row_number, col_number, label, kind"
    with pytest.raises(psycopg2.errors.UniqueViolation):
        query(dsn, f"insert into raw.facts ({columns}) select {columns} from raw.facts limit 1")
    with pytest.raises(psycopg2.errors.ForeignKeyViolation, match="file_id [0-9]+, which raw.files does not hold"):
        query(dsn, f"""insert into raw.facts ({columns})
                       select max(file_id) + 1000, sheet, row_number, col_number, label, kind
                       from raw.facts group by sheet, row_number, col_number, label, kind limit 1""")
    with pytest.raises(psycopg2.errors.UniqueViolation):
        query(dsn, """insert into audit.dq_results (dq_result_id, run_id, rule_id, rule_kind, severity, status)
                       values (-1, 'x', 'r', 'k', 'info', 'pass'), (-1, 'x', 'r', 'k', 'info', 'pass')""")
    # Written as the load writes them (COPY): an orphan among figures of a known file refuses the statement.
    # A file that has figures cannot be deleted, renumbered or truncated away.
    (known,), = query(dsn, "select min(file_id) from raw.facts")
    figure = dict.fromkeys(load.FACT_COLUMNS) | {"sheet": "S", "row_number": 1, "label": "nhãn", "kind": "count",
                                                  "match": "unmatched", "scope": "unit"}
    rows = [tuple((figure | {"file_id": known, "col_number": 99}).values()),
            tuple((figure | {"file_id": known + 10**6, "col_number": 1}).values())]
    conn = psycopg2.connect(dsn.url())
    try:
        for statement in (lambda cur: copy_rows(cur, "raw.facts", load.FACT_COLUMNS, rows),
                          lambda cur: cur.execute("update raw.facts set file_id = -1 where file_id = %s", (known,)),
                          lambda cur: cur.execute("delete from raw.files where file_id = %s", (known,)),
                          lambda cur: cur.execute("update raw.files set file_id = -1 where file_id = %s", (known,)),
                          lambda cur: cur.execute("truncate raw.files cascade")):
            with pytest.raises(psycopg2.errors.ForeignKeyViolation), conn, conn.cursor() as cur:
                statement(cur)
    finally:
        conn.close()
    assert query(dsn, "select count(*) from raw.facts where file_id in (%s, -1) or col_number = 99", (known,)) == \
        query(dsn, "select n_facts::bigint from raw.files where file_id = %s", (known,))
    # A warehouse whose figures a foreign key kept (checked row by row) loses it when the next run sets it up.
    foreign_keys = "select count(*) from pg_constraint where conrelid = 'raw.facts'::regclass and contype = 'f'"
    conn = psycopg2.connect(dsn.url())
    with conn, conn.cursor() as cur:
        cur.execute("alter table raw.facts add constraint facts_file_id_fkey foreign key (file_id) references raw.files")
    conn.close()
    assert query(dsn, foreign_keys) == [(1,)]
    nightly.finish(run_id)
    run_id = nightly.new_run_id()
    nightly.start(run_id)
    assert query(dsn, foreign_keys) == [(0,)]

    # A figure of a kind no parser writes, entering the gate: the build stops and names the test.
    conn = psycopg2.connect(dsn.url())
    with conn, conn.cursor() as cur:
        cur.execute("update raw.facts set kind = 'weird' where (file_id, sheet, row_number, col_number) in "
                    "(select file_id, sheet, row_number, col_number from raw.facts limit 1)")
    conn.close()
    with pytest.raises(DbtError, match="accepted_values_int_facts_candidates_kind"):
        nightly.build_candidates(run_id)


def test_no_dbt_command_of_a_night_parses_the_whole_project_again(pipeline_env):
    """Those building marts_next (their --vars differ) keep their own partial-parse state."""
    from ingestion.pipeline.publish import build_dir

    inbox = pipeline_env["inbox"]
    generated_inbox(inbox, units=6, quarters=1, error_rate=0.0, seed=8, end=(2026, 2))
    nightly.run_all(docs=True)
    set_figure(next(p for p in sorted(inbox.rglob("*.xlsx")) if "_registry" not in p.parts), "Số văn bản chỉ đạo CCHC", 41)
    target = config.load_settings().dbt_target_dir
    logs = [target / "logs" / "dbt.log", build_dir(target) / "logs" / "dbt.log"]
    before = [log.stat().st_size for log in logs]
    second = nightly.run_all(docs=True)
    assert second["files_new"] == 1 and second["marts_published"]

    for log, offset in zip(logs, before, strict=True):
        with log.open(encoding="utf-8", errors="replace") as fh:
            fh.seek(offset)
            tonight = fh.read()
        assert "Partial parsing enabled" in tonight or "skipping parsing" in tonight, log
        assert "Starting full parse" not in tonight and "config vars" not in tonight, log
    # The models did not change since the first publication, where dbt's unit tests ran and passed.
    built = logs[1].read_bytes()
    assert built[:before[1]].count(b"Began running node unit_test.") >= 3
    assert b"Began running node unit_test." not in built[before[1]:]


def test_a_view_is_kept_while_its_definition_and_sources_stay(pipeline_env):
    """dbt makes every view again on every build; ours keeps one the database holds as this project made it
    (dbt_project/macros/relations_kept.sql), and makes it again when its definition changed, when it is gone, or
    when a rebuilt source table took it with it."""
    inbox, dsn = pipeline_env["inbox"], pipeline_env["dsn"]
    generated_inbox(inbox, units=4, quarters=1, error_rate=0.0, seed=21, end=(2026, 2))
    files = [p for p in sorted(inbox.rglob("*.xlsx")) if "_registry" not in p.parts]
    views_sql = ("select c.relname, c.oid from pg_class c join pg_namespace n on n.oid = c.relnamespace "
                 "where c.relkind = 'v' and n.nspname in ('staging', 'intermediate')")

    def night(figure: int) -> dict[str, int]:
        set_figure(files[0], "Số văn bản chỉ đạo CCHC", figure)
        assert nightly.run_all(docs=False)["status"] == "success"
        assert query(dsn, "select count(*) from marts.fct_indicator_value "
                          "where indicator_code = 'dir_directive_docs' and value = %s", (figure,)) == [(1,)]
        return dict(query(dsn, views_sql))

    first = night(61)
    assert {"stg_raw__files", "stg_raw__facts", "int_submission_latest", "int_submissions_basis"} <= set(first)
    second = night(62)
    assert set(second) == set(first)
    # Over the raw tables: kept. Over the submissions and their decisions, tables the build only adds to
    # (incremental): kept too. A view whose source a build makes again whole goes with it (cascade) and is
    # made again, as one dropped (below).
    assert second["stg_raw__files"] == first["stg_raw__files"]
    assert second["stg_raw__facts"] == first["stg_raw__facts"]
    assert second["int_submission_latest"] == first["int_submission_latest"]
    assert second["int_submissions_basis"] == first["int_submissions_basis"]

    # Made by another definition (as after an upgrade of the project), or dropped: made again.
    conn = psycopg2.connect(dsn.url())
    with conn, conn.cursor() as cur:
        cur.execute("update work.kept_relations set fingerprint = 'another project' where relation like '%stg_raw__files%'")
        cur.execute("drop view staging.stg_raw__parse_issues")
    conn.close()
    third = night(63)
    assert third["stg_raw__files"] != second["stg_raw__files"]
    assert "stg_raw__parse_issues" in third
    assert third["stg_raw__facts"] == second["stg_raw__facts"]


def test_the_tables_refuse_what_the_nightly_builds_no_longer_test(pipeline_env):
    """The staging layer does not test every night what PostgreSQL enforces on every row written
    (dbt_project/models/staging/_staging__models.yml): each write below breaks one such rule and is refused.
    Nor does the intermediate layer test a uniqueness its tables' unique indexes enforce, or its views' DISTINCT
    ON makes, or the constraints its tables declare (dbt_project/models/intermediate/_intermediate__models.yml,
    given to each table as it is made: macros/ensure_constraints.sql)."""
    from psycopg2 import errors

    dsn = pipeline_env["dsn"]
    generated_inbox(pipeline_env["inbox"], units=2, quarters=1, error_rate=0.0, seed=3, end=(2026, 2))
    assert nightly.run_all(docs=False)["marts_published"]
    for table, columns in {"int_submissions_enriched": "file_id", "int_submission_outcomes": "file_id",
                           "int_submissions_published": "unit_code, year, quarter"}.items():
        assert query(dsn, """select count(*) from pg_index where indrelid = %s::regclass and indisunique
                             and pg_get_indexdef(indexrelid) like %s""",
                     (f"intermediate.{table}", f"%({columns})")) == [(1,)], table
    assert "DISTINCT ON (submissions.unit_code, submissions.year, submissions.quarter)" in \
        query(dsn, "select pg_get_viewdef('intermediate.int_submissions_basis'::regclass)")[0][0]
    file_ = ("insert into raw.files (file_id, path, content_hash, size_bytes, status, run_id) "
             "values (%s, 'T01X0001/2026-Q2/bc.xlsx', 'h', 1, %s, 'r')")
    unit = "insert into raw.org_units (unit_code, name, level, source_hash) values (%s, 'Xã Một', 'commune', 'h')"
    gate = "insert into audit.submission_gate (file_id, run_id, decision, errors, warnings) values (%s, 'r', %s, 0, 0)"
    review = ("insert into audit.submission_review (review_id, file_id, content_hash, unit_code, year, quarter, decision,"
              " reason, reviewed_by, state_before, rule_results) values (%s, 9999001, 'h', 'T01X0001', 2026, 2, %s,"
              " 'đã kiểm tra lại với đơn vị', 'chuyên viên', 'held', '[]')")
    cases = {
        "raw.files: file_id never empty": ([(file_, (None, "loaded"))], errors.NotNullViolation),
        "raw.files: file_id unique": ([(file_, (9999001, "loaded"))] * 2, errors.UniqueViolation),
        "raw.files: status loaded or rejected": ([(file_, (9999001, "parsed"))], errors.CheckViolation),
        "raw.org_units: unit_code never empty": ([(unit, (None,))], errors.NotNullViolation),
        "raw.org_units: unit_code unique": ([(unit, ("T01X0001",))] * 2, errors.UniqueViolation),
        "raw.unit_mapping: weight never empty": ([("insert into raw.unit_mapping (old_code, new_code, weight, "
                                                   "effective_date, source_hash) values ('A', 'B', null, "
                                                   "'2025-07-01', 'h')", ())], errors.NotNullViolation),
        "audit.submission_gate: file_id never empty": ([(gate, (None, "accepted"))], errors.NotNullViolation),
        "audit.submission_gate: file_id unique": ([(file_, (9999001, "loaded"))] + [(gate, (9999001, "held"))] * 2,
                                                  errors.UniqueViolation),
        "audit.submission_gate: decision accepted or held": ([(file_, (9999001, "loaded")), (gate, (9999001, "maybe"))],
                                                             errors.CheckViolation),
        "audit.submission_review: review_id never empty": ([(file_, (9999001, "loaded")), (review, (None, "accept"))],
                                                           errors.NotNullViolation),
        "audit.submission_review: review_id unique": ([(file_, (9999001, "loaded"))] + [(review, (9999001, "reject"))] * 2,
                                                      errors.UniqueViolation),
        "audit.submission_review: decision accept or reject": ([(file_, (9999001, "loaded")),
                                                                (review, (9999001, "maybe"))], errors.CheckViolation),
    }
    published = "intermediate.int_submissions_published"
    last_published = f"(select file_id from {published} order by file_id desc limit 1)"
    first_outcome = "(select min(file_id) from intermediate.int_submission_outcomes)"
    assert query(dsn, f"select count(*) >= 2 from {published}") == [(True,)]
    intermediate = {
        "int_submissions_published: gate_seq never empty":
            (f"update {published} set gate_seq = null where file_id = {last_published}", errors.NotNullViolation),
        "int_submissions_published: gate_seq unique":
            (f"update {published} set gate_seq = (select min(gate_seq) from {published}) "
             f"where file_id = {last_published}", errors.UniqueViolation),
        "int_submission_outcomes: file_id never empty":
            (f"update intermediate.int_submission_outcomes set file_id = null where file_id = {first_outcome}",
             errors.NotNullViolation),
        "int_submission_outcomes: decision accepted, held or rejected":
            (f"update intermediate.int_submission_outcomes set decision = 'maybe' where file_id = {first_outcome}",
             errors.CheckViolation),
        "int_org_units_lineage: weight never empty":
            ("update intermediate.int_org_units_lineage set weight = null "
             "where ctid = (select min(ctid) from intermediate.int_org_units_lineage)", errors.NotNullViolation),
        "int_org_units_lineage: (unit_code, current_unit_code) unique":
            ("insert into intermediate.int_org_units_lineage select * from intermediate.int_org_units_lineage limit 1",
             errors.UniqueViolation),
    }
    cases.update({case: ([(statement, ())], error) for case, (statement, error) in intermediate.items()})
    conn = psycopg2.connect(dsn.url())
    refused = {}
    try:
        with conn.cursor() as cur:
            for case, (writes, error) in cases.items():
                cur.execute("savepoint attempt")
                try:
                    for statement, params in writes:
                        cur.execute(statement, params)
                except psycopg2.Error as exc:
                    refused[case] = type(exc)
                cur.execute("rollback to savepoint attempt")
                assert refused.get(case) is error, case
    finally:
        conn.rollback()
        conn.close()
    assert len(refused) == len(cases)


def test_a_table_made_from_the_registry_is_kept_until_the_registry_changes(pipeline_env):
    """The tables made from the registry, the catalog or the reviews alone (the dimensions, the registry's
    hierarchy) are kept by a night of new reports, in both copies of the marts (dbt_project/macros/
    relations_kept.sql), and so are the BI views over them; a registry change makes them again, in the copy
    the night builds and, the night after, in the other one."""
    import csv

    inbox, dsn = pipeline_env["inbox"], pipeline_env["dsn"]
    generated_inbox(inbox, units=4, quarters=1, error_rate=0.0, seed=23, end=(2026, 2))
    files = [p for p in sorted(inbox.rglob("*.xlsx")) if "_registry" not in p.parts]
    kept = ["dim_org_unit", "dim_indicator", "dim_period", "fct_submission_reviews", "bi_tthc_processing",
            "bi_finance", "int_org_units_lineage", "int_org_units_descendants"]
    rebuilt = ["fct_reporting_completeness", "bi_reporting_completeness"]  # made whole from tonight's statuses

    def night(figure: int) -> dict[str, set[int]]:
        """After a night that changed one figure: the oids of each relation, in marts, marts_next and intermediate."""
        set_figure(files[0], "Số văn bản chỉ đạo CCHC", figure)
        assert nightly.run_all(docs=False)["marts_published"]
        oids: dict[str, set[int]] = {}
        for name, oid in query(dsn, """select c.relname, c.oid::bigint from pg_class c
                                       join pg_namespace n on n.oid = c.relnamespace
                                       where n.nspname in ('marts', 'marts_next', 'intermediate')
                                         and c.relname = any(%s)""", (kept + rebuilt,)):
            oids.setdefault(name, set()).add(oid)
        return oids

    def names(unit: str) -> set[str]:
        """The unit's current name in the live dimension and in a BI view over it."""
        return {row[0] for row in query(dsn, "select unit_name from marts.dim_org_unit where unit_code = %s "
                                             "and is_current_record union select unit_name from "
                                             "marts.bi_tthc_processing where unit_code = %s", (unit, unit))}

    def snapshot_ran() -> bool:
        """Whether the last publication's build ran the registry's snapshot."""
        from ingestion.pipeline.publish import build_dir

        results = json.loads((build_dir(config.load_settings().dbt_target_dir) / "run_results.json").read_text())
        return any(r["unique_id"].startswith("snapshot.") for r in results["results"])

    night(61)
    assert snapshot_ran()  # the first publication
    second = night(62)  # the standby made after the first publication holds the incremental marts only
    third = night(63)
    assert not snapshot_ran()  # the registry as the last publication had it: nothing for the snapshot to record
    assert all(len(second[name]) == 2 for name in kept + rebuilt if not name.startswith("int_"))
    assert {name: third[name] for name in kept} == {name: second[name] for name in kept}
    assert all(len(third[name] - second[name]) == 1 for name in rebuilt)  # tonight's copy, made again

    # The registry renames the unit of the file corrected every night.
    unit = files[0].parent.parent.name
    registry = inbox / "_registry" / "org_units.csv"
    with registry.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    before = {r["name"] for r in rows if r["unit_code"] == unit}
    assert names(unit) == before and len(before) == 1
    for r in rows:
        if r["unit_code"] == unit:
            r["name"] = "Xã Đổi Tên"
    with registry.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    fourth = night(64)
    assert names(unit) == {"Xã Đổi Tên"}
    assert snapshot_ran() and query(dsn, "select count(*) from snapshots.snap_org_units where unit_code = %s",
                                    (unit,)) == [(2,)]
    # The submissions, built incrementally, are enriched again whole when the registry changed.
    assert query(dsn, "select distinct unit_name from intermediate.int_submissions_enriched where unit_code = %s",
                 (unit,)) == [("Xã Đổi Tên",)]
    assert query(dsn, "select count(*) from intermediate.int_submissions_enriched") == \
        query(dsn, "select count(*) from raw.files where status = 'loaded'")
    fifth = night(65)  # the copy in marts_next was made before the change: made again, not kept
    assert names(unit) == {"Xã Đổi Tên"} and not snapshot_ran()
    for name in ("dim_org_unit", "bi_tthc_processing"):
        assert fifth[name].isdisjoint(third[name]) and len(fifth[name] & fourth[name]) == 1, name
    # What does not read the registry is kept: the catalog's dimension. What reads it is made again, whichever
    # of its columns changed (the hierarchy reads the registry's rows whole).
    assert fifth["dim_indicator"] == third["dim_indicator"]
    assert fifth["int_org_units_descendants"].isdisjoint(third["int_org_units_descendants"])


def test_the_catalog_seeds_are_loaded_again_only_when_the_project_changed(pipeline_env, monkeypatch):
    """The seeds (indicator catalog, levels ...) are part of the dbt project: a night of new files builds on them
    as they were loaded; a night after the project changed (a new catalog) loads them again."""
    import re

    inbox = pipeline_env["inbox"]
    generated_inbox(inbox, units=3, quarters=1, error_rate=0.0, seed=14, end=(2026, 2))
    files = [p for p in sorted(inbox.rglob("*.xlsx")) if "_registry" not in p.parts]
    log = config.load_settings().dbt_target_dir / "logs" / "dbt.log"
    seeds = {p.stem for p in (config.DBT_PROJECT_DIR / "seeds").glob("*.csv")}

    def night(figure: int) -> set[str]:
        """The seeds tonight's build loaded."""
        offset = log.stat().st_size if log.exists() else 0
        set_figure(files[0], "Số văn bản chỉ đạo CCHC", figure)
        assert nightly.run_all(docs=False)["status"] == "success"
        with log.open(encoding="utf-8", errors="replace") as fh:
            fh.seek(offset)
            return set(re.findall(r"OK loaded seed file reference\.(\w+)", fh.read()))

    assert night(51) == seeds and len(seeds) >= 4
    assert night(52) == set()
    assert query(pipeline_env["dsn"], "select count(*) from marts.fct_indicator_value "
                                      "where indicator_code = 'dir_directive_docs' and value = 52") == [(1,)]
    monkeypatch.setattr(nightly, "project_digest", lambda: "an upgraded project")
    assert night(53) == seeds


def test_an_incremental_mart_is_analyzed_only_when_enough_of_it_changed(pipeline_env):
    """ANALYZE samples the whole table: a night that changes one file of thirty leaves the statistics of the
    incremental marts as they are (both copies: the one built and the standby refreshed)."""
    inbox, dsn = pipeline_env["inbox"], pipeline_env["dsn"]
    generated_inbox(inbox, units=30, quarters=1, error_rate=0.0, seed=9, end=(2026, 2))
    nightly.run_all(docs=False)
    files = [p for p in sorted(inbox.rglob("*.xlsx")) if "_registry" not in p.parts]

    def analyzed() -> dict[str, int]:
        return dict(query(dsn, """select schemaname, analyze_count from pg_stat_user_tables
                                  where relname = 'fct_indicator_value' and schemaname in ('marts', 'marts_next')"""))

    def raw_analyzed() -> dict[str, int]:
        return dict(query(dsn, """select relname, analyze_count from pg_stat_user_tables
                                  where schemaname = 'raw' and relname in ('files', 'facts')"""))

    assert all(count >= 1 for count in raw_analyzed().values()) and len(raw_analyzed()) == 2
    set_figure(files[0], "Số văn bản chỉ đạo CCHC", 41)
    assert nightly.run_all(docs=False)["marts_published"]
    before, raw_before = analyzed(), raw_analyzed()  # autovacuum's own analyses are counted apart (autoanalyze_count)
    set_figure(files[1], "Số văn bản chỉ đạo CCHC", 42)
    assert nightly.run_all(docs=False)["marts_published"]
    assert query(dsn, "select count(*) from marts.fct_indicator_value where indicator_code = 'dir_directive_docs' "
                      "and value in (41, 42)") == [(2,)]
    # The copies swapped places: each was built or refreshed with one file's rows, and not analyzed again.
    assert analyzed() == {"marts": before["marts_next"], "marts_next": before["marts"]}
    # Nor were the staged files and figures: one file of thirty-one versions.
    assert raw_analyzed() == raw_before
    # What the loader counts it wrote is enough on its own (its last writes may not be in the statistics yet).
    assert query(dsn, "select audit.analyze_if_stale('raw.facts'::regclass, 10), "
                      "audit.analyze_if_stale('raw.facts'::regclass, 1000000)") == [(False, True)]
    assert raw_analyzed()["facts"] == raw_before["facts"] + 1


def _declared_primary_keys() -> dict[str, list[str]]:
    import yaml

    spec = yaml.safe_load((config.DBT_PROJECT_DIR / "models" / "marts" / "_marts__models.yml").read_text(encoding="utf-8"))
    return {m["name"]: c["columns"] for m in spec["models"] for c in m.get("constraints", [])
            if c["type"] == "primary_key"}


def _primary_keys(dsn, schema: str) -> dict[str, list[str]]:
    rows = query(dsn, """select t.relname, array_agg(a.attname order by k.ord)
                         from pg_constraint c
                         join pg_class t on t.oid = c.conrelid
                         join pg_namespace n on n.oid = t.relnamespace
                         cross join lateral unnest(c.conkey) with ordinality as k(attnum, ord)
                         join pg_attribute a on a.attrelid = t.oid and a.attnum = k.attnum
                         where c.contype = 'p' and n.nspname = %s
                         group by t.relname""", (schema,))
    return {table: list(columns) for table, columns in rows}


def _declared_column_constraints() -> dict[str, tuple[set, set]]:
    """Per mart: the columns declared NOT NULL, and the names of its declared CHECK constraints."""
    import yaml

    spec = yaml.safe_load((config.DBT_PROJECT_DIR / "models" / "marts" / "_marts__models.yml").read_text(encoding="utf-8"))
    declared = {}
    for m in spec["models"]:
        constraints = [(c["name"], k) for c in m["columns"] for k in c.get("constraints", [])]
        if constraints:
            declared[m["name"]] = ({name for name, k in constraints if k["type"] == "not_null"},
                                   {k["name"] for _, k in constraints if k["type"] == "check"})
    return declared


def _column_constraints(dsn, schema: str, tables) -> dict[str, tuple[set, set]]:
    found = {}
    for table in tables:
        not_null = {r[0] for r in query(dsn, """select attname from pg_attribute
                                                where attrelid = %s::regclass and attnotnull and attnum > 0""",
                                        (f"{schema}.{table}",))}
        checks = {r[0] for r in query(dsn, "select conname from pg_constraint where conrelid = %s::regclass and contype = 'c'",
                                      (f"{schema}.{table}",))}
        found[table] = (not_null, checks)
    return found


def _missing(declared: dict, found: dict) -> dict:
    return {t: (nn - found[t][0], ck - found[t][1]) for t, (nn, ck) in declared.items()
            if nn - found[t][0] or ck - found[t][1]}


def test_incremental_marts_are_guarded_by_their_declared_primary_keys(pipeline_env):
    inbox, dsn = pipeline_env["inbox"], pipeline_env["dsn"]
    generated_inbox(inbox, units=12, quarters=1, error_rate=0.0, seed=8, end=(2026, 2))
    first = nightly.run_all(docs=False)
    declared = _declared_primary_keys()
    assert {"fct_indicator_value", "fct_indicator_rollup", "fct_dq_results"} <= set(declared)
    assert _primary_keys(dsn, "marts") == declared
    # Their columns' NOT NULL and CHECK constraints too, in both copies (instead of whole-table tests each night).
    columns = _declared_column_constraints()
    assert {"fct_indicator_value", "fct_indicator_rollup", "fct_dq_results"} <= set(columns)
    assert "scope" in columns["fct_indicator_value"][0] and "fct_indicator_value_scope_known" in columns["fct_indicator_value"][1]
    assert _missing(columns, _column_constraints(dsn, "marts", columns)) == {}
    carried = {t: v for t, v in columns.items() if t in incremental_marts()}
    assert _missing(carried, _column_constraints(dsn, "marts_next", carried)) == {}
    # After the first publication the standby holds what the next build reuses: the incremental marts, keys and all.
    assert _primary_keys(dsn, "marts_next") == {t: k for t, k in declared.items() if t in incremental_marts()}
    assert set(query(dsn, "select indexname from pg_indexes where schemaname = 'marts' and tablename = 'fct_indicator_value'")) \
        == set(query(dsn, "select indexname from pg_indexes where schemaname = 'marts_next' and tablename = 'fct_indicator_value'"))

    # A mart built before its key and column constraints were declared (an older warehouse) is given them on
    # its next build.
    conn = psycopg2.connect(dsn.url())
    with conn, conn.cursor() as cur:
        cur.execute("alter table marts_next.fct_indicator_value drop constraint fct_indicator_value_pkey")
        cur.execute("alter table marts_next.fct_indicator_value drop constraint fct_indicator_value_scope_known")
        cur.execute("alter table marts_next.fct_indicator_value alter column file_id drop not null")
        cur.execute("alter table marts_next.fct_dq_results drop constraint fct_dq_results_status_known")
    conn.close()
    assert "fct_indicator_value" not in _primary_keys(dsn, "marts_next")
    assert _missing(carried, _column_constraints(dsn, "marts_next", carried)) == {
        "fct_indicator_value": ({"file_id"}, {"fct_indicator_value_scope_known"}),
        "fct_dq_results": (set(), {"fct_dq_results_status_known"})}
    assert nightly.publish_stage(first["run_id"], force=True)["published"]
    assert _primary_keys(dsn, "marts") == declared
    assert _missing(columns, _column_constraints(dsn, "marts", columns)) == {}

    # The constraints, not nightly full-table tests, keep a figure's scope and lineage known ...
    one = "where ctid = (select ctid from marts.fct_indicator_value limit 1)"
    with pytest.raises(psycopg2.errors.CheckViolation):
        query(dsn, f"update marts.fct_indicator_value set scope = 'nowhere' {one}")
    with pytest.raises(psycopg2.errors.NotNullViolation):
        query(dsn, f"update marts.fct_indicator_value set file_id = null {one}")
    with pytest.raises(psycopg2.errors.CheckViolation):
        query(dsn, "update marts.fct_dq_results set status = 'maybe' "
                   "where ctid = (select ctid from marts.fct_dq_results limit 1)")
    with pytest.raises(psycopg2.errors.UniqueViolation):  # the DQ history's key: each evaluation once
        query(dsn, "insert into marts.fct_dq_results select * from marts.fct_dq_results limit 1")

    # The key, not a nightly full-table test, keeps its columns filled ...
    with pytest.raises(psycopg2.errors.NotNullViolation):
        query(dsn, """update marts.fct_indicator_value set sheet = null
                      where ctid = (select ctid from marts.fct_indicator_value limit 1)""")
    # ... and stops a figure from being published twice.
    row = query(dsn, "select unit_code, year, quarter, indicator_code from marts.fct_indicator_value limit 1")[0]
    with pytest.raises(psycopg2.errors.UniqueViolation):
        query(dsn, """insert into marts.fct_indicator_value
                      select * from marts.fct_indicator_value
                      where unit_code = %s and year = %s and quarter = %s and indicator_code = %s""", row)
