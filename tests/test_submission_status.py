"""Where every unit stands (fct_submission_status), reviews with reasons, and reporting rates.

One province, one quarter, every state a unit can be in: missing, late, rejected (unreadable),
held, accepted with warnings, accepted, accepted on review, rejected on review (its figures
withdrawn), and resubmitted after a review (checked afresh).
"""
from __future__ import annotations

import datetime as dt
import json
import os
import re

import psycopg2
import pytest
from conftest import generated_inbox, incremental_marts, set_figure, marts_fingerprint, query

from ingestion import cli, config
from ingestion.feedback import report as feedback
from ingestion.pipeline import nightly
from ingestion.pipeline.dbt import run_dbt
from ingestion.review import ReviewError, record_review
from ingestion.warehouse import access
from ingestion.warehouse.connection import connect

pytestmark = pytest.mark.e2e
PERIOD = "2026-Q2"
DUE = dt.date(2026, 6, 21)  # 14 June (Nghị định 09 cut-off) + 7 days
FORCED = {
    ("T01X0001", PERIOD): "missing",
    ("T01X0002", PERIOD): "legacy_xls",         # rejected at load
    ("T01X0003", PERIOD): "rate_mismatch",      # held, stays held
    ("T01X0004", PERIOD): "staff_above_quota",  # accepted with a warning
    ("T01X0006", PERIOD): "part_above_whole",   # held, then accepted on review, then resubmitted
}
LATE_UNIT, REVIEW_ACCEPT, REVIEW_REJECT = "T01X0005", "T01X0006", "T01X0007"


def _sent(path, day: dt.date) -> None:
    stamp = dt.datetime.combine(day, dt.time(9, 0)).timestamp()
    os.utime(path, (stamp, stamp))


def _status(dsn) -> dict[str, dict]:
    cols = ("unit_code", "state", "is_expected", "is_reporting", "is_on_time", "is_late", "days_late", "version_count",
            "error_count", "warning_count", "latest_file_id", "published_file_id", "reviewed_by", "state_reason",
            "error_rules")
    rows = query(dsn, f"select {', '.join(cols)} from marts.fct_submission_status where period_key = %s", (PERIOD,))
    return {r[0]: dict(zip(cols, r)) for r in rows}


def _completeness(dsn) -> dict:
    cols = ("expected_units", "reporting_units", "on_time_units", "sent_units", "held_units", "rejected_units",
            "missing_units", "reporting_rate", "timeliness_rate")
    row = query(dsn, f"select {', '.join(cols)} from marts.fct_reporting_completeness where period_key = %s", (PERIOD,))
    assert len(row) == 1
    return dict(zip(cols, row[0]))


def _published_figures(dsn, unit: str) -> int:
    return query(dsn, "select count(*) from marts.fct_indicator_value where unit_code = %s and period_key = %s",
                 (unit, PERIOD))[0][0]


def _review(dsn, unit: str, decision: str, reason: str, by: str = "Nguyễn Thị Lan"):
    """As `cchc review` and the console do it: logged in as the pipeline role, not the administrator."""
    conn = connect(access.resolve().pipeline)
    try:
        return record_review(conn, unit, PERIOD, decision, reason, by)
    finally:
        conn.close()



