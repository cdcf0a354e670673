"""A wrong set-up ends with one Vietnamese line and a non-zero exit code, the warehouse untouched:
a wrong CCHC_DATABASE_URL or CCHC_INBOX, a server that never answers, a wrong password (not retried
as transient under Airflow), an empty inbox, a registry with a cycle, a duplicate or a missing column."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import psycopg2
import pytest
from conftest import SEED_REGISTRY, generated_inbox, query
from seed_workbooks import build

from ingestion import config
from ingestion.errors import CchcError, SetupError
from ingestion.pipeline import nightly
from ingestion.registry import RegistryError, read_registry

REGISTRY_HEADER = "unit_code,name,level,unit_type,parent_code,valid_from,valid_to\n"


def _cchc(*args: str, env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ingestion.cli", *args], env=env, capture_output=True, text=True,
                          timeout=timeout)


def _one_clear_line(proc: subprocess.CompletedProcess) -> str:
    """The error a person reads: a single line, no traceback, no exception class names."""
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    line = lines[0]
    assert line.startswith("LỖI: ")
    assert "Traceback" not in proc.stderr and "Error" not in line and "Exception" not in line, line
    return line


@pytest.fixture
def cli_env(tmp_path):
    """An inbox with one unit folder and its registry, and a home of its own; no warehouse configured."""
    inbox = tmp_path / "inbox"
    (inbox / "79001" / "2026-Q1").mkdir(parents=True)
    (inbox / "79001" / "2026-Q1" / "bao_cao.xlsx").write_bytes(b"not read: the set-up fails first")
    shutil.copytree(SEED_REGISTRY, inbox / "_registry")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CCHC_")}
    env.update({config.ENV_HOME: str(tmp_path / "home"), config.ENV_INBOX: str(inbox), "PGCONNECT_TIMEOUT": "2"})
    return env


@pytest.mark.parametrize("url, says", [
    ("mysql://cchc:pw@db.example/cchc", "phải bắt đầu bằng postgresql://"),
    ("postgresql://cchc:pw@no-such-host.invalid:5432/cchc", "Không tìm thấy máy chủ kho dữ liệu “no-such-host.invalid”"),
    ("postgresql://cchc:pw@127.0.0.1:1/cchc", "127.0.0.1:1 từ chối kết nối"),
    ("postgresql://cchc:pw@127.0.0.1:port/cchc", "CCHC_DATABASE_URL không hợp lệ"),
])
def test_wrong_database_url_is_one_line(cli_env, url, says):
    for command in (["run", "--direct"], ["run"], ["db", "url"]):
        proc = _cchc(*command, env=cli_env | {config.ENV_DATABASE_URL: url})
        assert proc.returncode == 2, (command, proc.stdout, proc.stderr)
        assert says in _one_clear_line(proc), command


def _processes_with(variable: str, value: str) -> list[int]:
    found = []
    for environ in Path("/proc").glob("[0-9]*/environ"):
        try:
            if f"{variable}={value}".encode() in environ.read_bytes().split(b"\0"):
                found.append(int(environ.parent.name))
        except OSError:  # gone meanwhile, or not ours to read
            pass
    return found


def test_a_run_that_fails_at_once_leaves_no_airflow_migration_behind(cli_env):
    """`cchc run` prepares Airflow's database in the background; failing first, it stops that and exits cleanly."""
    airflow_home = str(Path(cli_env[config.ENV_HOME]) / "airflow")
    for _ in range(3):
        proc = _cchc("run", env=cli_env | {config.ENV_DATABASE_URL: "postgresql://cchc:pw@127.0.0.1:port/cchc"})
        assert proc.returncode == 2, proc.stderr  # not -11: no thread was importing as the interpreter ended
        assert "CCHC_DATABASE_URL không hợp lệ" in _one_clear_line(proc)
        assert _processes_with("AIRFLOW_HOME", airflow_home) == []


