"""The command-line contract of `cchc extract` and `cchc check`: JSON shapes, messages, exit codes."""
from __future__ import annotations

import json
import os
import subprocess
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from ingestion.indicators import load_catalog
from cchc_tools.demo.generator import generate
from ingestion.workbook.writer import Sheet, workbook_bytes
from seed_workbooks import build

REPO = Path(__file__).resolve().parents[1]
CCHC = str(REPO / ".venv" / "bin" / "cchc")
GOLDEN = Path(__file__).parent / "fixtures" / "golden"
FACT_KEYS = {"sheet", "row", "stt", "label", "unit", "raw", "value", "indicator", "scope"}
SCOPES = {"unit", "department", "district", "commune"}
LAM_THAO_SENTENCE = ("Biểu mẫu 7, dòng 179: Tỷ lệ hồ sơ TTHC được tiếp nhận trực tuyến mức độ 3 và 4 "
                     "76,74% nhưng 5.620/7.725 = 72,75%")


def run(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    for name in ("CCHC_REGISTRY", "CCHC_UNIT_MAPPING", "CCHC_PARSER"):
        env.pop(name, None)
    proc = subprocess.run([CCHC, *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


@pytest.fixture(scope="module")
def lam_thao(tmp_path_factory) -> Path:
    return build("002", tmp_path_factory.mktemp("seed") / "LAMTHAO" / "2023-Q3" / "x.xlsx")


@pytest.fixture(scope="module")
def consistent(tmp_path_factory) -> list[Path]:
    out = tmp_path_factory.mktemp("gen") / "inbox"
    generate(out, units=12, quarters=1, error_rate=0.0, seed=5, end=(2026, 3), truth=False)
    return sorted(out.rglob("*.xlsx"))


@pytest.fixture(scope="module")
def with_fraction(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("frac") / "UNITX" / "2024-Q2" / "phu_luc.xlsx"
    path.parent.mkdir(parents=True)
    path.write_bytes(workbook_bytes([Sheet("Biểu mẫu 7", [
        ["BIỂU MẪU THỐNG KÊ SỐ LIỆU BÁO CÁO CẢI CÁCH HÀNH CHÍNH QUÝ II NĂM 2024"],
        [],
        ["STT", "Chỉ tiêu", "Đơn vị tính", "Số liệu", "Ghi chú"],
        ["1.", "Tỷ lệ hồ sơ TTHC được tiếp nhận trực tuyến mức độ 3 và 4", "%", "100% (18/18)", None],
        ["1.1.", "Tổng số hồ sơ TTHC đã tiếp nhận (cả trực tiếp và trực tuyến)", "Hồ sơ", "18", None],
        ["1.2.", "Số hồ sơ TTHC đã tiếp nhận trực tuyến", "Hồ sơ", "18", None],
        ["2.", "Số dòng không có trong danh mục", "Văn bản", "-", "ghi chú"],
    ])]))
    return path


# -- extract --------------------------------------------------------------------------------------

def test_extract_json_facts(lam_thao):
    proc = run("extract", str(lam_thao), "--json")
    assert proc.returncode == 0
    doc = json.loads(proc.stdout)
    assert set(doc) == {"facts"}
    facts = doc["facts"]
    golden = json.loads((GOLDEN / "seed_002.json").read_text(encoding="utf-8"))["facts"]
    assert len(facts) == len(golden)
    codes = set(load_catalog().indicators)
    for fact, g in zip(facts, golden):
        assert set(fact) == FACT_KEYS
        assert isinstance(fact["row"], int) and not isinstance(fact["row"], bool)
        assert fact["value"] is None or (isinstance(fact["value"], (int, float)) and not isinstance(fact["value"], bool))
        assert fact["indicator"] is None or fact["indicator"] in codes
        assert fact["scope"] in SCOPES
        want = None if g["value"] is None else Decimal(g["value"])
        got = None if fact["value"] is None else Decimal(str(fact["value"]))
        assert (fact["sheet"], fact["row"], fact["label"], fact["indicator"], fact["scope"], got) == \
            (g["sheet"], g["row"], g["label"], g["indicator"], g["scope"], want)
    by_row = {f["row"]: f for f in facts}
    assert (by_row[72]["indicator"], by_row[72]["scope"]) == ("tthc_dossiers_resolved_district", "district")
    assert (by_row[75]["indicator"], by_row[75]["scope"]) == ("tthc_dossiers_resolved_commune", "commune")


def test_extract_rows_are_excel_rows(lam_thao):
    facts = json.loads(run("extract", str(lam_thao), "--json").stdout)["facts"]
    ws = openpyxl.load_workbook(lam_thao)[facts[0]["sheet"]]
    for fact in facts:
        assert ws.cell(fact["row"], 2).value is not None  # the label column
        raw = ws.cell(fact["row"], 4).value  # the figure column
        assert (None if raw is None else str(raw).strip()) == fact["raw"], fact
    rate = next(f for f in facts if f["indicator"] == "egov_online_dossier_rate")
    assert rate["row"] == 179 and rate["raw"] == "76,74" and rate["value"] == 76.74


def test_extract_detail_adds_fraction(with_fraction):
    plain = json.loads(run("extract", str(with_fraction), "--json").stdout)["facts"]
    assert all(set(f) == FACT_KEYS for f in plain)
    proc = run("extract", str(with_fraction), "--json", "--detail")
    assert proc.returncode == 0
    facts = json.loads(proc.stdout)["facts"]
    assert all(set(f) >= FACT_KEYS | {"numerator", "denominator"} for f in facts)
    rate = facts[0]
    assert (rate["row"], rate["indicator"], rate["value"], rate["numerator"], rate["denominator"]) == \
        (4, "egov_online_dossier_rate", 100, 18, 18)
    assert facts[1]["numerator"] is None and facts[1]["value"] == 18
    unknown = facts[-1]
    assert (unknown["row"], unknown["indicator"], unknown["value"], unknown["raw"]) == (7, None, None, "-")


def test_extract_unreadable_file(tmp_path):
    bad = tmp_path / "x.xlsx"
    bad.write_bytes(b"%PDF-1.4\n")
    proc = run("extract", str(bad), "--json")
    assert proc.returncode == 2
    doc = json.loads(proc.stdout)
    assert doc["facts"] == []
    assert str(bad) in doc["errors"][0]["message"]


def test_extract_missing_file(tmp_path):
    proc = run("extract", str(tmp_path / "khong_co.xlsx"), "--json")
    assert proc.returncode == 2


# -- check ----------------------------------------------------------------------------------------

def test_check_json_lam_thao(lam_thao):
    proc = run("check", str(lam_thao), "--json")
    assert proc.returncode == 1
    doc = json.loads(proc.stdout)
    assert set(doc) == {"files"}
    [entry] = doc["files"]
    assert set(entry) == {"path", "unit", "period", "status", "facts", "violations", "errors"}
    assert (entry["path"], entry["unit"], entry["period"], entry["status"]) == (str(lam_thao), "LAMTHAO", "2023-Q3", "error")
    assert entry["facts"] == 117
    assert entry["errors"] == []
    [violation] = entry["violations"]
    assert set(violation) == {"rule", "severity", "sheet", "rows", "message"}
    assert violation["rule"] == "rate_matches_parts:egov_online_dossier_rate"
    assert violation["severity"] == "error"
    assert violation["sheet"] == "Biểu mẫu"
    assert violation["rows"] == [179, 181, 180]
    assert violation["message"] == LAM_THAO_SENTENCE


@pytest.mark.parametrize("engine", ["calamine", "openpyxl"])
def test_check_engines_agree(lam_thao, engine):
    proc = run("check", str(lam_thao), "--json", "--engine", engine)
    assert proc.returncode == 1
    assert json.loads(proc.stdout)["files"][0]["violations"][0]["message"] == LAM_THAO_SENTENCE


def test_check_text_output_vietnamese(lam_thao):
    proc = run("check", str(lam_thao))
    assert proc.returncode == 1
    assert LAM_THAO_SENTENCE in proc.stdout
    assert f"LỖI: {LAM_THAO_SENTENCE}" in proc.stdout
    assert "LAMTHAO" in proc.stdout and "2023-Q3" in proc.stdout
    assert "ERROR" not in proc.stdout


def test_check_text_output_english_labels_and_messages(lam_thao):
    proc = run("check", str(lam_thao), "--lang", "en")
    assert proc.returncode == 1
    assert "ERROR: Form 7, row 179: Online dossier rate 76.74% but 5,620/7,725 = 72.75%" in proc.stdout
    assert "LỖI" not in proc.stdout and "nhưng" not in proc.stdout


def test_argparse_framing_is_vietnamese():
    proc = run("check", "--help")
    assert proc.returncode == 0
    assert proc.stdout.startswith("cách dùng: cchc check")
    assert "tham số vị trí:" in proc.stdout and "tùy chọn:" in proc.stdout and "usage:" not in proc.stdout
    # the exit codes are documented where people look for them
    for line in ("0  không có lỗi", "1  ít nhất một vi phạm mức lỗi", "2  có tệp không đọc được"):
        assert line in proc.stdout
    proc = run("db", "nothing")
    assert proc.returncode == 2
    assert "cchc db: lỗi: tham số action: giá trị 'nothing' không hợp lệ" in proc.stderr
    proc = run("check")
    assert "thiếu các tham số bắt buộc: FILE" in proc.stderr and "error:" not in proc.stderr


def test_every_option_is_described():
    import argparse

    from ingestion.argparse_vi import vietnamese
    from ingestion.cli import build_parser

    with vietnamese():
        parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    undescribed = [f"{name} {action.dest}" for name, p in sub.choices.items() for action in p._actions
                   if not (action.help or "").strip()]
    assert undescribed == []
    assert all(choice.help for choice in sub._choices_actions)


def test_check_consistent_workbooks_exit_0(consistent):
    assert len(consistent) >= 10
    proc = run("check", "--json", *map(str, consistent))
    assert proc.returncode == 0, proc.stdout[-3000:]
    files = json.loads(proc.stdout)["files"]
    assert len(files) == len(consistent)
    for entry in files:
        assert entry["status"] in ("ok", "warning")
        assert entry["facts"] > 50
        assert not [v for v in entry["violations"] if v["severity"] == "error"]


def test_check_exit_codes_combine(lam_thao, consistent, tmp_path):
    assert run("check", str(consistent[0])).returncode == 0
    assert run("check", str(consistent[0]), str(lam_thao)).returncode == 1
    bad = tmp_path / "BAD" / "2023-Q3" / "x.xlsx"
    bad.parent.mkdir(parents=True)
    bad.write_bytes(b"not a workbook")
    proc = run("check", "--json", str(consistent[0]), str(lam_thao), str(bad))
    assert proc.returncode == 2
    statuses = [f["status"] for f in json.loads(proc.stdout)["files"]]
    assert statuses[1:] == ["error", "unreadable"]
    assert statuses[0] in ("ok", "warning")