def test_every_state_reviews_and_reporting_rate(pipeline_env, capsys, monkeypatch):
    inbox, dsn = pipeline_env["inbox"], pipeline_env["dsn"]
    collected: list[tuple[str | None, list[int] | None]] = []  # what the feedback reports read from the warehouse
    collect = feedback.collect

    def collect_spy(conn, run_id=None, also=(), file_ids=None):
        collected.append((run_id, None if file_ids is None else sorted(file_ids)))
        return collect(conn, run_id, also, file_ids)

    monkeypatch.setattr(feedback, "collect", collect_spy)
    generated_inbox(inbox, units=12, quarters=1, error_rate=0.0, seed=41, end=(2026, 2), forced=FORCED)
    files = {p.relative_to(inbox).parts[0]: p for p in inbox.rglob("*.xls*") if "_registry" not in p.parts}
    assert "T01X0001" not in files
    for unit, path in files.items():
        _sent(path, DUE + dt.timedelta(days=9) if unit == LATE_UNIT else DUE - dt.timedelta(days=3))

    first = nightly.run_all(docs=False)
    assert first["status"] == "success"
    # The run's files are read once for its folder; current/ reuses those reports.
    assert collected == [(first["run_id"], None)]
    status = _status(dsn)
    expected_units = len(status)
    assert expected_units == 12
    assert status["T01X0001"]["state"] == "missing" and status["T01X0001"]["days_late"] is None
    assert status["T01X0002"]["state"] == "rejected" and ".xls" in status["T01X0002"]["state_reason"]
    assert status["T01X0003"]["state"] == "held" and status["T01X0003"]["error_count"] == 1
    assert status["T01X0003"]["error_rules"] == ["rate_matches_parts:egov_online_dossier_rate"]
    assert status["T01X0003"]["state_reason"].startswith("Biểu mẫu 7, dòng")
    assert status["T01X0004"]["state"] == "accepted_with_warnings" and status["T01X0004"]["warning_count"] == 1
    assert status[LATE_UNIT]["state"] == "accepted"
    assert status[LATE_UNIT]["is_late"] and status[LATE_UNIT]["days_late"] == 9 and not status[LATE_UNIT]["is_on_time"]
    assert status[REVIEW_ACCEPT]["state"] == "held"
    assert status[REVIEW_REJECT]["state"] == "accepted" and status[REVIEW_REJECT]["is_on_time"]
    # Reporting counts accepted submissions only: not the missing, rejected or two held units.
    completeness = _completeness(dsn)
    assert completeness["expected_units"] == 12 and completeness["sent_units"] == 11
    assert completeness["reporting_units"] == 12 - 4
    assert completeness["held_units"] == 2 and completeness["rejected_units"] == 1 and completeness["missing_units"] == 1
    assert completeness["on_time_units"] == 12 - 4 - 1  # the late unit reports, not on time
    assert float(completeness["reporting_rate"]) == round(100 * 8 / 12, 2)
    assert _published_figures(dsn, REVIEW_ACCEPT) == 0 and _published_figures(dsn, REVIEW_REJECT) > 0

    # Reviews: refused when they make no sense or have no reason.
    with pytest.raises(ReviewError, match="lý do"):
        _review(dsn, REVIEW_ACCEPT, "accept", "ok")
    with pytest.raises(ReviewError, match="đã được chấp nhận"):
        _review(dsn, REVIEW_REJECT, "accept", "Số liệu đúng theo hướng dẫn của tỉnh")
    with pytest.raises(ReviewError, match="chưa gửi"):
        _review(dsn, "T01X0001", "accept", "Số liệu đúng theo hướng dẫn của tỉnh")
    with pytest.raises(ReviewError, match="không đọc được"):
        _review(dsn, "T01X0002", "accept", "Số liệu đúng theo hướng dẫn của tỉnh")
    accepted = _review(dsn, REVIEW_ACCEPT, "accept",
                       "Đơn vị giải trình bằng văn bản: số TTHC có hồ sơ tính cả thủ tục liên thông")
    assert cli.main(["review", "reject", REVIEW_REJECT, PERIOD, "--reason",
                     "Số liệu khác báo cáo giấy đã ký, đơn vị xác nhận nhập nhầm", "--by", "Trần Văn Bình"]) == 0
    assert "Đã ghi nhận" in capsys.readouterr().out
    rows = query(dsn, """select unit_code, decision, reviewed_by, content_hash, state_before,
                                jsonb_array_length(rule_results) from audit.submission_review order by review_id""")
    hashes = dict(query(dsn, "select unit_code, content_hash from raw.files where file_id in (%s, %s)",
                        (status[REVIEW_ACCEPT]["latest_file_id"], status[REVIEW_REJECT]["latest_file_id"])))
    held_hash = hashes[REVIEW_ACCEPT]
    assert rows == [(REVIEW_ACCEPT, "accept", "Nguyễn Thị Lan", held_hash, "held", 1),
                    (REVIEW_REJECT, "reject", "Trần Văn Bình", hashes[REVIEW_REJECT], "accepted", 0)]
    assert accepted.content_hash == held_hash

    # The review history is append-only, and a reason is required by the database itself.
    for statement in ("update audit.submission_review set reason = 'x'", "delete from audit.submission_review",
                      "truncate audit.submission_review"):
        with pytest.raises(psycopg2.Error, match="append-only"):
            query(dsn, statement)
    with pytest.raises(psycopg2.errors.CheckViolation):
        query(dsn, """insert into audit.submission_review (file_id, content_hash, unit_code, year, quarter, decision,
                          reason, reviewed_by, state_before, rule_results)
                      select file_id, content_hash, unit_code, year, quarter, 'accept', '  ', 'x', 'held', '[]'
                      from raw.files limit 1""")

    # Before the next run the worklist shows the reviews as waiting; nothing is published yet.
    assert cli.main(["status", "--quarter", PERIOD]) == 0
    out = capsys.readouterr().out
    assert "áp dụng ở lần nạp tới" in out and "Tạm giữ" in out and "Chưa gửi" in out
    assert _published_figures(dsn, REVIEW_ACCEPT) == 0

    # A rerun with no new file applies them: the accepted version is published, the rejected one withdrawn.
    collected.clear()
    second = nightly.run_all(docs=False)
    assert second["files_new"] == 0 and second["marts_published"]
    status = _status(dsn)
    assert status[REVIEW_ACCEPT]["state"] == "review_accepted" and status[REVIEW_ACCEPT]["is_reporting"]
    assert status[REVIEW_ACCEPT]["reviewed_by"] == "Nguyễn Thị Lan"
    assert status[REVIEW_REJECT]["state"] == "review_rejected" and not status[REVIEW_REJECT]["is_reporting"]
    assert "nhập nhầm" in status[REVIEW_REJECT]["state_reason"]
    assert _published_figures(dsn, REVIEW_ACCEPT) > 0 and _published_figures(dsn, REVIEW_REJECT) == 0
    for mart in ("fct_tthc_processing", "fct_staffing", "fct_finance"):
        assert query(dsn, f"select count(*) from marts.{mart} where unit_code = %s", (REVIEW_REJECT,))[0][0] == 0
    assert query(dsn, """select count(*) from marts.fct_indicator_rollup
                         where rollup_scope = 'current_unit' and unit_code = %s""", (REVIEW_REJECT,))[0][0] == 0
    assert query(dsn, """select count(*) from marts.fct_indicator_rollup
                         where rollup_scope = 'current_unit' and unit_code = %s""", (REVIEW_ACCEPT,))[0][0] > 0
    # Held and rejected units are still on the list after a run that changed nothing for them.
    assert status["T01X0003"]["state"] == "held" and status["T01X0002"]["state"] == "rejected"
    assert {"period_key": PERIOD, "state": "held", "units": 1} in second["open_items"]
    assert _completeness(dsn)["reporting_units"] == 8  # one accepted on review, one rejected on review
    reviews = query(dsn, "select unit_code, review_decision, is_standing from marts.fct_submission_reviews order by 1")
    assert reviews == [(REVIEW_ACCEPT, "accept", True), (REVIEW_REJECT, "reject", True)]
    # The BI role reads the status and the reviews like any mart.
    reader = psycopg2.connect(access.resolve().bi.url())
    try:
        with reader.cursor() as cur:
            cur.execute("select count(*) from marts.fct_submission_status")
            assert cur.fetchone()[0] == expected_units
            cur.execute("select count(*) from marts.fct_submission_reviews")
            assert cur.fetchone()[0] == 2
    finally:
        reader.close()

    # Current feedback for the unit-quarter follows the review; run folders are named by date.
    reports = config.load_settings().reports_dir
    current = (reports / "current" / REVIEW_ACCEPT / f"{PERIOD}.html").read_text(encoding="utf-8")
    assert "sau khi Sở Nội vụ xem xét" in current and "liên thông" in current
    assert (reports / "current" / REVIEW_ACCEPT / f"{PERIOD}.xlsx").is_file()
    assert not (reports / "current" / "T01X0001").exists()
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}_\d{6}(_\d+)?", os.path.basename(second["reports_dir"]))
    # The run read no file; current/ read the two reviewed unit-quarters' latest versions.
    reviewed_files = sorted(r[0] for r in query(dsn, """select max(file_id) from raw.files where unit_code in (%s, %s)
                                                         group by unit_code""", (REVIEW_ACCEPT, REVIEW_REJECT)))
    assert collected == [(second["run_id"], None), (None, reviewed_files)]
    # A unit-quarter reviewed since current/ was last written is read afresh, even when the run's folder
    # has a report for the same file (the review may have come after that report was made).
    (reports / "current" / ".reviews_reported").write_text("0\n", encoding="utf-8")
    conn = connect(access.resolve().pipeline)
    try:
        stale = feedback.collect(conn, file_ids=[max(reviewed_files)])[0]
        stale.status, stale.status_vi, stale.review_reason = "held", feedback.STATUS_VI["held"], None
        feedback.write_current_reports(conn, second["run_id"], reports, collected={stale.file_id: stale})
    finally:
        conn.close()
    unit = query(dsn, "select unit_code from raw.files where file_id = %s", (stale.file_id,))[0][0]
    assert "sau khi Sở Nội vụ xem xét" in (reports / "current" / unit / f"{PERIOD}.html").read_text(encoding="utf-8")

    # Incremental marts after reviews equal a full rebuild (withdrawn rows included), and the standby
    # the next build starts from lost the withdrawn rows too.
    incremental = marts_fingerprint(dsn, exclude_columns=())
    standby = marts_fingerprint(dsn, exclude_columns=(), schema="marts_next")
    assert {t: v for t, v in incremental.items() if t in incremental_marts() and standby.get(t) != v} == {}
    # The standing decisions, built incrementally, are those the view computes from every decision and review.
    decided = "select file_id, decision, decision_seq, review_decision, gate_seq from intermediate.{}"
    assert sorted(query(dsn, decided.format("int_submission_outcomes"))) == \
        sorted(query(dsn, decided.format("int_submission_decisions")))
    run_dbt(dsn, config.load_settings().dbt_target_dir,
            ["build", "--full-refresh", "--selector", "publish", "--vars", json.dumps({"marts_schema": "marts_rebuilt"})])
    rebuilt = marts_fingerprint(dsn, exclude_columns=(), schema="marts_rebuilt")
    assert {t: v for t, v in incremental.items() if v != rebuilt[t]} == {}

    # The unit sends a new file: checked afresh, the review does not carry over to it.
    set_figure(files[REVIEW_ACCEPT], "Số văn bản chỉ đạo CCHC", 17)
    collected.clear()
    third = nightly.run_all(docs=False)
    assert collected == [(third["run_id"], None)]
    assert third["files_new"] == 1 and third["submissions_held"] == 1
    status = _status(dsn)
    resent = status[REVIEW_ACCEPT]
    assert resent["state"] == "held" and resent["version_count"] == 2 and resent["reviewed_by"] is None
    assert resent["published_file_id"] != resent["latest_file_id"]  # the accepted version stays published
    assert resent["is_reporting"]
    current = (reports / "current" / REVIEW_ACCEPT / f"{PERIOD}.html").read_text(encoding="utf-8")
    assert "Tạm giữ" in current


