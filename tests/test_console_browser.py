"""The console in a real browser (headless Chromium): the data team's morning on the demo data.

Load the worklist of the demo quarter, open a held unit, accept it with a reason; after the
next run its figures are in the marts and the audit keeps who and why. The dashboards draw
offline. Screenshots go to test-artifacts/.
"""
from __future__ import annotations

import httpx
import pytest
from conftest import query
from console_support import ARTIFACTS, OfflineGuard, chromium, console_server

from ingestion import config
from cchc_tools.demo.generator import DEMO_END, write_demo_inbox
from ingestion.pipeline import nightly
from ingestion.rules.messages import period_vi
from ingestion.warehouse import access

pytestmark = pytest.mark.e2e
QUARTER = f"{DEMO_END[0]}-Q{DEMO_END[1]}"
HELD_UNIT = "T01X0009"  # held by the gate in the demo's latest quarter (part above its whole)
REASON = "Đơn vị giải trình bằng công văn số 125/UBND: số TTHC có hồ sơ trực tuyến tính cả thủ tục liên thông."
REVIEWER = "Nguyễn Thị Lan"


def _figures(dsn, unit: str) -> int:
    return query(dsn, "select count(*) from marts.fct_indicator_value where unit_code = %s and period_key = %s",
                 (unit, QUARTER))[0][0]


def test_worklist_review_and_dashboards_in_chromium(pipeline_env):
    dsn, inbox = pipeline_env["dsn"], pipeline_env["inbox"]
    write_demo_inbox(inbox)
    assert nightly.run_all(docs=False)["status"] == "success"
    assert _figures(dsn, HELD_UNIT) == 0
    reports = config.load_settings().reports_dir
    ARTIFACTS.mkdir(exist_ok=True)

    # The console logs in as the pipeline role, as `cchc console` does.
    with console_server(access.resolve().pipeline, reports) as base, chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 900}, locale="vi-VN")
        guard = OfflineGuard(page, base)

        # The worklist of the demo quarter: held, rejected and missing units are on it.
        page.goto(f"{base}/worklist")
        assert f"quý {period_vi(QUARTER)}" in page.title()
        held_row = page.locator(f"tr[data-unit='{HELD_UNIT}']")
        assert held_row.get_attribute("data-state") == "held"
        assert "Tạm giữ" in held_row.inner_text()
        states = {r.get_attribute("data-state") for r in page.locator("tr[data-unit]").all()}
        assert {"held", "rejected", "missing", "accepted"} <= states
        page.click("a.chip[data-filter='held']")
        page.wait_for_url("**show=held**")
        shown = {r.get_attribute("data-state") for r in page.locator("tr[data-unit]").all()}
        assert shown == {"held"}
        page.screenshot(path=str(ARTIFACTS / "console-worklist-held.png"), full_page=True)

        # The held unit's page: its failed rule, then accept it with a reason.
        page.click(f"tr[data-unit='{HELD_UNIT}'] a.unit-link")
        page.wait_for_url(f"**/unit/{HELD_UNIT}**")
        rules = page.locator("table.rules tbody tr")
        assert rules.count() >= 1 and "Biểu mẫu 7" in rules.first.inner_text()
        page.fill("#reason", REASON)
        page.fill("#reviewed_by", REVIEWER)
        page.click("form.review-form button[type=submit]")
        page.wait_for_url("**recorded=**")
        assert "Đã ghi nhận" in page.locator(".flash.ok").inner_text()
        assert "lần nạp tới" in page.locator(".flash.info").inner_text()
        page.screenshot(path=str(ARTIFACTS / "console-unit-accepted.png"), full_page=True)

        audit = query(dsn, """select decision, reason, reviewed_by, state_before, content_hash
                              from audit.submission_review where unit_code = %s""", (HELD_UNIT,))
        assert [a[:4] for a in audit] == [("accept", REASON, REVIEWER, "held")]

        # The next run publishes that version; the worklist says who accepted it.
        second = nightly.run_all(docs=False)
        assert second["files_new"] == 0 and second["marts_published"]
        assert _figures(dsn, HELD_UNIT) > 0
        published = query(dsn, """select f.content_hash from marts.fct_indicator_value v join raw.files f using (file_id)
                                  where v.unit_code = %s and v.period_key = %s limit 1""", (HELD_UNIT, QUARTER))
        assert published[0][0] == audit[0][4]
        assert query(dsn, "select reviewed_by from marts.fct_submission_reviews where unit_code = %s",
                     (HELD_UNIT,)) == [(REVIEWER,)]
        page.goto(f"{base}/worklist?quarter={QUARTER}")
        row = page.locator(f"tr[data-unit='{HELD_UNIT}']")
        assert row.get_attribute("data-state") == "review_accepted" and REVIEWER in row.inner_text()
        page.screenshot(path=str(ARTIFACTS / "console-worklist.png"), full_page=True)

        # Dashboards: every chart drawn by the locally served plotly.js.
        page.goto(f"{base}/dashboards?quarter={QUARTER}")
        charts = page.locator(".chart[data-figure]")
        assert charts.count() >= 8
        page.wait_for_function("document.querySelectorAll('.chart[data-rendered=true]').length === "
                               "document.querySelectorAll('.chart[data-figure]').length", timeout=30_000)
        assert page.locator(".chart .main-svg").count() >= charts.count()
        page.screenshot(path=str(ARTIFACTS / "console-dashboards.png"), full_page=True)
        assert guard.blocked == [] and guard.errors == []

    # Without a browser: the console refuses cross-site posts and paths outside the reports.
    with console_server(access.resolve().pipeline, reports) as base, httpx.Client(base_url=base, follow_redirects=False) as client:
        forged = client.post("/unit/T01X0004/review", headers={"Origin": "http://example.org"},
                             data={"quarter": QUARTER, "decision": "accept", "reason": "x" * 20,
                                   "reviewed_by": "kẻ lạ"})
        assert forged.status_code == 403
        assert client.get("/feedback/T01X0004/..%2F..%2F.run_id.html").status_code == 404
        assert client.get(f"/feedback/{HELD_UNIT}/{QUARTER}.xlsx").status_code == 200
        assert client.get("/unit/KHONGCO").status_code == 404
    assert query(dsn, "select count(*) from audit.submission_review")[0][0] == 1
