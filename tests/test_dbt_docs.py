"""The dbt docs page: generated when what it describes changes, not on every night that loads data."""
from __future__ import annotations

import pytest
from conftest import generated_inbox, query

from ingestion import config
from ingestion.pipeline import nightly
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