def test_a_fresh_review_publishes_on_an_unchanged_rerun_through_the_fingerprint(pipeline_env):
    """The publish step skips when nothing changed; a review is a change."""
    inbox, dsn = pipeline_env["inbox"], pipeline_env["dsn"]
    generated_inbox(inbox, units=12, quarters=1, error_rate=0.0, seed=41, end=(2026, 2),
                    forced={("T01X0006", PERIOD): "part_above_whole"})
    nightly.run_all(docs=False)
    assert not nightly.run_all(docs=False)["marts_published"]  # nothing new: skipped
    _review(dsn, "T01X0006", "accept", "Quy tắc không áp dụng: số liệu đúng theo công văn của tỉnh")
    assert nightly.run_all(docs=False)["marts_published"]
    assert _published_figures(dsn, "T01X0006") > 0


def _worklist(dsn, schema: str = "marts") -> dict[tuple[str, str], tuple]:
    rows = query(dsn, f"select unit_code, period_key, unit_name, state, is_expected from {schema}.fct_submission_status")
    return {(r[0], r[1]): r[2:] for r in rows}


def _same_as_a_whole_build(dsn) -> None:
    """The worklist as built night by night equals one built whole, and the standby the next build starts from."""
    run_dbt(dsn, config.load_settings().dbt_target_dir,
            ["build", "--full-refresh", "--selector", "publish", "--vars", json.dumps({"marts_schema": "marts_rebuilt"})])
    assert _worklist(dsn) == _worklist(dsn, "marts_rebuilt") == _worklist(dsn, "marts_next")


