"""`cchc bench` (`make bench`): the nightly load on generated national inboxes, measured.

Scenarios (each a real `cchc run --direct` process, so time and peak memory are the whole job):
  national_quarter    one national quarter after 2025 (~4,000 files) into an empty warehouse
  quarter_of_size     the same at a quarter of the size, to show memory does not grow with files
  history             eight quarters across the 2025 reorganisation, loaded night by night
  rerun_unchanged     the full history again, nothing changed
  rerun_1pct          the full history again with 1 % of the files corrected by their units
  parse_engines       the parse stage alone with openpyxl and with python-calamine, side by side, and a raw
                      python-calamine read of the same files (no layout, no matching)
  national_airflow    the national quarter through Airflow (`cchc run`, dag.test()) instead of --direct,
                      then --direct once more: the ratio is taken against the --direct runs on either side
  national_celery     the national quarter on CeleryExecutor (Redis, api-server, scheduler, dag-processor)
                      with one Celery worker, then two (cchc_tools/celery_stack.py)
  floor               raw calamine read of every file + COPY of the same figures + the rule SQL alone (bench/floor.py)
  generic_stack       read_excel -> to_sql -> a GX checkpoint per file, then dbt build (bench/generic_stack.py),
                      on a sample of the national quarter, extrapolated to all of its files
Results go to bench/results.json with a plot of stage times per scenario (bench/stages.png) and a table
on stdout; `--quick` writes them under bench/out/ instead. Generated data and warehouses live under
bench/out/ (git-ignored); every embedded PostgreSQL started there is stopped at the end, also when the
benchmark is interrupted, and a rerun starts clean.
  console             the console's pages on the national quarter and on the full history: server
                      time from the marts, and in headless Chromium until every chart is drawn
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import io
import json
import os
import platform
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from ingestion import config, diskspace

TARGETS = {
    "national_quarter_seconds": ("national quarter end to end (--direct)", "<=", 30),
    "airflow_vs_direct": ("the same through Airflow, × --direct", "<=", 1.3),
    "parse_load_files_per_second": ("parse + load", ">=", 200),
    "rerun_unchanged_seconds": ("rerun, nothing changed", "<=", 5),
    "rerun_1pct_seconds": ("rerun, 1 % changed", "<=", 15),
    "parse_vs_raw_read": ("parse stage vs raw calamine read, one process, ×", "<=", 2),
    "console_slowest_page_ms": ("slowest console page (server)", "<", 1000),
}
BENCH_SCRIPTS = config.PROJECT_DIR / "bench"
CELERY_WORKERS = (1, 2)
# What a full run writes under bench/out (inboxes, six warehouses, Airflow and Celery homes): 25.1 GB at the
# end of the run of d3d4ae3 (results.json: parameters.disk_used_gb), with room for WAL on the way.
DISK_BYTES = 32 * 2**30
GENERIC_SAMPLE = 300  # files of the national quarter run through the generic stack (60 with --quick)
END = (2026, 3)


def _run_nightly(home: Path, inbox: Path, label: str, log_dir: Path, *, airflow: bool = False) -> dict:
    """One nightly run in its own process; wall time, peak memory and the run's stage figures."""
    # Always an embedded warehouse of its own: a benchmark never writes into a configured one.
    env = {k: v for k, v in os.environ.items() if k != config.ENV_DATABASE_URL}
    env.update({config.ENV_HOME: str(home), config.ENV_INBOX: str(inbox)})
    log = log_dir / f"{label}.log"
    started = time.perf_counter()
    with open(log, "w", encoding="utf-8") as fh:
        proc = subprocess.Popen([sys.executable, "-m", "ingestion.cli", "run", *([] if airflow else ["--direct"])], env=env,
                                stdout=fh, stderr=subprocess.STDOUT)
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        except BaseException:  # interrupted: the run goes too, before its warehouse is stopped
            proc.terminate()
            proc.wait()
            raise
    wall = time.perf_counter() - started
    if status != 0:
        raise RuntimeError(f"benchmark run {label} failed; see {log}")
    row = _last_run(home)
    stages = row.pop("stage_seconds") or {}
    return {"label": label, "wall_seconds": round(wall, 2), "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
            "stages": stages, **row}


