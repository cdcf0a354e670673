"""Feedback reports for the units, in Vietnamese (HTML, and xlsx because units live in Excel).

    <reports>/<date>_<time>/<unit>/<period>__<hash>.html|.xlsx   every workbook a run read, kept
                                                               for audit, plus index.html and
                                                               the run's data-quality page dq.html
    <reports>/current/<unit>/<period>.html|.xlsx               the latest verdict for each
                                                               unit-quarter, overwritten when it
                                                               changes (a new file, a review)

Run folders are named by the run's start in Vietnam's time zone. Figures come from
audit.dq_results, audit.rejected_files and the standing decisions (gate or review), so a
report can be regenerated for any past run.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import shutil
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from jinja2 import Environment, PackageLoader, select_autoescape
from psycopg2.extras import RealDictCursor

from ..domain import report_due_date
from ..indicators import load_catalog
from ..rules.ruleset import load_rules
from ..rules.messages import expectation_vi, form_title, period_vi, short_name, where_vi
from ..rules.sql import evaluation_from_row
from ..text.values import format_vi
from ..warehouse.dbt_relations import relation
from ..workbook.writer import Cell, Sheet, column_letters, wrapped_height, write_workbook

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
    """One wrong cell, with every reason it is wrong (a rate both out of range and off its parts is one)."""
    form: str
    stt: str
    sheet: str
    cell: str
    label: str
    figure: str
    severity: str
    severity_vi: str
    table_row: str = ""  # a Word table's "Bảng N, dòng R" (its cells have no letters)
    reasons: list[str] = field(default_factory=list)  # what is wrong, one sentence each
    requirements: list[str] = field(default_factory=list)  # what the figure must be, one per reason

    @property
    def where(self) -> str:
        parts = [self.form, f"STT {self.stt}" if self.stt else "", f"trang “{self.sheet}”" if self.sheet else "",
                 f"ô {self.cell}" if self.cell else "", self.table_row]
        return " · ".join(p for p in parts if p)


SCOPE_VI = {"unit": "toàn đơn vị", "department": "cấp tỉnh (sở, ngành)", "district": "cấp huyện",
            "commune": "cấp xã", "mixed": "nhiều cấp", "department_district": "cấp tỉnh và cấp huyện",
            "district_commune": "cấp huyện và cấp xã", "department_commune": "cấp tỉnh và cấp xã"}


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
    report_date: str = ""
    deadline: str = ""
    findings: list[Finding] = field(default_factory=list)
    rejections: list[str] = field(default_factory=list)
    remarks: list[str] = field(default_factory=list)
    review_reason: str | None = None
    reviewed_on: str | None = None
    file_id: int | None = None
    stem_suffix: str = ""  # set when two reports of a unit and quarter would share a name
    narrative: list[NarrativeLine] = field(default_factory=list)

    @property
    def file_stem(self) -> str:
        return safe_name(f"{self.period}__{self.content_hash[:10]}") + self.stem_suffix

    @property
    def unit_dir(self) -> str:
        """The unit's folder under the run's reports: the one name both the folder and its links use.

        A code that is not already safe gets a short digest of itself, so two codes never share a folder.
        """
        return unit_folder(self.unit_code)

    @property
    def href(self) -> str:
        """Relative link to the HTML report, from the run's index (the xlsx is beside it)."""
        return f"{self.unit_dir}/{self.file_stem}"

    @property
    def errors(self) -> int:
        return sum(f.severity == "error" for f in self.findings) + len(self.rejections)

    @property
    def warnings(self) -> int:
        return sum(f.severity == "warning" for f in self.findings)


