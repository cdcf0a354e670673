"""Feedback reports for the units, in Vietnamese (HTML, and xlsx because units live in Excel).

    <reports>/<date>_<time>/<unit>/<period>__<hash>.html|.xlsx   every workbook a run read, kept
                                                               for audit, plus an index.html
    <reports>/current/<unit>/<period>.html|.xlsx               the latest verdict for each
                                                               unit-quarter, overwritten when it
                                                               changes (a new file, a review)

Run folders are named by the run's start in Vietnam's time zone. Figures come from
audit.dq_results, audit.rejected_files and the standing decisions (gate or review), so a
report can be regenerated for any past run.
"""
from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

from jinja2 import Environment, PackageLoader, select_autoescape
from psycopg2.extras import RealDictCursor

from ..catalog import load_catalog
from ..rules.catalog import load_rules
from ..rules.messages import expectation_vi, form_title, period_vi
from ..rules.sql import evaluation_from_row
from ..workbook.writer import Cell, Sheet, write_workbook

SEVERITY_VI = {"error": "Lỗi", "warning": "Cảnh báo", "info": "Lưu ý"}
STATUS_VI = {"accepted": "Đã chấp nhận — số liệu được công bố",
             "held": "Tạm giữ — chưa công bố vì có lỗi; phiên bản được chấp nhận trước đó (nếu có) vẫn được công bố",
             "rejected": "Bị từ chối — không đọc được tệp như đã nhập",
             "review_accepted": "Đã chấp nhận sau khi Sở Nội vụ xem xét — số liệu được công bố",
             "review_rejected": "Bị từ chối sau khi Sở Nội vụ xem xét — số liệu của tệp này không được công bố",
             "pending": "Chưa kiểm tra"}
CURRENT_DIR = "current"
LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
RUN_MARKER = ".run_id"


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
    review_reason: str | None = None
    reviewed_on: str | None = None

    @property
    def file_stem(self) -> str:
        return re.sub(r"[^0-9A-Za-z_-]+", "_", f"{self.period}__{self.content_hash[:10]}")


def _env() -> Environment:
    return Environment(loader=PackageLoader("ingestion.feedback", "templates"),
                       autoescape=select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True)


def _status(f: dict) -> str:
    if f["status"] == "rejected":
        return "rejected"
    if f["review_decision"]:
        return "review_accepted" if f["review_decision"] == "accept" else "review_rejected"
    return f["decision"] or "pending"


def collect(conn, run_id: str | None = None, file_ids: list[int] | None = None) -> list[UnitReport]:
    """The reports of a run's workbooks, or of the given file versions."""
    rules, catalog = load_rules(), load_catalog()
    selected = "f.run_id = %s" if file_ids is None else "f.file_id = any(%s)"
    param = run_id if file_ids is None else list(file_ids)
    with conn.cursor(cursor_factory=RealDictCursor) as cur:
        cur.execute(f"""select f.file_id, f.path, f.content_hash, f.unit_code, f.year, f.quarter, f.status,
                               coalesce(u.name, f.unit_code, '?') as unit_name, g.decision,
                               d.review_decision, d.review_reason, d.reviewed_at
                        from raw.files f
                        left join raw.org_units u on u.unit_code = f.unit_code
                        left join audit.submission_gate g on g.file_id = f.file_id
                        left join intermediate.int_submission_decisions d on d.file_id = f.file_id
                        where {selected} order by f.unit_code nulls last, f.year, f.quarter, f.file_id""", (param,))
        files = cur.fetchall()
        ids = [f["file_id"] for f in files]
        cur.execute("""select * from audit.dq_results where file_id = any(%s) and status = 'fail'
                       order by file_id, form nulls last, row_number nulls last, dq_result_id""", (ids,))
        fails: dict[int, list] = {}
        for r in cur.fetchall():
            fails.setdefault(r["file_id"], []).append(r)
        cur.execute("select file_id, message from audit.rejected_files where file_id = any(%s)", (ids,))
        rejected = {}
        for r in cur.fetchall():
            rejected.setdefault(r["file_id"], []).append(r["message"])
        cur.execute("""select file_id, message from raw.parse_issues where file_id = any(%s)
                       order by file_id, row_number""", (ids,))
        remarks = {}
        for r in cur.fetchall():
            remarks.setdefault(r["file_id"], []).append(r["message"])
    reports = []
    for f in files:
        status = _status(f)
        period = f"{f['year']}-Q{f['quarter']}" if f["year"] else "?"
        report = UnitReport(unit_code=f["unit_code"] or "?", unit_name=f["unit_name"], period=period,
                            period_vi=period_vi(period), path=f["path"], content_hash=f["content_hash"],
                            status=status, status_vi=STATUS_VI[status],
                            rejections=[m for msg in rejected.get(f["file_id"], []) for m in msg.split("; ")],
                            remarks=remarks.get(f["file_id"], []),
                            review_reason=f["review_reason"],
                            reviewed_on=f["reviewed_at"].astimezone(LOCAL_TZ).strftime("%d/%m/%Y")
                            if f["reviewed_at"] else None)
        for r in fails.get(f["file_id"], []):
            if r["severity"] == "info":
                continue
            ev = evaluation_from_row({**r, "rule_kind": r["rule_kind"], "indicator": r["indicator"]})
            figures = "" if r["observed"] is None else f"{r['observed']}"
            if r["expected"] is not None:
                figures += f" (cần: {r['expected']})"
            report.findings.append(Finding(
                form=form_title(r["form"]) if r["form"] else "", row=str(r["row_number"] or ""),
                rule=rules.kinds[r["rule_kind"]]["title_vi"], severity=r["severity"],
                severity_vi=SEVERITY_VI[r["severity"]], figures=figures,
                expectation=expectation_vi(ev, rules, catalog), message=r["message"] or ""))
        reports.append(report)
    return reports