def test_the_background_migration_thread_imports_nothing(tmp_path):
    """What makes the exit safe: a thread importing C extensions while the interpreter ends crashes it."""
    script = f"""
import sys, threading
from pathlib import Path
from ingestion import config
from ingestion.airflow_local import MetadataDb
import os; os.environ[config.ENV_HOME] = {str(tmp_path / "home")!r}
db = MetadataDb(config.load_settings(), Path({str(tmp_path / "log")!r}))
before = set(sys.modules)
db._launch = lambda *a, **k: None  # the migration itself is a child process; not started here
db.start(); db.wait()
print(sorted(set(sys.modules) - before))
"""
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, cwd=config.PROJECT_DIR)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_a_server_that_never_answers_does_not_hang_the_run(cli_env):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)  # accepts connections, never says a word
    port = listener.getsockname()[1]
    env = {k: v for k, v in cli_env.items() if k != "PGCONNECT_TIMEOUT"}  # the project's own default
    try:
        started = time.monotonic()
        proc = _cchc("run", "--direct", env=env | {config.ENV_DATABASE_URL: f"postgresql://cchc:pw@127.0.0.1:{port}/cchc"},
                     timeout=90)
        elapsed = time.monotonic() - started
    finally:
        listener.close()
    assert proc.returncode == 2
    assert f"127.0.0.1:{port} không trả lời sau 10 giây" in _one_clear_line(proc)
    assert elapsed < 60  # the connect timeout, not forever


@pytest.mark.parametrize("make, says", [
    (lambda tmp: tmp / "missing", "không tồn tại"),
    (lambda tmp: (tmp / "a_file.txt").write_text("x") and tmp / "a_file.txt", "là một tệp, không phải thư mục"),
    (lambda tmp: (tmp / "empty").mkdir() or tmp / "empty", "đang trống"),
])
def test_wrong_inbox_is_one_line(cli_env, tmp_path, make, says):
    inbox = make(tmp_path)
    for command in (["run", "--direct"], ["run"]):
        proc = _cchc(*command, env=cli_env | {config.ENV_INBOX: str(inbox)})
        assert proc.returncode == 2, proc.stderr
        line = _one_clear_line(proc)
        assert says in line and str(inbox) in line


def test_wrong_password_is_not_retried_as_transient(pg_cluster):
    with pytest.raises(SetupError) as info:
        from ingestion.warehouse.connection import connect

        connect(pg_cluster.with_user(pg_cluster.user, "not-the-password"))
    assert "từ chối đăng nhập" in info.value.message and "not-the-password" not in info.value.message
    assert not nightly.is_transient(info.value)
    # The same error raised by psycopg2 anywhere in a stage is not transient either ...
    with pytest.raises(psycopg2.OperationalError) as raw:
        psycopg2.connect(pg_cluster.with_user(pg_cluster.user, "not-the-password").url())
    assert not nightly.is_transient(raw.value)
    # ... while a server restarting is.
    with pytest.raises(psycopg2.OperationalError) as refused:
        psycopg2.connect("postgresql://cchc:pw@127.0.0.1:1/cchc")
    assert nightly.is_transient(refused.value)


def test_the_dag_fails_a_wrong_password_at_once(pipeline_env, monkeypatch):
    """Under Airflow a wrong password fails the task without its retries (2, then 4 minutes)."""
    import importlib.util

    from airflow.sdk.exceptions import AirflowFailException

    generated_inbox(pipeline_env["inbox"], units=12, quarters=1, error_rate=0.0, seed=3, end=(2026, 1))
    wrong = pipeline_env["dsn"].with_user(pipeline_env["dsn"].user, "wrong-password")
    monkeypatch.setenv(config.ENV_DATABASE_URL, wrong.url())
    spec = importlib.util.spec_from_file_location("cchc_nightly_dag", config.DAGS_DIR / "cchc_nightly.py")
    dag_module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(dag_module)
    with pytest.raises(AirflowFailException, match="từ chối đăng nhập"):
        dag_module._run("start", "manual__wrong_password")


def _registry(tmp_path, rows: str, header: str = REGISTRY_HEADER) -> Path:
    path = tmp_path / "org_units.csv"
    path.write_text(header + rows, encoding="utf-8")
    return path


