"""Bad inputs through the command line: each refused with its cause, the good files beside it still read."""
from __future__ import annotations

import datetime as dt
import io
import json
import os
import subprocess
from pathlib import Path

import openpyxl
import pytest
from msoffcrypto.format.ooxml import OOXMLFile

from cchc_tools.demo import bad_files
from cchc_tools.demo.generator import generate
from ingestion.workbook.writer import Cell, Sheet, workbook_bytes, workbook_parts, zip_parts
from ingestion.workbook.read import read_workbook, read_workbook_bytes

REPO = Path(__file__).resolve().parents[1]
CCHC = str(REPO / ".venv" / "bin" / "cchc")
HEADER = ["STT", "Chỉ tiêu", "Đơn vị tính", "Số liệu", "Ghi chú"]


def cli_env() -> dict:
    env = dict(os.environ)
    for name in ("CCHC_REGISTRY", "CCHC_UNIT_MAPPING", "CCHC_PARSER"):
        env.pop(name, None)
    return env


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([CCHC, *args], cwd=REPO, env=cli_env(), capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    """One consistent generated workbook (a district or commune appendix)."""
    out = tmp_path_factory.mktemp("gen") / "inbox"
    generate(out, units=12, quarters=1, error_rate=0.0, seed=5, end=(2026, 3), truth=False)
    return sorted(out.rglob("*.xlsx"))[0]


def check_bad(good, tmp_path: Path, name: str, data: bytes, keywords: tuple[str, ...], engine: str = "calamine") -> dict:
    bad = tmp_path / "BADUNIT" / "2023-Q3" / name
    bad.parent.mkdir(parents=True, exist_ok=True)
    bad.write_bytes(data)
    proc = run("check", "--json", "--engine", engine, str(good[0]), str(bad), str(good[1]))
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.returncode == 2, (proc.returncode, proc.stdout[-2000:], proc.stderr[-2000:])
    doc = json.loads(proc.stdout)
    files = doc["files"]
    assert [f["path"] for f in files] == [str(good[0]), str(bad), str(good[1])]
    entry = files[1]
    assert entry["status"] == "unreadable"
    assert entry["errors"], entry
    messages = [e["message"] for e in entry["errors"]]
    assert any(str(bad) in m and all(k in m for k in keywords) for m in messages), messages
    for other in (files[0], files[2]):
        assert other["status"] != "unreadable"
        assert other["facts"] > 50
        assert other["errors"] == []
    # the unreadable file also stops `cchc extract`
    ex = run("extract", str(bad), "--json", "--engine", engine)
    assert ex.returncode == 2
    assert "Traceback" not in ex.stderr, ex.stderr
    return entry


# -- whole-file problems ---------------------------------------------------------------------------

def test_pdf_renamed(good, tmp_path):
    check_bad(good, tmp_path, "bao_cao.xlsx", bad_files.pdf_renamed(), ("PDF",))


def test_docx_renamed(good, tmp_path):
    check_bad(good, tmp_path, "bao_cao.xlsx", bad_files.docx_renamed(), ("Word", ".docx"))


def test_corrupted_zip(good, tmp_path):
    check_bad(good, tmp_path, "bao_cao.xlsx", bad_files.truncated_zip(good[0].read_bytes()), ("bị hỏng",))


def test_legacy_xls(good, tmp_path):
    check_bad(good, tmp_path, "bao_cao.xlsx", bad_files.legacy_xls(), (".xls",))


def test_really_encrypted_workbook(good, tmp_path):
    plain = good[0].read_bytes()
    assert len(plain) > 4096  # msoffcrypto-tool needs a package above 4 KiB
    out = io.BytesIO()
    OOXMLFile(io.BytesIO(plain)).encrypt("matkhau2024", out)
    check_bad(good, tmp_path, "bao_cao.xlsx", out.getvalue(), ("mật khẩu",))


def test_hand_built_password_protected(good, tmp_path):
    check_bad(good, tmp_path, "bao_cao.xlsx", bad_files.password_protected(good[0].read_bytes()), ("mật khẩu",))


@pytest.mark.parametrize("engine", ["calamine", "openpyxl"])
def test_xml_bomb(good, tmp_path, engine):
    check_bad(good, tmp_path, "bao_cao.xlsx", bad_files.xml_bomb(), ("không an toàn",), engine)


@pytest.mark.parametrize("dimension", [True, False], ids=["with_dimension", "without_dimension"])
@pytest.mark.parametrize("engine", ["calamine", "openpyxl"])
def test_huge_sheet(good, tmp_path, engine, dimension):
    check_bad(good, tmp_path, "bao_cao.xlsx", bad_files.huge_sheet(dimension=dimension), ("quá lớn",), engine)


def test_empty_workbook(good, tmp_path):
    check_bad(good, tmp_path, "bao_cao.xlsx", bad_files.empty_workbook(), ("trống",))


def test_zero_byte_file(good, tmp_path):
    check_bad(good, tmp_path, "bao_cao.xlsx", b"", ("rỗng",))


def test_no_indicator_table(good, tmp_path):
    staff = workbook_bytes([Sheet("Sheet1", [
        ["Danh sách cán bộ trực bộ phận một cửa"],
        ["Họ tên", "Chức vụ", "Số điện thoại"],
        ["Nguyễn Văn A", "Công chức", "0912345678"],
        ["Trần Thị B", "Công chức", "0987654321"],
    ])])
    check_bad(good, tmp_path, "bao_cao.xlsx", staff, ("bảng chỉ tiêu",))


# -- one bad cell ----------------------------------------------------------------------------------

def minimal_appendix(figure) -> bytes:
    """A small hand-typed appendix; ``figure`` goes into D2 (the staff quota row)."""
    return workbook_bytes([Sheet("Biểu mẫu 4", [
        HEADER,
        [1, "Tổng số biên chế được giao trong năm", "Người", figure, None],
        [2, "Số văn bản chỉ đạo CCHC đã ban hành", "Văn bản", 3, None],
        [3, "Số nhiệm vụ đề ra trong kế hoạch", "Nhiệm vụ", 12, None],
        [4, "Số nhiệm vụ đã hoàn thành", "Nhiệm vụ", 9, None],
    ])])


_STYLE_OF_FORMAT = {"0.0%": "percent", "0%": "percent0", "#,##0": "thousands"}


def rewrite_figure(path: Path, indicator: str, new_cell: Cell) -> tuple[bytes, str]:
    """The workbook at ``path`` rewritten by the writer, with ``indicator``'s figure replaced; (bytes, cell ref)."""
    fact = next(f for f in read_workbook(path).facts if f.indicator == indicator)
    wb = openpyxl.load_workbook(path)
    sheets = []
    for ws in wb.worksheets:
        rows = []
        for row in ws.iter_rows():
            rows.append([Cell(c.value, style=_STYLE_OF_FORMAT.get(c.number_format)) for c in row])
        if ws.title == fact.sheet:
            rows[fact.row - 1][fact.column] = new_cell
        sheets.append(Sheet(ws.title, rows, hidden=ws.sheet_state != "visible"))
    return workbook_bytes(sheets), fact.cell


def test_rewritten_generated_workbook_is_still_good(generated, tmp_path):
    # the rewrite itself must not break anything: the same figure written back reads cleanly
    fact = next(f for f in read_workbook(generated).facts if f.indicator == "dir_plan_tasks")
    data, _ = rewrite_figure(generated, "dir_plan_tasks", Cell(int(fact.value)))
    path = tmp_path / "same.xlsx"
    path.write_bytes(data)
    again = read_workbook(path)
    assert again.errors == []
    assert next(f for f in again.facts if f.indicator == "dir_plan_tasks").value == fact.value


BAD_CELLS = {
    "formula": (Cell(None, formula="SUM(D3:D4)"), ("công thức",)),
    "text": (Cell("khoảng 20"), ("chữ", "khoảng 20")),
    "negative": (Cell(-5), ("số âm",)),
}


@pytest.mark.parametrize("case", sorted(BAD_CELLS))
def test_bad_cell_in_minimal_appendix(good, tmp_path, case):
    cell, keywords = BAD_CELLS[case]
    entry = check_bad(good, tmp_path, "bao_cao.xlsx", minimal_appendix(cell), keywords + ("D2",))
    assert len(entry["errors"]) == 1
    assert entry["facts"] == 4


@pytest.mark.parametrize("case", sorted(BAD_CELLS))
def test_bad_cell_in_generated_workbook(good, generated, tmp_path, case):
    cell, keywords = BAD_CELLS[case]
    data, ref = rewrite_figure(generated, "dir_plan_tasks", cell)
    entry = check_bad(good, tmp_path, "bao_cao.xlsx", data, keywords + (f"ô {ref}",))
    assert len(entry["errors"]) == 1
    assert entry["facts"] > 50


def test_minimal_appendix_without_faults_is_readable(good, tmp_path):
    path = tmp_path / "BADUNIT" / "2023-Q3" / "ok.xlsx"
    path.parent.mkdir(parents=True)
    path.write_bytes(minimal_appendix(25))
    proc = run("check", "--json", str(path))
    entry = json.loads(proc.stdout)["files"][0]
    assert entry["status"] != "unreadable" and entry["errors"] == [] and entry["facts"] == 4
    assert proc.returncode in (0, 1)


# -- cells Excel itself turned into something else -------------------------------------------------

def appendix_with_date() -> bytes:
    """'14/3' typed into a figure cell: Excel stores a date (a number with a date format)."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Biểu mẫu 4"
    ws.append(HEADER)
    ws.append([1, "Tổng số biên chế được giao trong năm", "Người", dt.datetime(2024, 3, 14), None])
    ws.append([2, "Số văn bản chỉ đạo CCHC đã ban hành", "Văn bản", 3, None])
    ws.append([3, "Số nhiệm vụ đề ra trong kế hoạch", "Nhiệm vụ", 12, None])
    ws["D2"].number_format = "dd/mm/yyyy"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def appendix_with_cached_error() -> bytes:
    """A formula whose cached result is an Excel error (=B/C with C = 0 gives #DIV/0!)."""
    parts = workbook_parts([Sheet("Biểu mẫu 4", [
        HEADER,
        [1, "Tổng số biên chế được giao trong năm", "Người", Cell(0, formula="E5/E6"), None],
        [2, "Số văn bản chỉ đạo CCHC đã ban hành", "Văn bản", 3, None],
        [3, "Số nhiệm vụ đề ra trong kế hoạch", "Nhiệm vụ", 12, None],
    ])])
    patched = []
    for name, body in parts:
        if name == "xl/worksheets/sheet1.xml":
            old = b'<c r="D2"><f>E5/E6</f><v>0</v></c>'
            assert old in body
            body = body.replace(old, b'<c r="D2" t="e"><f>E5/E6</f><v>#DIV/0!</v></c>')
        patched.append((name, body))
    return zip_parts(patched)


@pytest.mark.parametrize("engine", ["calamine", "openpyxl"])
def test_date_in_figure_cell(good, tmp_path, engine):
    check_bad(good, tmp_path, "bao_cao.xlsx", appendix_with_date(), ("ngày", "D2"), engine)


def test_engines_agree_on_a_date_cell():
    data = appendix_with_date()
    results = []
    for engine in ("calamine", "openpyxl"):
        ex = read_workbook_bytes(data, engine)
        results.append(([(f.row, f.raw, f.value) for f in ex.facts], [i.message for i in ex.issues]))
    assert results[0] == results[1]


@pytest.mark.parametrize("engine", [
    "calamine",
    "openpyxl",
])
def test_cached_excel_error_in_figure_cell(good, tmp_path, engine):
    check_bad(good, tmp_path, "bao_cao.xlsx", appendix_with_cached_error(), ("D2",), engine)


# -- a path that is not a file ---------------------------------------------------------------------

def test_directory_instead_of_a_file(good, tmp_path):
    folder = tmp_path / "BADUNIT" / "2023-Q3"
    folder.mkdir(parents=True)
    proc = run("check", "--json", str(good[0]), str(folder), str(good[1]))
    assert "Traceback" not in proc.stderr
    assert proc.returncode == 2
    files = json.loads(proc.stdout)["files"]
    assert files[1]["status"] == "unreadable" and str(folder) in files[1]["errors"][0]["message"]
    assert files[0]["facts"] > 50 and files[2]["facts"] > 50