def _write_xlsx(report: UnitReport, path: Path) -> None:
    rows: list[list] = [
        [Cell(f"Phản hồi kiểm tra số liệu CCHC — {report.unit_name} — Quý {report.period_vi}", "bold")],
        [f"Tệp: {report.path}"],
        [f"Kết quả: {report.status_vi}"],
        [],
    ]
    if report.review_reason:
        rows.append([f"Ý kiến của Sở Nội vụ ({report.reviewed_on}): {report.review_reason}"])
        rows.append([])
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
    write_workbook(path, [Sheet("Phản hồi", rows, col_widths=dict(zip("ABCDEFG", (30, 8, 36, 10, 16, 40, 80))))])


def _safe(name: str) -> str:
    return re.sub(r"[^0-9A-Za-z_-]+", "_", name)


def _write_pair(env: Environment, report: UnitReport, html: Path, xlsx: Path) -> None:
    """Both files of one report, each replaced in one step (readers never see half a file)."""
    html.parent.mkdir(parents=True, exist_ok=True)
    tmp_html, tmp_xlsx = html.with_name(f".{html.name}.tmp"), xlsx.with_name(f".{xlsx.name}.tmp")
    tmp_html.write_text(env.get_template("feedback.html").render(r=report), encoding="utf-8")
    _write_xlsx(report, tmp_xlsx)
    os.replace(tmp_html, html)
    os.replace(tmp_xlsx, xlsx)


def run_folder(conn, run_id: str, reports_dir: Path) -> Path:
    """<reports>/<YYYY-MM-DD_HHMMSS> of the run's start (Vietnam time); a retry reuses it."""
    with conn.cursor() as cur:
        cur.execute("select started_at from audit.load_runs where run_id = %s", (run_id,))
        row = cur.fetchone()
    started = row[0] if row else dt.datetime.now(dt.UTC)
    base = started.astimezone(LOCAL_TZ).strftime("%Y-%m-%d_%H%M%S")
    for n in range(1, 100):
        out = reports_dir / (base if n == 1 else f"{base}_{n}")
        marker = out / RUN_MARKER
        if not out.exists() or (marker.exists() and marker.read_text(encoding="utf-8").strip() == run_id):
            out.mkdir(parents=True, exist_ok=True)
            marker.write_text(run_id + "\n", encoding="utf-8")
            return out
    raise RuntimeError(f"no free report folder for run {run_id} under {reports_dir}")


def write_run_reports(conn, run_id: str, reports_dir: Path) -> Path:
    reports = collect(conn, run_id)
    out = run_folder(conn, run_id, reports_dir)
    env = _env()
    for report in reports:
        unit_dir = out / _safe(report.unit_code)
        _write_pair(env, report, unit_dir / f"{report.file_stem}.html", unit_dir / f"{report.file_stem}.xlsx")
    (out / "index.html").write_text(env.get_template("index.html").render(run_id=run_id, reports=reports),
                                    encoding="utf-8")
    return out


def current_report_paths(reports_dir: Path, unit_code: str, period: str) -> tuple[Path, Path]:
    folder = reports_dir / CURRENT_DIR / _safe(unit_code)
    return folder / f"{_safe(period)}.html", folder / f"{_safe(period)}.xlsx"


def write_current_reports(conn, run_id: str, reports_dir: Path) -> int:
    """Bring <reports>/current up to date: the latest version of every unit-quarter this run read
    a file for or the data team reviewed since the last time (every unit-quarter the first time).
    Returns how many unit-quarters were written."""
    marker = reports_dir / CURRENT_DIR / ".reviews_reported"
    first = not marker.exists()
    reviewed_before = 0 if first else int(marker.read_text(encoding="utf-8").strip() or 0)
    with conn.cursor() as cur:
        cur.execute("select coalesce(max(review_id), 0) from audit.submission_review")
        reviews_now = cur.fetchone()[0]
        cur.execute("""with touched as (
                           select unit_code, year, quarter from raw.files
                           where %s or run_id = %s
                           union
                           select unit_code, year, quarter from audit.submission_review where review_id > %s
                       )
                       select max(f.file_id)
                       from raw.files f
                       join touched t on t.unit_code = f.unit_code and t.year = f.year and t.quarter = f.quarter
                       group by f.unit_code, f.year, f.quarter""", (first, run_id, reviewed_before))
        latest = [r[0] for r in cur.fetchall()]
    env = _env()
    for report in collect(conn, file_ids=latest):
        html, xlsx = current_report_paths(reports_dir, report.unit_code, report.period)
        _write_pair(env, report, html, xlsx)
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text(f"{reviews_now}\n", encoding="utf-8")
    return len(latest)
