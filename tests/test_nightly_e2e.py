"""The nightly DAG end to end through Airflow (dag.test) against the embedded PostgreSQL."""
from __future__ import annotations

import io

import openpyxl
import pytest
from conftest import generated_inbox, marts_fingerprint, query

from ingestion import config
from ingestion.airflow_local import run_dag_once

pytestmark = pytest.mark.e2e

MARTS = {"dim_indicator", "dim_org_unit", "dim_period", "fct_dq_results", "fct_dq_summary", "fct_finance",
         "fct_indicator_rollup", "fct_indicator_value", "fct_reporting_completeness", "fct_staffing",
         "fct_tthc_processing", "fct_submission_status", "fct_submission_reviews"}


def _change_one_figure(path) -> tuple[str, int]:
    """Edit a workbook the way a unit would: open it, change one figure, save it."""
    wb = openpyxl.load_workbook(io.BytesIO(path.read_bytes()))
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if isinstance(cell.value, str) and cell.value.startswith("Số văn bản chỉ đạo CCHC"):
                    target = ws.cell(row=cell.row, column=cell.column + 2)
                    target.value = 41  # directive documents: no rule involves them, so the file stays clean
                    wb.save(path)
                    return ws.title, cell.row
    raise AssertionError("no directive-documents row found")


def test_dag_loads_checks_publishes_and_reruns_safely(pipeline_env):
    inbox, dsn = pipeline_env["inbox"], pipeline_env["dsn"]
    manifest = generated_inbox(inbox, units=14, quarters=3, error_rate=0.2, seed=5, end=(2025, 4))
    workbooks = sorted(p for p in inbox.rglob("*.xlsx") if "_registry" not in p.parts)
    settings = config.load_settings()

    run_id, ok, log = run_dag_once(settings)
    assert ok, log.read_text()[-3000:]

    # raw: every workbook is recorded, loaded or rejected, with provenance for every figure
    files = query(dsn, "select path, status, reject_code from raw.files")
    assert len(files) == len(workbooks)
    rejected = {p: code for p, status, code in files if status == "rejected"}
    expected_rejected = {i["path"]: i["reject_code"] for i in manifest["injected"] if i["reject_code"]}
    assert rejected == expected_rejected
    assert query(dsn, "select count(*) from raw.facts where sheet is null or row_number is null")[0][0] == 0
    assert query(dsn, "select count(*) from raw.facts")[0][0] > 100 * (len(files) - len(rejected))

    # audit: the run, its rejections, every rule result, the gate holding back exactly the error-severity breaks
    assert query(dsn, "select status from audit.load_runs where run_id = %s", (run_id,)) == [("success",)]
    assert query(dsn, "select count(*) from audit.rejected_files where run_id = %s", (run_id,))[0][0] == len(rejected)
    held = {r[0] for r in query(dsn, """select f.path from audit.submission_gate g join raw.files f using (file_id)
                                       where g.decision = 'held'""")}
    assert held == {i["path"] for i in manifest["injected"] if i["severity"] == "error" and not i["reject_code"]}
    assert query(dsn, "select count(*) from audit.dq_results where run_id = %s", (run_id,))[0][0] > 1000
    assert query(dsn, "select count(*) from audit.gx_validations where run_id = %s and not success", (run_id,))[0][0] > 0

    # marts: all published, only accepted unit-quarters in them
    tables = {r[0] for r in query(dsn, "select tablename from pg_tables where schemaname = 'marts'")}
    assert tables == MARTS
    accepted = query(dsn, "select count(*) from audit.submission_gate where decision = 'accepted'")[0][0]
    assert query(dsn, "select count(*) from marts.fct_tthc_processing")[0][0] == accepted
    assert query(dsn, """select count(*) from marts.fct_indicator_value v join raw.files f using (file_id)
                         join audit.submission_gate g using (file_id) where g.decision <> 'accepted'""")[0][0] == 0
    reports = config.load_settings().reports_dir
    assert any(reports.rglob("*.html")) and any(reports.rglob("*.xlsx"))
    # As without Airflow, the first night's dbt parsed the project ahead in a process of its own, once for
    # each target folder, and neither build parsed it again.
    for folder in (settings.dbt_target_dir, settings.dbt_target_dir / "marts_next"):
        dbt_log = (folder / "logs" / "dbt.log").read_text(encoding="utf-8")
        assert dbt_log.count("Command `cli parse` succeeded") == 1, folder
        assert dbt_log.count("Unable to do partial parsing") == 1, folder

    # rerun: nothing new, every file skipped, marts identical
    before = marts_fingerprint(dsn, exclude_columns=())
    run2, ok, log = run_dag_once(settings)
    assert ok, log.read_text()[-3000:]
    row = query(dsn, "select files_found, files_new, files_unchanged, files_loaded from audit.load_runs where run_id = %s",
                (run2,))[0]
    assert row == (len(workbooks), 0, len(workbooks), 0)
    assert query(dsn, "select count(*) from raw.files")[0][0] == len(workbooks)
    assert marts_fingerprint(dsn, exclude_columns=()) == before
    # nothing changed: dbt is not run again (one build so far), the gate decides nothing, nothing published
    assert query(dsn, "select run_id from audit.build_log") == [(run_id,)]
    assert query(dsn, "select count(*) from audit.submission_gate where run_id = %s", (run2,))[0][0] == 0
    assert query(dsn, "select count(*) from audit.publish_log where run_id = %s", (run2,))[0][0] == 0

    # a unit corrects its workbook: the new version supersedes the old one, which stays in raw history
    clean = next(p for p in workbooks if p.relative_to(inbox).as_posix() not in {i["path"] for i in manifest["injected"]})
    rel = clean.relative_to(inbox).as_posix()
    unit, period = rel.split("/")[:2]
    _change_one_figure(clean)
    run3, ok, log = run_dag_once(settings)
    assert ok, log.read_text()[-3000:]
    versions = query(dsn, "select file_id, status from raw.files where path = %s order by file_id", (rel,))
    assert len(versions) == 2 and all(status == "loaded" for _, status in versions)
    assert query(dsn, "select run_id from audit.build_log order by built_at") == [(run_id,), (run3,)]
    year, quarter = int(period[:4]), int(period[-1])
    published = query(dsn, """select file_id, value from marts.fct_indicator_value
                              where unit_code = %s and year = %s and quarter = %s and indicator_code = 'dir_directive_docs'""",
                      (unit, year, quarter))
    assert published == [(versions[1][0], 41)]
    assert query(dsn, "select count(*) from raw.facts where file_id = %s", (versions[0][0],))[0][0] > 0  # history kept
