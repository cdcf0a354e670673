"""The ingest stage split into batches that Celery workers share (the DAG's mapped ingest_batch)."""
from __future__ import annotations

from pathlib import Path

from conftest import generated_inbox, query

from ingestion.pipeline import nightly
from ingestion.pipeline.inbox import InboxFile
from ingestion.pipeline.load import Candidate, FilePlan, _candidate, split_plan


def _file(rel: str, mtime: float) -> Candidate:
    unit, period, _ = rel.split("/")
    f = InboxFile(f"/inbox/{rel}", rel, 10, mtime, unit, int(period[:4]), int(period[-1]))
    return Candidate(f, "h-" + rel, retry=False, folder_files=(rel.rsplit("/", 1)[-1],))


def test_split_plan_keeps_every_version_of_a_unit_in_one_batch_in_order():
    new = [_file("A/2025-Q4/a.xlsx", 1), _file("B/2025-Q4/b.xlsx", 2), _file("A/2025-Q4/a2.xlsx", 3),
           _file("C/2025-Q4/c.xlsx", 4), _file("B/2026-Q1/b.xlsx", 5), _file("D/2026-Q1/d.xlsx", 6)]
    batches = split_plan(FilePlan(found=6, new=new, unchanged=0), files_per_batch=3)
    assert [[r["rel"] for r in b] for b in batches] == [
        ["A/2025-Q4/a.xlsx", "A/2025-Q4/a2.xlsx"],  # B's two files would not fit beside A's
        ["B/2025-Q4/b.xlsx", "B/2026-Q1/b.xlsx", "C/2025-Q4/c.xlsx"],
        ["D/2026-Q1/d.xlsx"],
    ]
    # a record comes back as the candidate it was, under the worker's own view of the shared inbox
    assert [_candidate(Path("/inbox"), r) for b in batches for r in b] == [new[i] for i in (0, 2, 1, 4, 3, 5)]
    assert _candidate(Path("/mnt/share"), batches[0][0]).file.path == Path("/mnt/share/A/2025-Q4/a.xlsx")
    # a unit with more files than a batch holds stays whole
    assert [r["rel"] for r in split_plan(FilePlan(found=6, new=new, unchanged=0), files_per_batch=1)[0]] == [
        "A/2025-Q4/a.xlsx", "A/2025-Q4/a2.xlsx"]


def test_batches_load_like_one_ingest_and_a_rerun_batch_stores_nothing_twice(pipeline_env, monkeypatch):
    inbox, dsn = pipeline_env["inbox"], pipeline_env["dsn"]
    manifest = generated_inbox(inbox, units=6, quarters=2, error_rate=0.3, seed=4, end=(2025, 4))
    monkeypatch.setenv("CCHC_INGEST_BATCH_FILES", "4")
    run = nightly.new_run_id()
    nightly.start(run)
    batches = nightly.discover(run, batches=True)["batches"]
    assert len(batches) >= 3 and sum(map(len, batches)) == manifest["files"]
    for batch in batches:
        nightly.ingest_batch_stage(run, batch, workers=1)
    nightly.ingest_batch_stage(run, batches[0], workers=1)  # a retried task: its files are there already
    summary = nightly.ingest_summary_stage(run)
    assert query(dsn, "select count(*), count(distinct path) from raw.files")[0] == (manifest["files"],) * 2
    assert summary["loaded"] + summary["rejected"] == manifest["files"]
    assert summary["facts"] == query(dsn, "select count(*) from raw.facts")[0][0] > 0
    row = query(dsn, "select files_loaded, files_rejected, facts_staged, stage_seconds ? 'parse' "
                     "from audit.load_runs where run_id = %s", (run,))[0]
    assert row == (summary["loaded"], summary["rejected"], summary["facts"], True)
