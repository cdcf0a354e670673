"""The console inside Airflow's api-server (the compose deployment): behind the Airflow login,
reviews only by users allowed to trigger cchc_nightly, recorded under their Airflow name.

A real `airflow api-server` on a free port, the simple auth manager as in docker-compose.yml.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import httpx
import pytest
from conftest import generated_inbox, query
from console_support import free_port

from ingestion.pipeline import nightly

pytestmark = pytest.mark.e2e
PERIOD = "2026-Q2"
HELD = "T01X0006"
USERS = {"lan": ("user", "mat-khau-lan"), "binh": ("viewer", "mat-khau-binh")}


@pytest.fixture
def api_server(pipeline_env, tmp_path):
    home = tmp_path / "airflow"
    home.mkdir()
    passwords = home / "passwords.json"
    passwords.write_text(json.dumps({u: pw for u, (_, pw) in USERS.items()}), encoding="utf-8")
    env = dict(os.environ) | {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(Path(__file__).resolve().parents[1] / "dags"),
        "AIRFLOW__CORE__AUTH_MANAGER": "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": ",".join(f"{u}:{role}" for u, (role, _) in USERS.items()),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "False",
        "AIRFLOW__API_AUTH__JWT_SECRET": "test-only-secret",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
    }
    airflow = str(Path(sys.executable).with_name("airflow"))
    subprocess.run([airflow, "db", "migrate"], env=env, check=True, capture_output=True)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with open(home / "api-server.log", "w", encoding="utf-8") as log:
        proc = subprocess.Popen([airflow, "api-server", "--port", str(port), "--host", "127.0.0.1"], env=env,
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{base}/api/v2/monitor/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError((home / "api-server.log").read_text(encoding="utf-8")[-3000:])
            time.sleep(0.5)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _client(base: str, user: str | None) -> httpx.Client:
    client = httpx.Client(base_url=base, follow_redirects=False, timeout=60)
    if user:
        response = client.post("/auth/token", json={"username": user, "password": USERS[user][1]})
        assert response.status_code == 201, response.text
        client.cookies.set("_token", response.json()["access_token"])  # as the Airflow UI holds it
    return client


def test_console_in_airflow_is_behind_the_login_and_only_the_data_team_reviews(pipeline_env, api_server):
    inbox, dsn = pipeline_env["inbox"], pipeline_env["dsn"]
    generated_inbox(inbox, units=12, quarters=1, error_rate=0.0, seed=41, end=(2026, 2),
                    forced={(HELD, PERIOD): "part_above_whole"})
    nightly.run_all(docs=False)
    review = {"quarter": PERIOD, "decision": "accept", "reviewed_by": "someone else",
              "reason": "Quy tắc không phù hợp với đơn vị này; đã đối chiếu với hồ sơ gốc"}

    with closing(_client(api_server, None)) as anonymous:
        page = anonymous.get("/cchc/worklist")
        assert page.status_code == 303 and "/auth/login" in page.headers["location"]
        assert anonymous.post(f"/cchc/unit/{HELD}/review", data=review).status_code == 401

    with closing(_client(api_server, "binh")) as viewer:  # a viewer reads, cannot review
        page = viewer.get(f"/cchc/worklist?quarter={PERIOD}")
        assert page.status_code == 200 and f"data-unit=\"{HELD}\"" in page.text
        assert 'data-state="held"' in page.text
        refused = viewer.post(f"/cchc/unit/{HELD}/review", data=review)
        assert refused.status_code == 403 and "Tổ dữ liệu" in refused.text
    assert query(dsn, "select count(*) from audit.submission_review")[0][0] == 0

    with closing(_client(api_server, "lan")) as member:  # may trigger cchc_nightly: the data team
        forged = member.post(f"/cchc/unit/{HELD}/review", data=review, headers={"Origin": "http://example.org"})
        assert forged.status_code == 403
        done = member.post(f"/cchc/unit/{HELD}/review", data=review)
        assert done.status_code == 303 and done.headers["location"].startswith(f"/cchc/unit/{HELD}?")
        assert "Đã ghi nhận" in member.get(done.headers["location"]).text
        assert member.get(f"/cchc/dashboards?quarter={PERIOD}").status_code == 200
    # Recorded under the Airflow user, whatever the form said.
    assert query(dsn, "select reviewed_by, decision from audit.submission_review") == [("lan", "accept")]