def _last_run(home: Path) -> dict:
    from psycopg2.extras import RealDictCursor

    from ingestion.warehouse.connection import connect, embedded_dsn

    conn = connect(embedded_dsn(home / "pgdata"))
    try:
        with conn.cursor(cursor_factory=RealDictCursor) as cur:
            cur.execute("""select run_id, status, files_found, files_new, files_unchanged, files_loaded, files_rejected,
                                  facts_staged, submissions_checked, submissions_held, rules_passed, rules_failed,
                                  marts_published, stage_seconds
                           from audit.load_runs order by started_at desc limit 1""")
            return dict(cur.fetchone())
    finally:
        conn.close()


def _parse_engines(files: list[Path], limit: int) -> dict:
    from ingestion.indicators import load_catalog
    from ingestion.workbook.package import WorkbookError
    from ingestion.workbook.read import read_workbook_bytes

    sample = files[:limit]
    data = [p.read_bytes() for p in sample]
    catalog = load_catalog()
    out = {"files": len(data)}
    for engine in ("openpyxl", "calamine"):
        facts = 0
        started = time.perf_counter()
        for blob in data:
            try:
                facts += len(read_workbook_bytes(blob, engine, catalog).facts)
            except WorkbookError:
                pass
        seconds = time.perf_counter() - started
        out[engine] = {"seconds": round(seconds, 2), "files_per_second": round(len(data) / seconds, 1),
                       "facts_per_second": round(facts / seconds), "facts": facts}
    out["speedup"] = round(out["calamine"]["files_per_second"] / out["openpyxl"]["files_per_second"], 2)
    sys.path.insert(0, str(BENCH_SCRIPTS))
    from floor import raw_read

    out["raw_calamine"] = raw_read(sample)
    out["parse_vs_raw_read"] = round(out["calamine"]["seconds"] / out["raw_calamine"]["seconds"], 2)
    return out


def _script(name: str, args: list[str], log: Path, home: Path | None = None) -> dict:
    """A benchmark script of bench/ in its own process; its JSON result. ``home``: the CCHC_HOME whose
    dbt manifest names the relations the rule SQL reads."""
    out = log.with_suffix(".json")
    started = time.perf_counter()
    with open(log, "w", encoding="utf-8") as fh:
        proc = subprocess.run([sys.executable, str(BENCH_SCRIPTS / name), *args, "--out", str(out)],
                              stdout=fh, stderr=subprocess.STDOUT,
                              env=dict(os.environ, GX_ANALYTICS_ENABLED="false",
                                       GEN_DBT_TARGET=str(log.parent.parent / "generic_dbt_target"),
                                       **({config.ENV_HOME: str(home)} if home is not None else {})))
    if proc.returncode != 0:
        raise RuntimeError(f"{name} failed; see {log}")
    result = json.loads(out.read_text(encoding="utf-8"))
    result["process_seconds"] = round(time.perf_counter() - started, 2)
    return result


def _stop_all(work: Path) -> None:
    """Stop every embedded PostgreSQL under the benchmark's folder (left by this run or an interrupted one)."""
    _stop_all_under(work, "*/pgdata")


def _stop_all_under(folder: Path, pattern: str = "pgdata") -> None:
    from ingestion.warehouse.connection import stop_embedded

    for pgdata in sorted(folder.glob(pattern)) if folder.is_dir() else []:
        try:
            if stop_embedded(pgdata):
                say(f"[cleanup] stopped the embedded PostgreSQL in {pgdata}")
        except Exception as exc:  # one that will not stop must not keep the others running
            say(f"[cleanup] could not stop {pgdata}: {exc}")