def unit_folder(unit_code: str) -> str:
    """A unit's report folder name; a code that is not already safe gets a short digest of itself."""
    safe = safe_name(unit_code)
    if safe != unit_code:
        safe += "-" + hashlib.sha256(unit_code.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return safe


def safe_name(text: str) -> str:
    """A file or folder name made only of letters, digits, '_' and '-': no path, no scheme, no markup."""
    return re.sub(r"[^0-9A-Za-z_-]+", "_", text) or "_"


def _env() -> Environment:
    return Environment(loader=PackageLoader("ingestion.feedback", "templates"),
                       autoescape=select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True)


def _n(value) -> str:
    if value is None:
        return "(trống)"
    d = Decimal(str(value))
    return format_vi(d, 0) if d == d.to_integral_value() else format_vi(d, 2)


def requirement_vi(ev, rules, catalog) -> str:
    """What the figure must be, in the unit's words: "tối đa 159", "phải bằng 30/38 = 78,95 %"."""
    d, e = ev.detail, _n(ev.expected)
    texts = {
        "rate_matches_parts": f"phải bằng {_n(d.get('numerator'))}/{_n(d.get('denominator'))} = {e} % "
                              f"(sai lệch tối đa {_n(rules.settings['rate_tolerance_pp'])} điểm %)",
        "percent_in_range": "từ 0 đến 100 %",
        "count_not_negative": "không được âm",
        "count_is_whole": "phải là số nguyên",
        "total_equals_parts": f"phải bằng tổng các thành phần = {e}",
        "part_not_above_whole": f"tối đa {e}" + (f" ({short_name(catalog, d.get('whole'))})" if d.get("whole") else ""),
        "same_figure": f"phải bằng {e}",
        "cumulative_not_decreasing": f"tối thiểu {e} (số lũy kế quý {period_vi(d.get('previous_period'))})",
        "jump_within_history": f"gần mức các quý trước (trung vị {e}); kiểm tra lại số đã nhập",
        "levels_add_up": f"phải bằng tổng báo cáo của các đơn vị cấp dưới = {e}",
        "narrative_matches_appendix": f"lời văn và phụ lục phải cùng một số: phụ lục ghi {e}",
        "document_matches_spreadsheet": f"phải bằng {e} như tệp bảng tính gửi kèm",
    }
    return texts.get(ev.kind) or expectation_vi(ev, rules, catalog)




def _reason(message: str) -> str:
    """The rule's sentence without its "Biểu mẫu 3, dòng 140:" prefix (the table says where)."""
    return re.sub(r"^(Biểu mẫu \d+|Bảng \d+|Trang “[^”]*”), dòng \d+: ", "", message or "")


def unreported_runs(conn, run_id: str) -> list[str]:
    """Earlier runs that read files but ended (killed, failed) before writing their reports."""
    with conn.cursor() as cur:
        cur.execute("""select r.run_id from audit.load_runs r
                       where r.run_id <> %s and r.status in ('interrupted', 'failed') and r.reports_dir is null
                         and exists (select 1 from raw.files f where f.run_id = r.run_id)
                       order by r.started_at""", (run_id,))
        return [r[0] for r in cur.fetchall()]


def _status(f: dict) -> str:
    if f["status"] == "rejected":
        return "rejected"
    if f["review_decision"]:
        return "review_accepted" if f["review_decision"] == "accept" else "review_rejected"
    return f["decision"] or "pending"


def collect(conn, run_id: str | None = None, also: list[str] | tuple[str, ...] = (),
            file_ids: list[int] | None = None) -> list[UnitReport]:
    """Reports for the files ``run_id`` read and those of the runs in ``also``, or for the given file versions."""
    rules, catalog = load_rules(), load_catalog()
    selected = "f.run_id = any(%s)" if file_ids is None else "f.file_id = any(%s)"
    param = [run_id, *also] if file_ids is None else list(file_ids)
    today = dt.date.today().strftime("%d/%m/%Y")
    with conn.cursor(cursor_factory=RealDictCursor) as cur:
        cur.execute(f"""select f.file_id, f.path, f.content_hash, f.unit_code, f.year, f.quarter, f.status,
                               coalesce(u.name, f.unit_code, '?') as unit_name, g.decision,
                               d.review_decision, d.review_reason, d.reviewed_at
                        from raw.files f
                        left join raw.org_units u on u.unit_code = f.unit_code
                        left join audit.submission_gate g on g.file_id = f.file_id
                        left join {relation("int_submission_decisions")} d on d.file_id = f.file_id
                        where {selected} order by f.unit_code nulls last, f.year, f.quarter, f.file_id""", (param,))
        files = cur.fetchall()
        file_ids = [f["file_id"] for f in files]
        # A file's findings are those of the run that decided on it (a later run, for a killed one's files).
        cur.execute("""select d.* from audit.dq_results d
                       join audit.submission_gate g on g.file_id = d.file_id and g.run_id = d.run_id
                       where d.file_id = any(%s) and d.status = 'fail'
                       order by d.file_id, d.form nulls last, d.row_number nulls last, d.dq_result_id""", (file_ids,))
        fails: dict[int, list] = {}
        for r in cur.fetchall():
            fails.setdefault(r["file_id"], []).append(r)
        # STT, label and value column of every checked cell, for "Biểu mẫu 3 · STT 2.1 · ô D140"
        cur.execute("""select fa.file_id, fa.sheet, fa.row_number, fa.stt, fa.label, fa.col_number
                       from raw.facts fa where fa.file_id = any(%s)""", (list(fails),))
        cells = {(r["file_id"], r["sheet"], r["row_number"]): r for r in cur.fetchall()}
        cur.execute("select file_id, message, details from audit.rejected_files where file_id = any(%s)", (file_ids,))
        rejected: dict[int, list[str]] = {}
        for r in cur.fetchall():  # each reason whole (a reason may itself contain ";")
            errors = (r["details"] or {}).get("errors") or [r["message"]]
            rejected.setdefault(r["file_id"], []).extend(errors)
        cur.execute("""select file_id, message from raw.parse_issues where file_id = any(%s)
                       order by file_id, row_number""", (file_ids,))
        remarks = {}
        for r in cur.fetchall():
            remarks.setdefault(r["file_id"], []).append(r["message"])
        narrative = _narrative(cur, file_ids, catalog)
    reports = []
    for f in files:
        status = _status(f)
        period = f"{f['year']}-Q{f['quarter']}" if f["year"] else "?"
        report = UnitReport(unit_code=f["unit_code"] or "?", unit_name=f["unit_name"], period=period,
                            period_vi=period_vi(period), path=f["path"], content_hash=f["content_hash"],
                            status=status, status_vi=STATUS_VI[status], report_date=today,
                            deadline=report_due_date(f["year"], f["quarter"]).strftime("%d/%m/%Y") if f["year"] else "",
                            rejections=rejected.get(f["file_id"], []), file_id=f["file_id"],
                            remarks=remarks.get(f["file_id"], []), narrative=narrative.get(f["file_id"], []),
                            review_reason=f["review_reason"],
                            reviewed_on=f["reviewed_at"].astimezone(LOCAL_TZ).strftime("%d/%m/%Y")
                            if f["reviewed_at"] else None)
        by_cell: dict[tuple, Finding] = {}
        for r in fails.get(f["file_id"], []):
            if r["severity"] == "info":
                continue
            ev = evaluation_from_row({**r, "rule_kind": r["rule_kind"], "indicator": r["indicator"]})
            key = (r["sheet"], r["row_number"]) if r["row_number"] is not None else ("", r["dq_result_id"])
            finding = by_cell.get(key)
            if finding is None:
                fact = cells.get((f["file_id"], r["sheet"], r["row_number"]), {})
                in_table = (r["sheet"] or "").startswith("Bảng ") and r["row_number"] is not None
                column = column_letters(fact["col_number"] - 1) if fact.get("col_number") and not in_table else ""
                finding = by_cell[key] = Finding(
                    form=form_title(r["form"]).split(".")[0] if r["form"] else "", stt=str(fact.get("stt") or ""),
                    sheet="" if in_table else r["sheet"] or "",
                    cell=f"{column}{r['row_number']}" if column and r["row_number"] else "",
                    # a Word table has no cell letters: its rows are counted within it ("Bảng 2, dòng 14")
                    table_row=f"{r['sheet']}, dòng {r['row_number']}" if in_table else "",
                    label=fact.get("label") or short_name(catalog, r["indicator"]),
                    figure="" if r["observed"] is None else _n(r["observed"]),
                    severity=r["severity"], severity_vi=SEVERITY_VI[r["severity"]])
                report.findings.append(finding)
            elif r["severity"] == "error" and finding.severity != "error":
                finding.severity, finding.severity_vi = "error", SEVERITY_VI["error"]
            finding.reasons.append(_reason(r["message"]) or rules.kinds[r["rule_kind"]]["title_vi"])
            finding.requirements.append(requirement_vi(ev, rules, catalog))
        reports.append(report)
    return reports


def _narrative(cur, file_ids: list[int], catalog) -> dict[int, list[NarrativeLine]]:
    """The narrative figures of these files' Word reports, each with the cross-check of the run
    that decided on the file."""
    cur.execute("""select d.file_id, d.status, d.severity, d.expected, d.sheet, d.row_number, d.form,
                          (d.details ->> 'paragraph')::int as paragraph, (d.details ->> 'position')::int as position
                   from audit.dq_results d
                   join audit.submission_gate g on g.file_id = d.file_id and g.run_id = d.run_id
                   where d.file_id = any(%s) and d.rule_kind = 'narrative_matches_appendix'""", (file_ids,))
    checks = {(r["file_id"], r["paragraph"], r["position"]): r for r in cur.fetchall()}
    cur.execute("""select n.* from raw.narrative_figures n
                   where n.file_id = any(%s) order by n.file_id, n.paragraph_number, n.position""", (file_ids,))
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
        [Cell(f"Phản hồi kiểm tra số liệu CCHC — {report.unit_name} — Quý {report.period_vi}", "title")],
        [f"Tệp: {report.path}"],
        [f"Kết quả: {report.status_vi}"],
        [f"Ngày lập: {report.report_date}" + (f" · Hạn gửi báo cáo quý: {report.deadline}" if report.deadline else "")],
        [],
    ]
    if report.review_reason:
        rows.append([f"Ý kiến của Sở Nội vụ ({report.reviewed_on}): {report.review_reason}"])
        rows.append([])
    widths = dict(zip("ABCDEFGH", (12, 8, 8, 46, 12, 10, 52, 36), strict=True))
    heights: dict[int, float] = {}
    if report.rejections:
        rows.append([Cell("STT", "header"), None, None, Cell("Lý do từ chối", "header")])
        for i, reason in enumerate(report.rejections, 1):
            rows.append([Cell(str(i), "cell"), None, None, Cell(reason, "error")])
            heights[len(rows)] = wrapped_height([(reason, widths["D"])])
        rows.append([])
    freeze = 0
    if report.findings:
        rows.append([Cell(h, "header") for h in ("Biểu mẫu", "STT", "Ô", "Chỉ tiêu", "Số đã nhập", "Mức độ",
                                                 "Vấn đề", "Yêu cầu")])
        freeze = len(rows)
        for f in report.findings:
            reasons, requirements = "\n".join(f.reasons), "\n".join(f.requirements)
            rows.append([Cell(f.form, "cell"), Cell(f.stt, "cell"), Cell(f.cell or f.table_row or f.sheet, "cell"),
                         Cell(f.label, "cell"),
                         Cell(f.figure, "cell"), Cell(f.severity_vi, f.severity),
                         Cell(reasons, "cell"), Cell(requirements, "cell")])
            heights[len(rows)] = wrapped_height([(f.label, widths["D"]), (reasons, widths["G"]),
                                                 (requirements, widths["H"])])
    elif not report.rejections:
        rows.append(["Không phát hiện lỗi hay cảnh báo."])
    if report.errors and report.status != "review_accepted":
        rows += [[], [f"Sửa các ô có lỗi rồi đặt lại tệp vào thư mục {report.unit_code}/{report.period}/"
                      + (f" trước ngày {report.deadline}" if report.deadline else "")
                      + "; lần nạp tiếp theo sẽ tự kiểm tra lại."]]
    elif report.status == "review_rejected":
        rows += [[], [f"Sửa theo ý kiến của Sở Nội vụ rồi đặt lại tệp vào thư mục {report.unit_code}/{report.period}/"
                      + (f" trước ngày {report.deadline}" if report.deadline else "")
                      + "; lần nạp tiếp theo sẽ tự kiểm tra lại."]]
    sheets = [Sheet("Phản hồi", rows, col_widths=widths, freeze_rows=freeze, print_a4=True, landscape=True,
                    row_heights=heights)]
    if report.narrative:
        narrative_widths = dict(zip("ABCDEF", (8, 40, 14, 12, 36, 90), strict=True))
        lines: list[list] = [[Cell("Số liệu nêu trong phần thuyết minh của báo cáo", "title")], [],
                             [Cell(h, "header") for h in ("Đoạn", "Chỉ tiêu", "Phạm vi", "Số liệu",
                                                          "Đối chiếu với phụ lục", "Câu văn")]]
        narrative_heights: dict[int, float] = {}
        for n in report.narrative:
            lines.append([Cell(str(n.paragraph), "cell"), Cell(n.indicator, "cell"), Cell(n.scope, "cell"),
                          Cell(n.value, "cell"), Cell(n.check, n.severity or "cell"), Cell(n.sentence, "cell")])
            narrative_heights[len(lines)] = wrapped_height([(n.indicator, narrative_widths["B"]),
                                                            (n.check, narrative_widths["E"]),
                                                            (n.sentence, narrative_widths["F"])])
        sheets.append(Sheet("Thuyết minh", lines, col_widths=narrative_widths, freeze_rows=3, print_a4=True,
                            landscape=True, row_heights=narrative_heights))
    write_workbook(path, sheets)


