"""`cchc catalog unmatched`: labels no indicator matched, grouped for the data team; the nightly
summary counts them and points at the list written for each run."""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from report_workbooks import REPORTS, Report, build, build_inbox, expected, row, write_registry

REPO = Path(__file__).resolve().parents[1]
CCHC = str(REPO / ".venv" / "bin" / "cchc")
TITLE = ["UBND TỈNH LÂM ĐỒNG", "BIỂU MẪU THỐNG KÊ SỐ LIỆU BÁO CÁO CẢI CÁCH HÀNH CHÍNH QUÝ I NĂM 2020"]


def _report(unit: str, label: str) -> Report:
    return Report(f"r_{unit}", unit, "2020-Q1", TITLE, [("Biểu mẫu 3", [
        row("1", "Cấp huyện"),
        row("1.1", "Tổng số hồ sơ tiếp nhận", "Hồ sơ", "340.060", "tthc_dossiers_received_total", "district"),
        row("1.2", label, "Hồ sơ", "969", None, "district"),
        row("2", "Số cây xanh trồng mới", "Cây", "12", None),
    ])])


def run(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CCHC_")}
    proc = subprocess.run([CCHC, *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def test_unmatched_labels_grouped_with_form_scope_files_and_nearest(tmp_path):
    inbox = tmp_path / "inbox"
    # two units type the same label differently (case, spacing): one group
    build(_report("A", "Số hồ sơ chậm muộn chưa có kết quả"), inbox / "A" / "2020-Q1" / "a.xlsx")
    build(_report("B", "SỐ HỒ SƠ  CHẬM MUỘN chưa có kết quả"), inbox / "B" / "2020-Q1" / "b.xlsx")
    write_registry(inbox / "_registry")  # not a report: skipped
    out = tmp_path / "unmatched.json"
    proc = run("catalog", "unmatched", str(inbox), "--json", str(out))
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert (doc["files_read"], doc["labels"], doc["figures"]) == (2, 2, 4)
    groups = {g["key"]: g for g in doc["unmatched"]}
    late = groups["so ho so cham muon chua co ket qua"]
    assert (late["key"], late["forms"], late["scopes"], late["files"], late["figures"]) == (
        "so ho so cham muon chua co ket qua", [3], ["district"], 2, 2)
    assert late["example"] == {"file": "A/2020-Q1/a.xlsx", "sheet": "Biểu mẫu 3", "row": 8}
    assert [n["indicator"] for n in late["nearest"]][:1] == ["tthc_dossiers_pending_overdue"]
    assert all(0 < n["score"] <= 1 for n in late["nearest"])
    trees = groups["so cay xanh trong moi"]
    assert (trees["label"], trees["scopes"], trees["reasons"]) == ("Số cây xanh trồng mới", ["unit"], ["unmatched"])
    # and for people, in Vietnamese
    assert "“Số hồ sơ chậm muộn chưa có kết quả” — Biểu mẫu 3 — cấp huyện — 2 tệp, 2 số liệu" in proc.stdout
    assert "ví dụ / example: A/2020-Q1/a.xlsx, trang “Biểu mẫu 3”, dòng 8" in proc.stdout


def test_unmatched_on_a_missing_folder(tmp_path):
    proc = run("catalog", "unmatched", str(tmp_path / "nope"))
    assert proc.returncode == 2 and "nope" in proc.stderr


@pytest.mark.e2e
def test_nightly_summary_counts_unmatched_figures_and_writes_the_list(pipeline_env, monkeypatch):
    from ingestion import config
    from ingestion.cli import format_summary
    from ingestion.pipeline import nightly

    from conftest import query

    inbox = pipeline_env["inbox"]
    build_inbox(inbox)
    monkeypatch.setenv(config.ENV_REGISTRY, str(write_registry(inbox / "_registry")))
    summary = nightly.run_all(docs=False)
    unmatched = [r for report in REPORTS for r in expected(report).values() if r.indicator is None]
    assert summary["facts_unmatched"] == len(unmatched) > 1
    listed = json.loads(Path(summary["unmatched_list"]).read_text(encoding="utf-8"))
    assert sum(g["figures"] for g in listed["unmatched"]) == len(unmatched)
    assert "Số hồ sơ chậm hạn và quá hạn chưa có kết quả" in [g["label"] for g in listed["unmatched"]]
    text = format_summary(summary, config.load_settings())
    assert (f"Số liệu chưa khớp danh mục / unmatched figures: {len(unmatched)} "
            f"(danh sách / list: {summary['unmatched_list']})") in text
    # the figure itself is kept, in raw and in the published marts
    assert query(pipeline_env["dsn"], """select value from marts.fct_indicator_value
                                          where indicator_code is null and unit_code = 'TTPVHCC'""") == [(37,)]