def _correct_files(files: list[Path], share: float, seed: int) -> int:
    """A unit corrects its workbook: one figure changed (directive documents), saved again by Excel."""
    import openpyxl

    rng = random.Random(seed)
    chosen = rng.sample(files, max(1, round(len(files) * share)))
    changed = 0
    for path in chosen:
        try:
            wb = openpyxl.load_workbook(io.BytesIO(path.read_bytes()))
        except Exception:
            continue  # one of the deliberately broken files
        done = False
        for ws in wb.worksheets:
            for row in ws.iter_rows():
                for cell in row:
                    if isinstance(cell.value, str) and cell.value.startswith("Số văn bản chỉ đạo CCHC"):
                        ws.cell(row=cell.row, column=cell.column + 2).value = rng.randint(7, 20)
                        done = True
        if done:
            wb.save(path)
            changed += 1
    return changed


def _console_pages(conn) -> dict[str, str]:
    """The pages a data team opens, with realistic parameters taken from the warehouse."""
    with conn.cursor() as cur:
        cur.execute("""select period_key, year, quarter from marts.fct_submission_status
                       order by year desc, quarter desc limit 1""")
        period, year, quarter = cur.fetchone()
        cur.execute("""select unit_code, province_code from marts.fct_submission_status
                       where year = %s and quarter = %s
                       order by (state = 'held') desc, error_count desc, unit_code limit 1""", (year, quarter))
        unit, province = cur.fetchone()
    return {"worklist (all units)": f"/worklist?quarter={period}",
            "worklist, one province": f"/worklist?quarter={period}&province={province}",
            "worklist, open items": f"/worklist?quarter={period}&show=open",
            "unit page (held)": f"/unit/{unit}?quarter={period}",
            "dashboards (national)": f"/dashboards?quarter={period}&province=",
            "dashboards, one province": f"/dashboards?quarter={period}&province={province}"}


def _console_timings(home: Path, repeat: int = 5) -> dict:
    """Server time of each page (median of `repeat`, after one warm-up), and, when Chromium is
    installed, the time until the page is loaded and every chart drawn."""
    import statistics

    from fastapi.testclient import TestClient

    from ingestion.console.app import create_app
    from ingestion.console.db import Database
    from ingestion.console.server import CHROMIUM, CHROMIUM_FLAGS, running
    from ingestion.warehouse.connection import connect, embedded_dsn

    dsn = embedded_dsn(home / "pgdata")
    conn = connect(dsn)
    try:
        pages = _console_pages(conn)
    finally:
        conn.close()
    app = create_app(database=Database(dsn), reports_dir=home / "reports")
    out: dict = {}
    with TestClient(app) as client:
        for name, url in pages.items():
            first = client.get(url)
            if first.status_code != 200:
                raise RuntimeError(f"console page {url}: HTTP {first.status_code}")
            times = []
            for _ in range(repeat):
                t0 = time.perf_counter()
                client.get(url)
                times.append((time.perf_counter() - t0) * 1000)
            out[name] = {"url": url, "server_ms_median": round(statistics.median(times), 1),
                         "server_ms_max": round(max(times), 1), "html_kb": round(len(first.content) / 1024, 1)}
    if Path(CHROMIUM).exists():
        from playwright.sync_api import sync_playwright

        with running(app) as base, sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto(base + pages["dashboards (national)"])  # warm: plotly.js cached like a second visit
            for name, url in pages.items():
                t0 = time.perf_counter()
                page.goto(base + url)
                page.wait_for_function("document.querySelectorAll('.chart[data-rendered=true]').length === "
                                       "document.querySelectorAll('.chart[data-figure]').length", timeout=60_000)
                out[name]["browser_ms"] = round((time.perf_counter() - t0) * 1000, 1)
            browser.close()
    app.state.db.close()
    return out


def _xlsx(inbox: Path) -> list[Path]:
    return sorted(p for p in inbox.rglob("*.xlsx") if "_registry" not in p.parts)