def _dq_page(conn, run_id: str) -> dict:
    """What the run's data-quality page shows (the gate's GX expectations and the ledger's tallies), offline."""
    rules = load_rules()

    def title(kind: str) -> str:
        return rules.kinds.get(kind, {}).get("title_vi", kind)

    with conn.cursor(cursor_factory=RealDictCursor) as cur:
        cur.execute("""select rule_kind, severity, success, unexpected_count from audit.gx_validations
                       where run_id = %s order by success, rule_kind, severity""", (run_id,))
        expectations = [dict(r, title=title(r["rule_kind"]), severity_vi=SEVERITY_VI.get(r["severity"], r["severity"]))
                        for r in cur.fetchall()]
        cur.execute("""select rule_kind, severity, count(*) filter (where status = 'pass') as passed,
                              count(*) filter (where status = 'fail') as failed
                       from audit.dq_results where run_id = %s group by rule_kind, severity
                       order by failed desc, rule_kind, severity""", (run_id,))
        tallies = [dict(r, title=title(r["rule_kind"]), severity_vi=SEVERITY_VI.get(r["severity"], r["severity"]))
                   for r in cur.fetchall()]
    return {"run_id": run_id, "expectations": expectations, "tallies": tallies}


class ReportWriter:
    """Writes the two files of each report, each replaced in one step (readers never see half a file).

    A report equal to one already written by this writer is linked (or copied), not rendered again:
    the run's folder and <reports>/current hold the same report for every unit-quarter the run read,
    and rendering the workbooks was most of the report stage. Remembers paths, not contents.
    """

    def __init__(self):
        self.env = _env()
        self._written: dict[bytes, tuple[Path, Path]] = {}
        self._folders: set[Path] = set()  # made already: one mkdir per folder, not per report
        self.rendered = self.copied = 0

    def page(self, path: Path, template: str, **context) -> None:
        """A page of the run's folder (index.html, dq.html), from its template."""
        path.write_text(self.env.get_template(template).render(**context), encoding="utf-8")

    def write(self, report: UnitReport, html: Path, xlsx: Path) -> None:
        if html.parent not in self._folders:
            html.parent.mkdir(parents=True, exist_ok=True)
            self._folders.add(html.parent)
        tmp_html, tmp_xlsx = html.with_name(f".{html.name}.tmp"), xlsx.with_name(f".{xlsx.name}.tmp")
        # Everything a report shows is in its fields; the suffix only tells two files' names apart.
        key = hashlib.sha256(repr(replace(report, stem_suffix="")).encode()).digest()
        same = self._written.get(key)
        if same == (html, xlsx) and html.exists() and xlsx.exists():
            return  # this very report is there already
        if same is not None and same[0].exists() and same[1].exists():
            _link_or_copy(same[0], tmp_html)
            _link_or_copy(same[1], tmp_xlsx)
            self.copied += 1
        else:
            tmp_html.write_text(self.env.get_template("feedback.html").render(r=report), encoding="utf-8")
            _write_xlsx(report, tmp_xlsx)
            self.rendered += 1
        os.replace(tmp_html, html)
        os.replace(tmp_xlsx, xlsx)
        self._written[key] = (html, xlsx)


