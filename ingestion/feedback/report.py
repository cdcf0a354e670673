"""Feedback reports for the units whose workbooks a run read, in Vietnamese.

For every workbook of the run: <reports>/<run_id>/<unit>/<period>__<file_id>.html and .xlsx
(units live in Excel), plus an index.html for the data team. Figures come from
audit.dq_results and audit.rejected_files, so a report can be regenerated for any past run.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape
from psycopg2.extras import RealDictCursor

from ..catalog import load_catalog
from ..rules.catalog import load_rules
from ..rules.messages import expectation_vi, form_title, period_vi, short_name, where_vi
from ..rules.sql import evaluation_from_row
from ..workbook.values import format_vi
from ..workbook.writer import Cell, Sheet, write_workbook

SEVERITY_VI = {"error": "Lỗi", "warning": "Cảnh báo", "info": "Lưu ý"}
STATUS_VI = {"accepted": "Đã chấp nhận — số liệu được công bố",
             "held": "Tạm giữ — chưa công bố vì có lỗi; phiên bản được chấp nhận trước đó (nếu có) vẫn được công bố",
             "rejected": "Bị từ chối — không đọc được tệp như đã nhập",
             "pending": "Chưa kiểm tra"}


@dataclass
class Finding:
    form: str
    row: str
    rule: str
    severity: str
    severity_vi: str
    figures: str
    expectation: str
    message: str


SCOPE_VI = {"unit": "toàn đơn vị", "province": "cấp tỉnh", "department": "sở, ngành", "district": "cấp huyện",
            "commune": "cấp xã", "mixed": "nhiều cấp"}


@dataclass
class NarrativeLine:
    """A figure the report's narrative states, and what its cross-check with the appendix found."""
    paragraph: int
    sentence: str
    indicator: str
    scope: str
    value: str
    check: str
    severity: str | None = None


@dataclass
class UnitReport:
    unit_code: str
    unit_name: str
    period: str
    period_vi: str
    path: str
    content_hash: str
    status: str
    status_vi: str
    findings: list[Finding] = field(default_factory=list)
    rejections: list[str] = field(default_factory=list)
    remarks: list[str] = field(default_factory=list)
    narrative: list[NarrativeLine] = field(default_factory=list)

    @property
    def file_stem(self) -> str:
        return re.sub(r"[^0-9A-Za-z_-]+", "_", f"{self.period}__{self.content_hash[:10]}")


def _env() -> Environment:
    return Environment(loader=PackageLoader("ingestion.feedback", "templates"),
                       autoescape=select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True)


def collect(conn, run_id: str) -> list[UnitReport]:
    rules, catalog = load_rules(), load_catalog()
    with conn.cursor(cursor_factory=RealDictCursor) as cur:
        cur.execute("""select f.file_id, f.path, f.content_hash, f.unit_code, f.year, f.quarter, f.status,
                              coalesce(u.name, f.unit_code, '?') as unit_name, g.decision
                       from raw.files f
                       left join raw.org_units u on u.unit_code = f.unit_code
                       left join audit.submission_gate g on g.file_id = f.file_id
                       where f.run_id = %s order by f.unit_code nulls last, f.year, f.quarter, f.file_id""", (run_id,))
        files = cur.fetchall()
        cur.execute("""select * from audit.dq_results where run_id = %s and status = 'fail' and file_id is not null
                       order by file_id, form nulls last, row_number nulls last, dq_result_id""", (run_id,))
        fails: dict[int, list] = {}
        for r in cur.fetchall():
            fails.setdefault(r["file_id"], []).append(r)
        cur.execute("select file_id, message from audit.rejected_files where run_id = %s", (run_id,))
        rejected = {}
        for r in cur.fetchall():
            rejected.setdefault(r["file_id"], []).append(r["message"])
        cur.execute("""select file_id, message from raw.parse_issues where file_id in
                       (select file_id from raw.files where run_id = %s) order by file_id, row_number""", (run_id,))
        remarks = {}
        for r in cur.fetchall():
            remarks.setdefault(r["file_id"], []).append(r["message"])
        narrative = _narrative(cur, run_id, catalog)
    reports = []
    for f in files:
        status = "rejected" if f["status"] == "rejected" else (f["decision"] or "pending")
        period = f"{f['year']}-Q{f['quarter']}" if f["year"] else "?"
        report = UnitReport(unit_code=f["unit_code"] or "?", unit_name=f["unit_name"], period=period,
                            period_vi=period_vi(period), path=f["path"], content_hash=f["content_hash"],
                            status=status, status_vi=STATUS_VI[status],
                            rejections=[m for msg in rejected.get(f["file_id"], []) for m in msg.split("; ")],
                            remarks=remarks.get(f["file_id"], []), narrative=narrative.get(f["file_id"], []))
        for r in fails.get(f["file_id"], []):
            if r["severity"] == "info":
                continue
            ev = evaluation_from_row({**r, "rule_kind": r["rule_kind"], "indicator": r["indicator"]})
            figures = "" if r["observed"] is None else f"{r['observed']}"
            if r["expected"] is not None:
                figures += f" (cần: {r['expected']})"
            row = str(r["row_number"] or "")
            if row and (r["sheet"] or "").startswith("Bảng "):  # a Word table: its rows are counted within it
                row = f"{r['sheet']}, dòng {row}"
            report.findings.append(Finding(
                form=form_title(r["form"]) if r["form"] else "", row=row,
                rule=rules.kinds[r["rule_kind"]]["title_vi"], severity=r["severity"],
                severity_vi=SEVERITY_VI[r["severity"]], figures=figures,
                expectation=expectation_vi(ev, rules, catalog), message=r["message"] or ""))
        reports.append(report)
    return reports


