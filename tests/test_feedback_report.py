"""Feedback a unit can act on: where (form, STT, cell), what is wrong, what the figure must be."""
from __future__ import annotations

import io
import zipfile
from decimal import Decimal

import openpyxl

from ingestion.indicators import load_catalog
from ingestion.feedback.report import Finding, UnitReport, _env, _write_xlsx, requirement_vi
from ingestion.rules.ruleset import load_rules
from ingestion.rules.model import Evaluation


def _ev(kind: str, expected, **detail) -> Evaluation:
    return Evaluation(rule_id=f"{kind}:x", kind=kind, severity="error", status="fail", submission="1", unit_code="U",
                      year=2025, quarter=2, indicator=None, sheet="Phụ lục", row=140, rows=(140,), form=3,
                      observed=Decimal("200"), expected=None if expected is None else Decimal(str(expected)),
                      details=tuple(sorted(detail.items())))


def test_requirements_say_what_the_figure_must_be():
    rules, catalog = load_rules(), load_catalog()
    assert requirement_vi(_ev("part_not_above_whole", 159), rules, catalog).startswith("tối đa 159")
    rate = requirement_vi(_ev("rate_matches_parts", "78.95", numerator=Decimal(30), denominator=Decimal(38)),
                          rules, catalog)
    assert rate.startswith("phải bằng 30/38 = 78,95 %")
    assert "cần:" not in rate


def _report(status: str, findings: list[Finding]) -> UnitReport:
    return UnitReport(unit_code="X01", unit_name="Xã Hòa Định", period="2025-Q2", period_vi="II/2025",
                      path="X01/2025-Q2/bc.xlsx", content_hash="ab" * 32, status=status, status_vi=status,
                      report_date="30/11/2026", deadline="21/06/2025", findings=findings)


def _finding(severity: str, reasons: list[str]) -> Finding:
    return Finding(form="Biểu mẫu 3", stt="2.1", sheet="Phụ lục", cell="D140", label="Tỷ lệ hồ sơ giải quyết đúng hạn",
                   figure="120", severity=severity, severity_vi={"error": "Lỗi", "warning": "Cảnh báo"}[severity],
                   reasons=reasons, requirements=["từ 0 đến 100 %", "phải bằng 30/38 = 78,95 %"][:len(reasons)])


def test_one_row_per_wrong_cell_and_no_fix_request_without_errors(tmp_path):
    page = _env().get_template("feedback.html")
    two = _finding("error", ["tỷ lệ 120% nằm ngoài khoảng 0–100%", "120% nhưng 30/38 = 78,95%"])
    html = page.render(r=_report("held", [two]))
    assert html.count("<td>Biểu mẫu 3</td>") == 1  # one entry, two reasons
    assert "D140" in html and "STT" in html and "2.1" in html and "phải bằng 30/38 = 78,95 %" in html
    assert "Sửa các ô có lỗi" in html and "21/06/2025" in html and "30/11/2026" in html
    for clean in (_report("accepted", []), _report("accepted", [_finding("warning", ["khác thường"])])):
        assert "Sửa các" not in page.render(r=clean)

    path = tmp_path / "f.xlsx"
    _write_xlsx(_report("held", [two]), path)
    ws = openpyxl.load_workbook(path).active
    rows = [[c.value for c in row] for row in ws.iter_rows()]
    entries = [r for r in rows if r[0] == "Biểu mẫu 3"]
    assert len(entries) == 1 and entries[0][2] == "D140" and entries[0][1] == "2.1"
    assert entries[0][6].count("\n") == 1  # both reasons in the one entry
    assert ws.freeze_panes is not None and ws.page_setup.paperSize in (9, "9")
    assert ws.page_setup.fitToWidth in (1, "1") and ws.sheet_properties.pageSetUpPr.fitToPage
    sheet_xml = zipfile.ZipFile(io.BytesIO(path.read_bytes())).read("xl/worksheets/sheet1.xml").decode()
    assert 'orientation="landscape"' in sheet_xml and 'state="frozen"' in sheet_xml
