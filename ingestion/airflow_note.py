"""The run's summary as the Airflow DAG-run note (shown on the run's page in the UI).

Airflow 3.3's task SDK has no call to set the note of the current run, and tasks may not use the
metadata database: the finish task sets it through the public REST API (PATCH dagRuns/{run}
with update_mask=note), authenticated like the local UI (simple auth manager, everyone admin).
Where that is not possible (the compose stack's real users, no API server) the note is skipped
with an INFO line: the same summary is in the finish task's log and XCom. `cchc run`, which
runs the DAG with dag.test() in its own process, sets the note directly (airflow_local).
"""
from __future__ import annotations

import json
import logging
import os
import urllib.error
import urllib.parse
import urllib.request

log = logging.getLogger(__name__)
MAX_NOTE = 1000  # the API's limit


def _n(value) -> str:
    return f"{int(value or 0):,}".replace(",", ".")


def note_markdown(s: dict) -> str:
    """A few lines of Markdown: outcome, files, figures, gate, publication, where the reports are."""
    status = {"success": "thành công / success", "failed": "thất bại / failed"}.get(s.get("status"), s.get("status"))
    lines = [
        f"**{status}** — {_n(s.get('files_found'))} tệp / files: {_n(s.get('files_new'))} mới hoặc đã sửa, "
        f"{_n(s.get('files_loaded'))} đã nạp, {_n(s.get('files_rejected'))} bị từ chối; "
        f"{_n(s.get('facts_staged'))} số liệu / figures.",
        f"Cổng kiểm tra / gate: {_n(s.get('submissions_checked'))} báo cáo, {_n(s.get('submissions_accepted'))} chấp nhận, "
        f"{_n(s.get('submissions_held'))} tạm giữ; quy tắc {_n(s.get('rules_passed'))} đạt, "
        f"{_n(s.get('rules_failed'))} không đạt.",
        "Marts: " + ("đã công bố / published" if s.get("marts_published") else "giữ nguyên / unchanged") + ".",
    ]
    if s.get("reports_dir"):
        lines.append(f"Báo cáo phản hồi / feedback: `{s['reports_dir']}/index.html`")
    if s.get("error"):
        lines.append(f"Lỗi / error: {s['error']}")
    text = "\n\n".join(lines)
    return text if len(text) <= MAX_NOTE else text[:MAX_NOTE - 1] + "…"


def _request(url: str, method: str = "GET", body: dict | None = None, token: str | None = None) -> dict:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read() or b"{}")


def post_run_note(dag_id: str, run_id: str, summary: dict) -> bool:
    """Set the DAG-run note through the REST API; False (and an INFO line) when it cannot be done."""
    if os.environ.get("CCHC_DAG_TEST"):
        return False  # dag.test() in `cchc run`: no API server; airflow_local sets the note itself
    try:
        from airflow.configuration import conf

        base = conf.get("api", "base_url", fallback="http://localhost:8080").rstrip("/")
        token = _request(f"{base}/auth/token")["access_token"]
        path = f"/api/v2/dags/{urllib.parse.quote(dag_id)}/dagRuns/{urllib.parse.quote(run_id, safe='')}"
        _request(f"{base}{path}?update_mask=note", "PATCH", {"note": note_markdown(summary)}, token)
    except (OSError, urllib.error.URLError, KeyError, ValueError) as exc:
        log.info("DAG-run note not set (%s); the summary is in this task's log and XCom", exc)
        return False
    return True