def _check(results: dict) -> dict:
    verdicts = {}
    for key, (label, op, limit) in TARGETS.items():
        value = results["figures"].get(key)
        ok = value is not None and {"<": value < limit, "<=": value <= limit, ">=": value >= limit}[op]
        verdicts[key] = {"target": f"{label} {op} {limit}", "measured": value, "met": ok}
    return verdicts


def _disk_used(root: Path) -> int:
    return sum(f.lstat().st_size for f in root.rglob("*") if f.is_file() and not f.is_symlink())


def say(text: str) -> None:
    print(text, flush=True)


def run_benchmarks(bench_dir: Path, *, units: int = 4000, history_quarters: int = 8, quick: bool = False,
                   history: bool = True) -> int:
    """history=False: the national-quarter scenarios only (no history, no reruns), written under bench/out/."""
    if quick:
        units, history_quarters = max(200, units // 10), min(history_quarters, 4)
    bench_dir = bench_dir.resolve()
    work = bench_dir / "out"
    # Stopped by `kill` or a CI timeout (SIGTERM) like by Ctrl-C: the cleanup below runs either way.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    _stop_all(work)  # an interrupted run's servers, before their files go
    shutil.rmtree(work, ignore_errors=True)
    # Said before an hour of work, not as a crashed server at night 3 of the history.
    diskspace.require(work, need=DISK_BYTES // (10 if quick else 1), what="cchc bench")
    try:
        results = _measure(work, units=units, history_quarters=history_quarters, quick=quick, history=history)
    finally:
        _stop_all(work)
    results["parameters"]["disk_used_gb"] = round(_disk_used(work) / 2**30, 2)  # checks DISK_BYTES above
    target = bench_dir if results["parameters"]["complete"] else work
    (target / "results.json").write_text(json.dumps(results, ensure_ascii=False, indent=1, default=str) + "\n",
                                         encoding="utf-8")
    sys.path.insert(0, str(BENCH_SCRIPTS))
    from plot import plot_stages

    plot_stages(results, target / "stages.png")
    say("\n" + table(results))
    say(f"\n{target / 'results.json'}, {target / 'stages.png'}")
    return 0 if all(v["met"] for v in results["targets"].values()) else 1


def _measure(work: Path, *, units: int, history_quarters: int, quick: bool, history: bool) -> dict:
    from .demo.generator import generate
    from ingestion.warehouse.connection import embedded_dsn

    logs = work / "logs"
    logs.mkdir(parents=True)
    results: dict = {"date": dt.date.today().isoformat(), "machine": {"cpus": os.cpu_count(),
                     "python": platform.python_version(), "platform": platform.platform(),
                     "load_average_at_start": list(os.getloadavg())},
                     "parameters": {"units": units, "history_quarters": history_quarters, "quick": quick,
                                    "complete": history and not quick},
                     "runs": {}, "figures": {}}

    # 1. One national quarter into an empty warehouse, and the same at a quarter of the size.
    for label, n in (("national_quarter", units), ("quarter_of_size", max(50, units // 4))):
        inbox = work / f"{label}_inbox"
        t0 = time.perf_counter()
        manifest = generate(inbox, units=n, quarters=1, error_rate=0.05, seed=1, end=END)
        say(f"[{label}] generated {manifest['files']} files in {time.perf_counter() - t0:.1f} s; loading ...")
        run = _run_nightly(work / f"{label}_home", inbox, label, logs)
        run["generated_files"], run["generate_seconds"] = manifest["files"], round(time.perf_counter() - t0, 1)
        results["runs"][label] = run
        say(f"[{label}] {run['wall_seconds']} s, peak {run['peak_rss_mb']} MB")
    national = results["runs"]["national_quarter"]
    national_inbox = work / "national_quarter_inbox"
    st = national["stages"]
    results["figures"].update({
        "national_quarter_seconds": national["wall_seconds"],
        "national_quarter_files": national["files_found"],
        "parse_load_files_per_second": round(national["files_found"] / (st.get("parse", 0) + st.get("load", 0)), 1),
        "parse_load_facts_per_second": round(national["facts_staged"] / (st.get("parse", 0) + st.get("load", 0))),
        "end_to_end_files_per_second": round(national["files_found"] / national["wall_seconds"], 1),
        "peak_rss_mb_national": national["peak_rss_mb"],
        "peak_rss_mb_quarter_size": results["runs"]["quarter_of_size"]["peak_rss_mb"],
    })

    say("[console] pages on the national quarter ...")
    results["console"] = {"national_quarter": _console_timings(work / "national_quarter_home")}
    results["figures"]["console_slowest_page_ms"] = _slowest_page(results["console"])

    # 2. The same quarter through Airflow (cchc run: dag.test(), the DAG's mapped ingest batches).
    say("[national_airflow] the national quarter through Airflow (cchc run) ...")
    # The metadata database is created once per installation, not each night: not timed.
    subprocess.run([sys.executable, "-m", "ingestion.cli", "airflow", "version"], check=True, stdout=subprocess.DEVNULL,
                   env=dict(os.environ, **{config.ENV_HOME: str(work / "national_airflow_home")}))
    run = _run_nightly(work / "national_airflow_home", national_inbox, "national_airflow", logs, airflow=True)
    results["runs"]["national_airflow"] = run
    results["figures"]["national_airflow_seconds"] = run["wall_seconds"]
    # The same --direct night again, right after: a shared machine's speed drifts by a fifth within
    # minutes, and a ratio of two runs minutes apart measured the drift as much as Airflow. The ratio is
    # taken against the mean of the --direct runs on either side of the Airflow one.
    say("[national_direct_after] the national quarter --direct again, beside the Airflow run ...")
    again_home = work / "national_direct_after_home"
    after = _run_nightly(again_home, national_inbox, "national_direct_after", logs)
    _stop_all_under(again_home)
    shutil.rmtree(again_home, ignore_errors=True)  # its figures are kept; its 2 GB are not needed
    results["runs"]["national_direct_after"] = after
    bracket = (national["wall_seconds"] + after["wall_seconds"]) / 2
    results["figures"].update({"national_direct_after_seconds": after["wall_seconds"],
                               "airflow_vs_direct": round(run["wall_seconds"] / bracket, 2)})
    say(f"[national_airflow] {run['wall_seconds']} s (× {results['figures']['airflow_vs_direct']} of --direct: "
        f"{national['wall_seconds']} s before, {after['wall_seconds']} s after)")

    # 2b. The same quarter on the distributed engine: CeleryExecutor with one worker, then two.
    say("[national_celery] the national quarter on Celery workers: 1, then 2 ...")
    results["celery"] = _celery_scaleout(work, national_inbox)
    results["figures"].update({f"celery_{n}_worker_seconds": results["celery"][f"{n}_worker"]["dag_run_seconds"]
                               for n in CELERY_WORKERS})
    results["figures"]["celery_two_vs_one_worker"] = results["celery"]["speedup_two_vs_one"]
    say(f"[national_celery] 1 worker {results['figures']['celery_1_worker_seconds']} s, "
        f"2 workers {results['figures']['celery_2_worker_seconds']} s "
        f"(× {results['figures']['celery_two_vs_one_worker']})")

    # 3. The parse stage alone, both engines and a raw calamine read on the same workbooks.
    say("[parse_engines] openpyxl vs python-calamine vs a raw calamine read ...")
    results["parse_engines"] = _parse_engines(_xlsx(national_inbox), 1000 if not quick else 300)
    results["figures"]["parse_vs_raw_read"] = results["parse_engines"]["parse_vs_raw_read"]

    # 4. The floor and the generic stack on the same national quarter.
    say("[floor] raw calamine read + COPY + rule SQL ...")
    national_url = embedded_dsn(work / "national_quarter_home" / "pgdata").url()
    floor = _script("floor.py", ["--inbox", str(national_inbox), "--url", national_url], logs / "floor.log",
                    home=work / "national_quarter_home")
    results["floor"] = floor
    floor_total = floor["raw_read"]["seconds"] + floor["copy"]["seconds"] + floor["rule_sql"]["seconds"]
    results["figures"].update({
        "floor_seconds": round(floor_total, 2),
        "national_vs_floor": round(national["wall_seconds"] / floor_total, 1),
        "parse_vs_floor_read": round(st.get("parse", 0) / floor["raw_read"]["seconds"], 1),
        "load_vs_floor_copy": round(st.get("load", 0) / max(floor["copy"]["seconds"], 0.01), 1),
        "gate_vs_floor_rule_sql": round(st.get("gx_validate", 0) / max(floor["rule_sql"]["seconds"], 0.01), 1),
    })
    say(f"[floor] {floor_total:.1f} s (read {floor['raw_read']['seconds']} / COPY {floor['copy']['seconds']} / "
        f"rule SQL {floor['rule_sql']['seconds']})")
    sample = min(GENERIC_SAMPLE if not quick else 60, national["files_found"])
    say(f"[generic_stack] read_excel -> to_sql -> GX checkpoint per file on {sample} files, then dbt build ...")
    generic_url = embedded_dsn(work / "generic_home" / "pgdata").sqlalchemy_url()
    generic = _script("generic_stack.py", ["--inbox", str(national_inbox), "--url", generic_url, "--limit", str(sample)],
                      logs / "generic_stack.log")
    per_file = sum(v for k, v in generic["stages"].items() if k != "dbt_build") / generic["files"]
    scale = generic["inbox_files"] / generic["files"]
    generic["extrapolated"] = {k: round(v * (scale if k != "dbt_build" else 1), 1) for k, v in generic["stages"].items()}
    generic["extrapolated_seconds"] = round(per_file * generic["inbox_files"] + generic["stages"]["dbt_build"], 1)
    results["generic_stack"] = generic
    results["figures"].update({
        "generic_stack_seconds_extrapolated": generic["extrapolated_seconds"],
        "generic_vs_ours": round(generic["extrapolated_seconds"] / national["wall_seconds"], 1),
    })
    say(f"[generic_stack] {generic['files']} files in {generic['wall_seconds']} s; "
        f"extrapolated to {generic['inbox_files']}: {generic['extrapolated_seconds']} s "
        f"(× {results['figures']['generic_vs_ours']} of ours)")

    if not history:
        results["machine"]["load_average_at_end"] = list(os.getloadavg())
        results["targets"] = _check(results)
        return results

    # 5. History: quarters arriving night by night, then reruns on top of it.
    staged = work / "history_all"
    t0 = time.perf_counter()
    manifest = generate(staged, units=units, quarters=history_quarters, error_rate=0.05, seed=2, end=END)
    say(f"[history] generated {manifest['files']} files over {history_quarters} quarters "
        f"in {time.perf_counter() - t0:.1f} s")
    inbox, home = work / "history_inbox", work / "history_home"
    inbox.mkdir()
    shutil.copytree(staged / "_registry", inbox / "_registry")
    history = []
    for period in manifest["quarters"]:
        for unit_dir in staged.iterdir():
            src = unit_dir / period
            if src.is_dir():
                (inbox / unit_dir.name).mkdir(exist_ok=True)
                shutil.move(str(src), inbox / unit_dir.name / period)
        run = _run_nightly(home, inbox, f"history_{period}", logs)
        history.append(run)
        say(f"[history {period}] {run['files_new']} new files, {run['wall_seconds']} s, peak {run['peak_rss_mb']} MB")
    results["runs"]["history"] = history

    run = _run_nightly(home, inbox, "rerun_unchanged", logs)
    results["runs"]["rerun_unchanged"] = run
    say(f"[rerun_unchanged] {run['files_unchanged']} unchanged, {run['wall_seconds']} s")
    changed = _correct_files(_xlsx(inbox), 0.01, seed=3)
    run = _run_nightly(home, inbox, "rerun_1pct", logs)
    run["files_corrected"] = changed
    results["runs"]["rerun_1pct"] = run
    say(f"[rerun_1pct] {changed} corrected files, {run['wall_seconds']} s")
    results["figures"].update({
        "history_files": sum(r["files_new"] for r in history),
        "history_total_seconds": round(sum(r["wall_seconds"] for r in history), 1),
        "history_max_run_seconds": max(r["wall_seconds"] for r in history),
        "peak_rss_mb_history_max": max(r["peak_rss_mb"] for r in history),
        "rerun_unchanged_seconds": results["runs"]["rerun_unchanged"]["wall_seconds"],
        "rerun_1pct_seconds": results["runs"]["rerun_1pct"]["wall_seconds"],
        "rerun_1pct_files": changed,
    })
    say("[console] pages on the full history ...")
    results["console"]["history"] = _console_timings(home)
    results["figures"]["console_slowest_page_ms"] = _slowest_page(results["console"])
    results["machine"]["load_average_at_end"] = list(os.getloadavg())
    results["targets"] = _check(results)
    return results


def _celery_scaleout(work: Path, inbox: Path) -> dict:
    """cchc_nightly on the national quarter through CeleryExecutor, with 1 and then 2 workers.

    Each run gets a fresh metadata database and warehouse on one embedded PostgreSQL, and its own
    Redis, api-server, scheduler and dag-processor (cchc_tools/celery_stack.py); the figure is the
    DAG run's own span (trigger to end), the components' start-up is reported apart."""
    from collections import Counter

    from . import celery_stack
    from ingestion.warehouse.connection import connect, embedded_dsn

    cluster = embedded_dsn(work / "celery_home" / "pgdata")
    out: dict = {}
    for n in CELERY_WORKERS:
        dsns = {}
        conn = connect(cluster)
        try:
            conn.autocommit = True
            with conn.cursor() as cur:
                for role in ("airflow", "warehouse"):
                    cur.execute(f"create database {role}_{n}w")
                    dsns[role] = dataclasses.replace(cluster, dbname=f"{role}_{n}w")
        finally:
            conn.close()
        workers = tuple(f"cchc-worker-{i + 1}" for i in range(n))
        t0 = time.perf_counter()
        deployment = celery_stack.start(work / f"celery_{n}w", dsns["airflow"], dsns["warehouse"], inbox, workers,
                                        shared_state=work / f"celery_{n}w" / "state")
        try:
            ready = time.perf_counter() - t0
            run = deployment.run_nightly(f"bench_{n}_worker", timeout=3600)
        finally:
            deployment.stack.stop()
        if run["state"] != "success":
            raise RuntimeError(f"the Celery run with {n} worker(s) ended {run['state']}; see {work / f'celery_{n}w'}")
        out[f"{n}_worker"] = {
            "workers": n, "dag_run_seconds": run["seconds"], "components_ready_seconds": round(ready, 1),
            "ingest_batches": sum(t[0] == "ingest_batch" for t in run["tasks"]),
            "tasks_per_worker": dict(Counter(t[3] for t in run["tasks"])),
        }
    out["speedup_two_vs_one"] = round(out["1_worker"]["dag_run_seconds"] / out["2_worker"]["dag_run_seconds"], 2)
    return out


def _slowest_page(console: dict) -> float:
    return max(page["server_ms_median"] for pages in console.values() for page in pages.values())


STAGES = ("discover", "parse", "load", "dbt_candidates", "gx_validate", "publish", "standby", "report")
STAGE_TITLES = "discover / parse / load / dbt / GX gate / publish / standby / report"


def _stages(stages: dict) -> str:
    return " / ".join(str(stages.get(name, "–")) for name in STAGES)


def table(results: dict) -> str:
    f = results["figures"]
    n = results["runs"]["national_quarter"]
    st = n["stages"]
    p = results["parse_engines"]
    lines = [
        "| measure | figure |",
        "|---|---|",
        f"| national quarter end to end ({f['national_quarter_files']} files) | {f['national_quarter_seconds']} s |",
        f"| stages (s): {STAGE_TITLES} | {_stages(st)} |",
        f"| inside the gate (s): the rules, then side by side the ledger / Great Expectations | "
        f"{st.get('gate_rules', '–')}, then {st.get('gate_ledger', '–')} / {st.get('gate_gx', '–')} |",
        f"| parse + load | {f['parse_load_files_per_second']} files/s, {f['parse_load_facts_per_second']} facts/s |",
        f"| peak memory: national quarter / quarter of the size | {f['peak_rss_mb_national']} MB / {f['peak_rss_mb_quarter_size']} MB |",
        f"| parse only, one process ({p['files']} files): openpyxl / calamine | "
        f"{p['openpyxl']['files_per_second']} / {p['calamine']['files_per_second']} files/s (× {p['speedup']}) |",
        f"| parse stage vs raw calamine read, one process | × {f['parse_vs_raw_read']} |",
        f"| through Airflow (cchc run) | {f['national_airflow_seconds']} s (× {f['airflow_vs_direct']} of --direct: "
        f"{f['national_quarter_seconds']} s before it, {f.get('national_direct_after_seconds', '–')} s after it) |",
        f"| Celery: 1 worker / 2 workers ({results['celery']['1_worker']['ingest_batches']} ingest batches) | "
        f"{f['celery_1_worker_seconds']} s / {f['celery_2_worker_seconds']} s (× {f['celery_two_vs_one_worker']}) |",
        f"| floor: raw read + COPY + rule SQL | {f['floor_seconds']} s (ours × {f['national_vs_floor']}; parse × "
        f"{f['parse_vs_floor_read']}, load × {f['load_vs_floor_copy']}, gate × {f['gate_vs_floor_rule_sql']}) |",
        f"| generic stack ({results['generic_stack']['files']}-file sample, extrapolated) | "
        f"{f['generic_stack_seconds_extrapolated']} s (× {f['generic_vs_ours']} of ours) |",
    ]
    if "history_files" in f:
        lines += [
            f"| history: {f['history_files']} files over {results['parameters']['history_quarters']} nights | "
            f"{f['history_total_seconds']} s in all, slowest night {f['history_max_run_seconds']} s, "
            f"peak {f['peak_rss_mb_history_max']} MB |",
            f"| rerun, nothing changed | {f['rerun_unchanged_seconds']} s |",
            f"| rerun, 1 % changed ({f['rerun_1pct_files']} files) | {f['rerun_1pct_seconds']} s |",
            f"| rerun 1 % stages (s): {STAGE_TITLES} | {_stages(results['runs']['rerun_1pct']['stages'])} |",
        ]
    load = results["machine"].get("load_average_at_start")
    if load:
        lines.append(f"| load average at start / end (1 min) | {load[0]:.1f} / "
                     f"{results['machine'].get('load_average_at_end', [0])[0]:.1f} |")
    if not results["parameters"].get("complete", True):
        lines.append("| (not a complete run: --quick or national quarter only; the targets are for the full size) | |")
    for scenario, pages in results.get("console", {}).items():
        for name, page in pages.items():
            browser = f", {page['browser_ms']} ms in Chromium" if "browser_ms" in page else ""
            lines.append(f"| console ({scenario}): {name} | {page['server_ms_median']} ms server "
                         f"(max {page['server_ms_max']}){browser}, {page['html_kb']} kB |")
    for v in results.get("targets", {}).values():
        lines.append(f"| target: {v['target']} | {'met' if v['met'] else 'NOT met'} ({v['measured']}) |")
    return "\n".join(lines)
