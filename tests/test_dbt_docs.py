"""The dbt docs page: generated when what it describes changes, not on every night that loads data."""
from __future__ import annotations

import shutil

import pytest
from conftest import generated_inbox, query

from ingestion import config
from ingestion.pipeline import nightly
from ingestion.pipeline.dbt import DbtError, imported_ahead
from ingestion.warehouse.connection import connect

pytestmark = pytest.mark.e2e


def test_docs_are_generated_again_only_when_the_project_or_the_relations_change(pipeline_env, monkeypatch):
    dsn = pipeline_env["dsn"]
    generated_inbox(pipeline_env["inbox"], units=3, quarters=1, error_rate=0.0, seed=2, end=(2025, 4))
    assert nightly.run_all(docs=True)["status"] == "success"
    settings = config.load_settings()
    page = nightly.dbt_docs_page(settings)
    assert page.exists() and nightly.docs_key_path(settings).exists()
    run_id = query(dsn, "select run_id from audit.load_runs where marts_published order by started_at desc limit 1")[0][0]

    commands: list[list[str]] = []
    real = nightly.run_dbt
    monkeypatch.setattr(nightly, "run_dbt", lambda d, target, args, **kw: commands.append(args) or real(d, target, args, **kw))
    nightly.report_stage(run_id, settings, docs=True)  # a published night, the same project and relations
    assert not [c for c in commands if c[:1] == ["docs"]]
    assert page.exists()

    conn = connect(dsn)
    try:
        with conn.cursor() as cur:
            cur.execute("alter table raw.files add column docs_probe integer")  # what an upgrade does
        conn.commit()
        nightly.report_stage(run_id, settings, docs=True)
    finally:
        conn.close()
    assert [c for c in commands if c[:1] == ["docs"]] == [["docs", "generate", "--static"]]


def test_the_docs_page_generated_beside_the_reports_costs_the_units_no_report(pipeline_env, monkeypatch):
    """Where dbt runs in its own process the page is generated while the reports are written: its failure
    fails the stage, after every report was written, and leaves no key claiming the page is up to date."""
    dsn = pipeline_env["dsn"]
    generated_inbox(pipeline_env["inbox"], units=3, quarters=1, error_rate=0.0, seed=4, end=(2025, 4))
    assert nightly.run_all(docs=False)["status"] == "success"
    settings = config.load_settings()
    run_id = query(dsn, "select run_id from audit.load_runs where marts_published order by started_at desc limit 1")[0][0]
    current = settings.reports_dir / "current"
    written = sorted(path.relative_to(current) for path in current.rglob("*.xlsx"))
    assert written  # every unit-quarter of the registry has its current report
    shutil.rmtree(settings.reports_dir)
    real = nightly.run_dbt

    def failing_docs(d, target, args, **kw):
        if args[:1] == ["docs"]:
            real(d, target, ["show", "--inline", "select 1 / 0 as broken_page"], **kw)
        return real(d, target, args, **kw)

    monkeypatch.setattr(nightly, "run_dbt", failing_docs)
    with imported_ahead():
        assert nightly.runs_in_own_process()
        with pytest.raises(DbtError, match="division by zero"):
            nightly.report_stage(run_id, settings, docs=True)
    assert sorted(path.relative_to(current) for path in current.rglob("*.xlsx")) == written
    assert not nightly.docs_key_path(settings).exists() and not nightly.dbt_docs_page(settings).exists()

    with imported_ahead():  # and the next night's stage makes the page
        monkeypatch.setattr(nightly, "run_dbt", real)
        assert nightly.report_stage(run_id, settings, docs=True)["dbt_docs"] == str(nightly.dbt_docs_page(settings))
    assert nightly.dbt_docs_page(settings).exists() and nightly.docs_key_path(settings).exists()