def test_the_worklist_follows_new_quarters_and_the_registry(pipeline_env, tmp_path):
    """fct_submission_status is built per changed unit-quarter: a quarter's first file brings a row for every
    unit expected in it. A registry change (a unit renamed, one added, one starting later) moves rows no file
    touched: the worklist is then built whole, the rows of a unit no longer expected removed."""
    import csv
    import shutil

    from cchc_tools.demo.generator import generate

    inbox, dsn = pipeline_env["inbox"], pipeline_env["dsn"]
    generated_inbox(inbox, units=6, quarters=1, error_rate=0.0, seed=43, end=(2026, 2))
    assert nightly.run_all(docs=False)["marts_published"]
    q2 = _worklist(dsn)
    expected = sorted(unit for (unit, period), row in q2.items() if row[2])
    assert len(expected) >= 6 and all(period == "2026-Q2" for _, period in q2)

    # The next quarter: one unit has sent its report so far.
    generate(tmp_path / "q3", units=6, quarters=1, error_rate=0.0, seed=43, end=(2026, 3))
    sender = expected[-1]
    shutil.copytree(tmp_path / "q3" / sender / "2026-Q3", inbox / sender / "2026-Q3")
    assert nightly.run_all(docs=False)["files_new"] == 1
    q3 = {unit: row for (unit, period), row in _worklist(dsn).items() if period == "2026-Q3"}
    assert sorted(q3) == expected
    assert q3[sender][1].startswith("accepted") and {row[1] for unit, row in q3.items() if unit != sender} == {"missing"}
    assert {key: row for key, row in _worklist(dsn).items() if key[1] == "2026-Q2"} == q2  # untouched
    _same_as_a_whole_build(dsn)

    # The registry: a unit renamed, a commune added, one whose start moves past both quarters (it sent Q2's report).
    registry = inbox / "_registry" / "org_units.csv"
    with registry.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    communes = [r for r in rows if r["level"] == "commune" and r["unit_code"] in expected]
    renamed, moved, parent = communes[0]["unit_code"], communes[1]["unit_code"], communes[0]["parent_code"]
    for r in rows:
        if r["unit_code"] == renamed:
            r["name"] = "Xã Đổi Tên"
        if r["unit_code"] == moved:
            r["valid_from"] = "2026-10-01"
    added = dict(rows[-1], unit_code="T01X9999", name="Xã Mới Lập", parent_code=parent, valid_from="2025-07-01",
                 valid_to="")
    assert added["level"] == "commune"
    with registry.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows([*rows, added])
    assert nightly.run_all(docs=False)["marts_published"]
    worklist = _worklist(dsn)
    assert {worklist[(renamed, p)][0] for p in ("2026-Q2", "2026-Q3")} == {"Xã Đổi Tên"}
    assert worklist[("T01X9999", "2026-Q2")][1:] == worklist[("T01X9999", "2026-Q3")][1:] == ("missing", True)
    assert worklist[(moved, "2026-Q2")][1:] == (q2[(moved, "2026-Q2")][1], False)  # sent, though not expected
    assert (moved, "2026-Q3") not in worklist  # neither expected nor sent
    _same_as_a_whole_build(dsn)