def _link_or_copy(source: Path, target: Path) -> None:
    """The same report under a second name: a hard link (no bytes copied), or a copy where links fail.

    Sharing the file is safe because no report is ever changed where it lies: each is written
    beside its name and renamed over it, which gives the name a new file. A temporary file left at
    ``target`` by an interrupted run is removed when the link meets it, not looked for beforehand: a
    national quarter links 8,000 files, and removing names that are not there cost a second on a slow disk.
    """
    try:
        os.link(source, target)
    except FileExistsError:
        target.unlink()
        _link_or_copy(source, target)
    except OSError:  # another file system, or one without hard links
        shutil.copyfile(source, target)


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


def write_run_reports(conn, run_id: str, reports_dir: Path, also: list[str] | tuple[str, ...] = (),
                      writer: ReportWriter | None = None, collected: dict[int, UnitReport] | None = None) -> Path:
    """The run's folder: a report for each file the run (and the runs in ``also``) read, its index and
    its data-quality page. ``collected``, when given, receives the reports by file id, for
    ``write_current_reports`` to reuse."""
    reports = collect(conn, run_id, also)
    if collected is not None:
        collected.update((report.file_id, report) for report in reports)
    out = run_folder(conn, run_id, reports_dir)
    writer = writer or ReportWriter()
    taken: set[tuple[str, str]] = set()
    for report in reports:  # two entries with the same bytes (or none read) in one folder: two reports
        if (report.unit_dir, report.file_stem) in taken:
            report.stem_suffix = f"_{report.file_id}"
        taken.add((report.unit_dir, report.file_stem))
    for report in reports:
        unit_dir = out / report.unit_dir
        writer.write(report, unit_dir / f"{report.file_stem}.html", unit_dir / f"{report.file_stem}.xlsx")
    writer.page(out / "index.html", "index.html", run_id=run_id, reports=reports)
    writer.page(out / "dq.html", "dq.html", **_dq_page(conn, run_id))
    return out


