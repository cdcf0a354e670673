"""A new user's first hour, after one run through Airflow as `make run` does it.

- Every page the run's summary names opens from disk in headless Chromium, with no network:
  any request that is not file:, data: or blob: fails the test (no CDN may be needed), and each
  page must show its content (dbt docs: the models, not "(loading)").
- A BI tool connected with `cchc db url --bi` (SQLAlchemy/pandas, psql) reads the marts, and
  every table, view and column there carries its Vietnamese description.
"""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import generated_inbox

from ingestion import config
from ingestion.airflow_local import run_dag_once
from ingestion.cli import format_summary, main
from ingestion.pipeline import nightly
from ingestion.warehouse.connection import connect, warehouse_dsn

pytestmark = pytest.mark.e2e

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run"]
LOCAL = ("file:", "data:", "blob:", "about:")
# What each page must show once rendered.
EXPECTED = {"index.html": "Phản hồi cho các đơn vị", "dq.html": "Kết quả kiểm tra chất lượng",
            "static_index.html": "Kho dữ liệu CCHC", ".log": "CCHC_DAG_STATE=success"}
# dbt docs: a mart's page too, with its Vietnamese description
DBT_MODEL = ("#!/model/model.cchc_warehouse.fct_tthc_processing", "Giải quyết thủ tục hành chính theo đơn vị và quý")


def summary_paths(text: str) -> list[Path]:
    """Absolute paths of files the summary prints (the lines of its "open in a browser" block)."""
    return [Path(m) for m in re.findall(r"(/\S+\.(?:html|log))\s*$", text, re.MULTILINE)]


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists() or shutil.which("chromium") is None:
        pytest.fail("chromium is missing: scripts/ensure-system-deps.sh installs it (make test runs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield b
        b.close()


def test_summary_pages_open_offline_and_bi_reads_documented_marts(pipeline_env, browser, capsys):
    generated_inbox(pipeline_env["inbox"], units=6, quarters=1, error_rate=0.3, seed=3, end=(2025, 4))
    settings = config.load_settings()
    run_id, ok, log = run_dag_once(settings)
    assert ok, log.read_text()[-3000:]
    conn = connect(warehouse_dsn(settings))
    try:
        text = format_summary(nightly.summary(conn, run_id), settings, log)
    finally:
        conn.close()

    paths = summary_paths(text)
    assert {p.name for p in paths} >= {"index.html", "dq.html", "static_index.html"}, text
    assert any(p.suffix == ".log" for p in paths), text
    for path in paths:
        assert path.is_file(), f"{path} named in the summary does not exist"
        page = browser.new_page()
        remote: list[str] = []
        page.route("**/*", lambda route, remote=remote: (remote.append(route.request.url), route.abort())
                   if not route.request.url.startswith(LOCAL) else route.continue_())
        failed: list[str] = []
        # dbt docs asks for unrendered template URLs ("{{ getIcon(..) }}", "${require(favicon)}"): its own
        # quirk, not a missing file
        page.on("requestfailed", lambda req, failed=failed: failed.append(req.url)
                if req.url.startswith("file:") and "%7B" not in req.url else None)
        page.goto(path.as_uri(), wait_until="load")
        page.wait_for_timeout(1500)  # dbt docs renders with Angular after load
        body = page.inner_text("body")
        key = path.name if path.name in EXPECTED else path.suffix
        assert EXPECTED[key] in body, f"{path}: expected text missing; page shows: {body[:300]!r}"
        assert "(loading)" not in body, path
        assert remote == [], f"{path} tried to load from the network: {remote[:5]}"
        assert failed == [], f"{path}: local files missing: {failed[:5]}"
        if path.name == "static_index.html":
            page.goto(path.as_uri() + DBT_MODEL[0], wait_until="load")
            page.wait_for_timeout(1500)
            assert DBT_MODEL[1] in page.inner_text("body")
            assert remote == []
        page.close()

    # BI: the printed URL works in SQLAlchemy (pandas) and psql, as the read-only role
    capsys.readouterr()
    assert main(["db", "url", "--bi"]) == 0
    url = capsys.readouterr().out.strip()
    assert url.startswith("postgresql://bi_reader")
    import pandas as pd
    import sqlalchemy

    engine = sqlalchemy.create_engine(url)
    frame = pd.read_sql("select unit_name, quarter_start, quarter_end, on_time_rate_recomputed "
                        "from marts.bi_tthc_processing order by quarter_start", engine)
    assert len(frame) > 0 and frame["unit_name"].notna().all() and frame["quarter_start"].notna().all()
    with engine.connect() as conn:  # every relation and column BI sees is described, in Vietnamese first
        undocumented = conn.exec_driver_sql("""
            select c.relname || '.' || coalesce(a.attname, '')
            from pg_class c join pg_namespace n on n.oid = c.relnamespace
            left join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
                                    and col_description(c.oid, a.attnum) is null
            where n.nspname = 'marts' and c.relkind in ('r', 'v')
              and (a.attname is not null or obj_description(c.oid, 'pg_class') is null)""").scalars().all()
        assert undocumented == []
        relations = conn.exec_driver_sql("""select count(*) from pg_class c join pg_namespace n on n.oid = c.relnamespace
                                            where n.nspname = 'marts' and c.relkind in ('r', 'v')""").scalar()
        assert relations >= 17
    engine.dispose()
    psql = subprocess.run(["psql", url, "-c", r"\d+ marts.fct_tthc_processing"], capture_output=True, text=True,
                          check=True).stdout
    assert "Tỷ lệ hồ sơ TTHC được tiếp nhận trực tuyến mức độ 3 và 4" in psql  # online_rate_recomputed
    assert "tính lại từ số đếm: 100 × dossiers_received_l34_online / dossiers_received_l34" in psql
