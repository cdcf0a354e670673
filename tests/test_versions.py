"""Versions across nights: a unit that drops a superseded version again is held for review, and the
newer version it replaced stays published (ingestion/pipeline/versions.py, rule version_not_reverted)."""
from __future__ import annotations

import pytest
from conftest import generated_inbox, query, with_figure

from ingestion import config
from ingestion.pipeline import nightly

pytestmark = pytest.mark.e2e


def _with_directive_docs(data: bytes, value: int) -> bytes:
    return with_figure(data, "Số văn bản chỉ đạo CCHC", value)


def _published(dsn, unit, year, quarter):
    return query(dsn, """select file_id, value from marts.fct_indicator_value where unit_code = %s and year = %s
                         and quarter = %s and indicator_code = 'dir_directive_docs'""", (unit, year, quarter))


def test_a_superseded_version_dropped_again_is_held(pipeline_env):
    inbox, dsn = pipeline_env["inbox"], pipeline_env["dsn"]
    generated_inbox(inbox, units=6, quarters=1, error_rate=0.0, seed=9, end=(2026, 3))
    path = sorted(p for p in inbox.rglob("*.xlsx") if "_registry" not in p.parts)[0]
    rel = path.relative_to(inbox).as_posix()
    unit, period = rel.split("/")[:2]
    year, quarter = int(period[:4]), int(period[-1])
    first = path.read_bytes()
    nightly.run_all(docs=False)
    original = _published(dsn, unit, year, quarter)

    path.write_bytes(_with_directive_docs(first, 41))  # the unit corrects its report: version 2
    nightly.run_all(docs=False)
    corrected = _published(dsn, unit, year, quarter)
    assert corrected[0][1] == 41 and corrected != original

    path.write_bytes(first)  # ... and later copies its first file back over it
    summary = nightly.run_all(docs=False)
    assert [(h["unit_code"], h["errors"]) for h in summary["held"]] == [(unit, 1)]
    assert _published(dsn, unit, year, quarter) == corrected  # the newer version stays published
    versions = query(dsn, "select file_id from raw.files where path = %s order by file_id", (rel,))
    assert len(versions) == 3
    (message,), = query(dsn, """select message from audit.dq_results where file_id = %s and status = 'fail'""",
                        (versions[2][0],))
    name = path.name
    assert message.startswith(f"Tệp giống hệt phiên bản thứ 1 (“{name}”) của quý III/2026, vốn đã được thay bằng "
                              f"phiên bản thứ 2 (“{name}”)"), message
    report = next((config.load_settings().reports_dir / summary["reports_dir"]).rglob(f"{unit}/*.html"))
    assert "phiên bản thứ 1" in report.read_text(encoding="utf-8")
