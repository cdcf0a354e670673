"""cchc_nightly — the nightly load of the units' CCHC statistical appendices.

discover new and changed workbooks in the inbox → ingest them (figures with file/sheet/row
provenance into raw.*) → dbt build of the candidates → Great Expectations checks every
consistency rule (the gate) → publish the marts atomically → per-unit feedback reports.

All logic lives in ingestion.pipeline.nightly; this file only wires the stages. Every
stage takes the run id and can be retried or rerun safely. Only transient failures
(database connection, disk) are retried; anything else (a wrong setting or password, another
run in progress) fails the run at once. ``start`` is a setup task: it claims the warehouse for
this run (one night at a time, ingestion/pipeline/runlock.py); ``finish`` is its teardown, so
the claim ends even when a task in between failed.
"""
from __future__ import annotations

import datetime as dt

import pendulum
from airflow.sdk import dag, get_current_context, task
from airflow.sdk.exceptions import AirflowFailException

SCHEDULE = "0 1 * * *"  # 01:00 every night
TIMEZONE = "Asia/Ho_Chi_Minh"


def _run(stage: str, *args):
    """Run one pipeline stage; a non-transient error fails the task without retries."""
    from ingestion.pipeline import nightly

    from ingestion.errors import CchcError

    try:
        return getattr(nightly, stage)(*args)
    except Exception as exc:
        if nightly.is_transient(exc):
            raise
        raise AirflowFailException(exc.message if isinstance(exc, CchcError) else f"{type(exc).__name__}: {exc}") from exc


def _mark_failed(context) -> None:
    from ingestion.pipeline import nightly

    exc = context.get("exception")
    nightly.finish(context["run_id"], failed=f"{context['ti'].task_id}: {exc}")


@dag(
    dag_id="cchc_nightly",
    schedule=SCHEDULE,
    start_date=pendulum.datetime(2025, 1, 1, tz=TIMEZONE),
    catchup=False,
    max_active_runs=1,
    is_paused_upon_creation=False,
    tags=["cchc"],
    doc_md=__doc__,
    default_args={
        "retries": 2,
        "retry_delay": dt.timedelta(minutes=2),
        "retry_exponential_backoff": True,
        "on_failure_callback": _mark_failed,
    },
)
def cchc_nightly():
    @task
    def start() -> str:
        run = get_current_context()["run_id"]
        _run("start", run)
        return run

    @task
    def discover(run: str) -> dict:
        return _run("discover", run)

    @task
    def ingest(run: str, discovered: dict) -> dict:
        return _run("ingest_stage", run)

    @task
    def build_candidates(run: str, ingested: dict) -> dict:
        return _run("build_candidates", run)

    @task
    def validate(run: str, built: dict) -> dict:
        return _run("validate_stage", run)

    @task
    def publish(run: str, validated: dict) -> dict:
        return _run("publish_stage", run)

    @task
    def report(run: str, published: dict) -> dict:
        return _run("report_stage", run)

    @task
    def finish(run: str) -> dict:
        return _run("finish", run)

    run = start()
    discovered = discover(run)
    ingested = ingest(run, discovered)
    built = build_candidates(run, ingested)
    validated = validate(run, built)
    published = publish(run, validated)
    reported = report(run, published)
    done = finish(run)
    reported >> done
    done.as_teardown(setups=run)


nightly_dag = cchc_nightly()