def _narrative(cur, run_id: str, catalog) -> dict[int, list[NarrativeLine]]:
    """The narrative figures of the run's Word reports, each with its cross-check outcome."""
    cur.execute("""select d.file_id, d.status, d.severity, d.expected, d.sheet, d.row_number, d.form,
                          (d.details ->> 'paragraph')::int as paragraph, (d.details ->> 'position')::int as position
                   from audit.dq_results d
                   where d.run_id = %s and d.rule_kind = 'narrative_matches_appendix'""", (run_id,))
    checks = {(r["file_id"], r["paragraph"], r["position"]): r for r in cur.fetchall()}
    cur.execute("""select n.* from raw.narrative_figures n join raw.files f using (file_id)
                   where f.run_id = %s order by n.file_id, n.paragraph_number, n.position""", (run_id,))
    out: dict[int, list[NarrativeLine]] = {}
    for n in cur.fetchall():
        check = checks.get((n["file_id"], n["paragraph_number"], n["position"]))
        if check is None:
            text = "không đối chiếu (chưa chắc chắn về chỉ tiêu hoặc phạm vi)" if not n["comparable"] else \
                "không đối chiếu (phụ lục không có số liệu tương ứng)"
        elif check["status"] == "pass":
            text = f"khớp phụ lục ({where_vi(check['form'], check['sheet'], check['row_number'])})"
        else:
            text = (f"lệch: phụ lục ghi {format_vi(check['expected'], 2)} "
                    f"({where_vi(check['form'], check['sheet'], check['row_number'])})")
        out.setdefault(n["file_id"], []).append(NarrativeLine(
            paragraph=n["paragraph_number"], sentence=n["sentence"], indicator=short_name(catalog, n["indicator"]),
            scope=SCOPE_VI.get(n["scope"], n["scope"]), value=format_vi(n["value"], 2), check=text,
            severity=check["severity"] if check is not None and check["status"] == "fail" else None))
    return out


def _write_xlsx(report: UnitReport, path: Path) -> None:
    rows: list[list] = [
        [Cell(f"Phản hồi kiểm tra số liệu CCHC — {report.unit_name} — Quý {report.period_vi}", "bold")],
        [f"Tệp: {report.path}"],
        [f"Kết quả: {report.status_vi}"],
        [],
    ]
    if report.rejections:
        rows.append([Cell("Lý do từ chối", "bold")])
        rows.extend([reason] for reason in report.rejections)
        rows.append([])
    rows.append([Cell(h, "bold") for h in ("Biểu mẫu", "Dòng", "Quy tắc", "Mức độ", "Số liệu", "Yêu cầu", "Nội dung")])
    for f in report.findings:
        rows.append([Cell(f.form, "wrap"), f.row, Cell(f.rule, "wrap"),
                     Cell(f.severity_vi, "bold" if f.severity == "error" else None), f.figures,
                     Cell(f.expectation, "wrap"), Cell(f.message, "wrap")])
    if not report.findings and not report.rejections:
        rows.append(["Không phát hiện lỗi hay cảnh báo."])
    sheets = [Sheet("Phản hồi", rows, col_widths=dict(zip("ABCDEFG", (30, 8, 36, 10, 16, 40, 80))))]
    if report.narrative:
        lines: list[list] = [[Cell("Số liệu nêu trong phần thuyết minh của báo cáo", "bold")], [],
                             [Cell(h, "bold") for h in ("Đoạn", "Chỉ tiêu", "Phạm vi", "Số liệu", "Đối chiếu với phụ lục", "Câu văn")]]
        for n in report.narrative:
            lines.append([n.paragraph, Cell(n.indicator, "wrap"), n.scope, n.value,
                          Cell(n.check, "bold_wrap" if n.severity else "wrap"), Cell(n.sentence, "wrap")])
        sheets.append(Sheet("Thuyết minh", lines, col_widths=dict(zip("ABCDEF", (8, 40, 14, 12, 36, 90)))))
    write_workbook(path, sheets)


def write_run_reports(conn, run_id: str, reports_dir: Path) -> Path:
    reports = collect(conn, run_id)
    out = reports_dir / re.sub(r"[^0-9A-Za-z_.+-]+", "_", run_id)
    out.mkdir(parents=True, exist_ok=True)
    env = _env()
    unit_page = env.get_template("feedback.html")
    for report in reports:
        unit_dir = out / re.sub(r"[^0-9A-Za-z_-]+", "_", report.unit_code)
        unit_dir.mkdir(exist_ok=True)
        (unit_dir / f"{report.file_stem}.html").write_text(unit_page.render(r=report), encoding="utf-8")
        _write_xlsx(report, unit_dir / f"{report.file_stem}.xlsx")
    (out / "index.html").write_text(env.get_template("index.html").render(run_id=run_id, reports=reports),
                                    encoding="utf-8")
    return out