def current_report_paths(reports_dir: Path, unit_code: str, period: str) -> tuple[Path, Path]:
    folder = reports_dir / CURRENT_DIR / unit_folder(unit_code)
    return folder / f"{safe_name(period)}.html", folder / f"{safe_name(period)}.xlsx"


def write_current_reports(conn, run_id: str, reports_dir: Path, writer: ReportWriter | None = None,
                          collected: dict[int, UnitReport] | None = None) -> int:
    """Bring <reports>/current up to date: the latest version of every unit-quarter this run read
    a file for or the data team reviewed since the last time (every unit-quarter the first time).
    Returns how many unit-quarters were written.

    ``collected``: the reports ``write_run_reports`` just made, by file id. A unit-quarter's latest
    version is nearly always a file the run read, whose report is the same here: it is taken from
    there instead of being read from the warehouse a second time (0.45 s of a national quarter's
    3.5 s report stage). A unit-quarter reviewed since the last time is read afresh: the
    review may have come after the run's folder was written."""
    marker = reports_dir / CURRENT_DIR / ".reviews_reported"
    first = not marker.exists()
    reviewed_before = 0 if first else int(marker.read_text(encoding="utf-8").strip() or 0)
    with conn.cursor() as cur:
        cur.execute("select coalesce(max(review_id), 0) from audit.submission_review")
        reviews_now = cur.fetchone()[0]
        cur.execute("""with touched as (
                           select unit_code, year, quarter, false as reviewed from raw.files
                           where %s or run_id = %s
                           union all
                           select unit_code, year, quarter, true from audit.submission_review where review_id > %s
                       )
                       select max(f.file_id), bool_or(t.reviewed)
                       from raw.files f
                       join touched t on t.unit_code = f.unit_code and t.year = f.year and t.quarter = f.quarter
                       group by f.unit_code, f.year, f.quarter""", (first, run_id, reviewed_before))
        latest = cur.fetchall()
    known = collected or {}
    reports = [known[file_id] for file_id, reviewed in latest if file_id in known and not reviewed]
    unknown = [file_id for file_id, reviewed in latest if file_id not in known or reviewed]
    if unknown:
        reports += collect(conn, file_ids=unknown)
    writer = writer or ReportWriter()
    for report in reports:
        html, xlsx = current_report_paths(reports_dir, report.unit_code, report.period)
        writer.write(report, html, xlsx)
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text(f"{reviews_now}\n", encoding="utf-8")
    return len(latest)
