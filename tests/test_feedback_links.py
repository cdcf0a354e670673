"""The feedback index links to every unit's report by the same safe name its folder has, relatively:
a hostile folder name can neither break a link nor become a script or an address elsewhere."""
from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import unquote, urlsplit

from ingestion.feedback import report as feedback
from ingestion.feedback.report import STATUS_VI, UnitReport

HOSTILE_CODES = ["79001", "javascript:alert(1)", "..", "../../etc", "a b/c", "Phường 7", "//evil.example/x",
                 "data:text/html,<script>alert(1)</script>", "x\"onmouseover=\"alert(1)", "?", ".hidden", "%2e%2e"]


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self.hrefs.append(dict(attrs).get("href", ""))


def test_index_links_are_relative_and_lead_to_the_reports(tmp_path, monkeypatch):
    reports = [UnitReport(unit_code=code, unit_name=f"Đơn vị {code}", period="2026-Q3", period_vi="III/2026",
                          path=f"{code}/2026-Q3/bao_cao.xlsx", content_hash=f"{i:064x}", status="rejected",
                          status_vi=STATUS_VI["rejected"], rejections=["tệp bị hỏng"])
               for i, code in enumerate(HOSTILE_CODES)]
    for i, report in enumerate(reports):
        report.file_id = i
    # a pipe and a broken link in one folder: no bytes read, the same hash, still two reports
    twin = UnitReport(**{**reports[0].__dict__, "file_id": 99})
    reports.append(twin)
    monkeypatch.setattr(feedback, "collect", lambda conn, run_id, also=(): reports)

    def run_folder(conn, run_id, reports_dir):  # the run's start is read from the warehouse
        out = reports_dir / "2026-01-01_080000"
        out.mkdir(parents=True, exist_ok=True)
        return out

    monkeypatch.setattr(feedback, "run_folder", run_folder)
    monkeypatch.setattr(feedback, "_dq_page",  # needs the warehouse
                        lambda conn, run_id: {"run_id": run_id, "expectations": [], "tallies": []})
    out = feedback.write_run_reports(None, "manual__20260101T010000_abcdef", tmp_path)
    assert out.parent == tmp_path
    parser = _Links()
    parser.feed((out / "index.html").read_text(encoding="utf-8"))
    assert parser.hrefs[0] == "dq.html"  # the run's data-quality page, beside the index
    assert len(parser.hrefs) == len(set(parser.hrefs)) == 2 * len(reports) + 1
    for href in parser.hrefs:
        parts = urlsplit(href)
        assert not parts.scheme and not parts.netloc and not href.startswith("/"), href
        target = (out / unquote(parts.path)).resolve()
        assert target.is_file(), href  # the link leads to the report that was written
        assert out.resolve() in target.parents, href  # ... inside this run's folder
    written = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.html") if p.parent != out)
    assert len(written) == len(reports)
    assert all("/" in w and w.count("/") == 1 for w in written)  # one folder level, no escape


def test_an_equal_report_is_copied_byte_for_byte_and_a_different_one_rendered(tmp_path):
    """The run's folder and current/ hold the same report for each unit-quarter the run read: rendered once."""
    report = UnitReport(unit_code="T01X0001", unit_name="Xã Một", period="2026-Q3", period_vi="III/2026",
                        path="T01X0001/2026-Q3/bao_cao.xlsx", content_hash="ab" * 32, status="rejected",
                        status_vi=STATUS_VI["rejected"], rejections=["tệp bị hỏng"], file_id=7)
    writer = feedback.ReportWriter()
    writer.write(report, tmp_path / "run" / "a.html", tmp_path / "run" / "a.xlsx")
    same = UnitReport(**{**report.__dict__, "stem_suffix": "_7"})  # another name, the same content
    writer.write(same, tmp_path / "current" / "b.html", tmp_path / "current" / "b.xlsx")
    assert (writer.rendered, writer.copied) == (1, 1)
    fresh = feedback.ReportWriter()  # rendered from scratch, the copy has the same bytes
    fresh.write(same, tmp_path / "fresh" / "b.html", tmp_path / "fresh" / "b.xlsx")
    for name in ("b.html", "b.xlsx"):
        assert (tmp_path / "current" / name).read_bytes() == (tmp_path / "fresh" / name).read_bytes()

    changed = UnitReport(**{**report.__dict__, "rejections": ["tệp Excel định dạng cũ (.xls)"]})
    writer.write(changed, tmp_path / "current" / "b.html", tmp_path / "current" / "b.xlsx")
    assert (writer.rendered, writer.copied) == (2, 1)
    assert "định dạng cũ" in (tmp_path / "current" / "b.html").read_text(encoding="utf-8")
    # The run's folder keeps the report it was given: a report is replaced, never changed where it lies.
    kept = (tmp_path / "run" / "a.html").read_text(encoding="utf-8")
    assert "tệp bị hỏng" in kept and "định dạng cũ" not in kept
    writer.write(changed, tmp_path / "current" / "b.html", tmp_path / "current" / "b.xlsx")  # the same, again
    assert (writer.rendered, writer.copied) == (2, 1)
    assert not list(tmp_path.rglob(".*.tmp"))


def test_a_report_shared_under_a_second_name_replaces_a_leftover_without_touching_other_reports(tmp_path):
    """A run killed between linking and renaming leaves ".x.tmp" sharing another report's file; the next
    link to that name must give it the new report and leave the other report as it was."""
    source, other, leftover = tmp_path / "a.html", tmp_path / "b.html", tmp_path / ".c.html.tmp"
    source.write_text("report A", encoding="utf-8")
    other.write_text("report B", encoding="utf-8")
    leftover.hardlink_to(other)
    feedback._link_or_copy(source, leftover)
    assert leftover.read_text(encoding="utf-8") == "report A"
    assert other.read_text(encoding="utf-8") == "report B"
    fresh = tmp_path / ".d.html.tmp"
    feedback._link_or_copy(source, fresh)  # the usual case: nothing there yet
    assert fresh.read_text(encoding="utf-8") == "report A" and fresh.stat().st_ino == source.stat().st_ino