@pytest.mark.parametrize("rows, header, says", [
    ("P,Tỉnh A,province,tỉnh,,,\nD1,Huyện B,district,huyện,C1,,\nC1,Xã C,commune,xã,D1,,\n", REGISTRY_HEADER,
     "dòng 3: cột parent_code tạo vòng lặp D1 → C1 → D1"),
    ("C1,Xã C,commune,xã,C1,,\n", REGISTRY_HEADER, "dòng 2: cột parent_code tạo vòng lặp C1 → C1"),
    ("P,Tỉnh A,province,tỉnh,,,\nC1,Xã C,commune,xã,P,,\nC1,Xã Khác,commune,xã,P,,\n", REGISTRY_HEADER,
     "dòng 4: mã đơn vị “C1” đã có ở dòng 3"),
    ("P,Tỉnh A,province,tỉnh\n", "unit_code,name,level_,unit_type\n", "dòng 1 (tiêu đề): thiếu cột level"),
    ("P,Tỉnh A,tinh,tỉnh,,,\n", REGISTRY_HEADER, "dòng 2: cấp “tinh” của đơn vị P không hợp lệ"),
    ("P,Tỉnh A,province,tỉnh,,01/07/2025,\n", REGISTRY_HEADER, "dòng 2: ngày valid_from “01/07/2025”"),
])
def test_broken_registry_is_named_by_file_and_row(tmp_path, rows, header, says):
    path = _registry(tmp_path, rows, header)
    with pytest.raises(RegistryError) as info:
        read_registry(path)
    assert str(path) in info.value.message and says in info.value.message
    assert "\n" not in info.value.message
    # cchc check --registry: the same line, exit code 2, and no hang on a cycle
    env = {k: v for k, v in os.environ.items() if not k.startswith("CCHC_")}
    workbook = tmp_path / "LAMTHAO" / "2023-Q3" / "bc.xlsx"
    workbook.parent.mkdir(parents=True)
    build("002", workbook)
    proc = _cchc("check", str(workbook), "--registry", str(path), env=env, timeout=60)
    assert proc.returncode == 2 and says in _one_clear_line(proc)


def test_registry_cycle_does_not_hang_check(tmp_path):
    """The district's parent is one of its own communes: today `cchc check` loops with memory growing."""
    path = _registry(tmp_path, "PT,Tỉnh Phú Thọ,province,tỉnh,,,\nLAMTHAO,Huyện Lâm Thao,district,huyện,XA1,,\n"
                               "XA1,Xã Một,commune,xã,LAMTHAO,,\n")
    workbook = tmp_path / "LAMTHAO" / "2023-Q3" / "bc.xlsx"
    workbook.parent.mkdir(parents=True)
    build("002", workbook)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CCHC_")}
    proc = _cchc("check", str(workbook), "--registry", str(path), "--completeness", env=env, timeout=60)
    assert proc.returncode == 2
    assert "vòng lặp LAMTHAO → XA1 → LAMTHAO" in _one_clear_line(proc)


def test_registry_saved_by_excel_with_a_bom_is_read(tmp_path):
    path = tmp_path / "org_units.csv"
    path.write_text(REGISTRY_HEADER + "P,Tỉnh A,province,tỉnh,,,\n", encoding="utf-8-sig")
    assert list(read_registry(path).units) == ["P"]


def test_broken_registry_or_empty_inbox_leave_the_warehouse_untouched(pipeline_env):
    inbox, dsn = pipeline_env["inbox"], pipeline_env["dsn"]
    generated_inbox(inbox, units=12, quarters=1, error_rate=0.0, seed=3, end=(2026, 1))
    assert nightly.run_all(docs=False)["status"] == "success"

    def state():
        return (query(dsn, "select unit_code, name, parent_code, source_hash from raw.org_units order by 1"),
                query(dsn, "select count(*) from audit.load_runs"), query(dsn, "select count(*) from raw.files"))

    before = state()
    units_csv = inbox / "_registry" / "org_units.csv"
    kept = units_csv.read_text(encoding="utf-8")
    lines = kept.splitlines()
    units_csv.write_text("\n".join([*lines, lines[2]]) + "\n", encoding="utf-8")  # a unit typed twice
    with pytest.raises(RegistryError, match=f"dòng {len(lines) + 1}: mã đơn vị"):
        nightly.run_all(docs=False)
    assert state() == before
    units_csv.write_text(kept, encoding="utf-8")

    # A share that did not mount: the warehouse keeps its registry, the run says the inbox is empty.
    for child in inbox.iterdir():
        shutil.rmtree(child) if child.is_dir() else child.unlink()
    with pytest.raises(SetupError, match="đang trống") as info:
        nightly.run_all(docs=False)
    assert isinstance(info.value, CchcError) and info.value.exit_code == 2
    assert state() == before
    # An inbox with folders but no registry is not given the demo one either.
    (inbox / "79001" / "2026-Q1").mkdir(parents=True)
    (inbox / "79001" / "2026-Q1" / "bc.xlsx").write_bytes(b"x")
    with pytest.raises(SetupError, match="Không có danh mục đơn vị"):
        nightly.run_all(docs=False)
    assert state() == before
