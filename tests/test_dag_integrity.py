"""The DAG file imports cleanly and wires the stages the README promises (fast: no database, no run)."""
from __future__ import annotations

import datetime as dt
import inspect

import pytest

from ingestion import config

VIETNAM = dt.timezone(dt.timedelta(hours=7))
ORDER = ["start", "discover", "ingest_batch", "ingest", "build_candidates", "validate", "publish", "report", "finish"]
# After the swap: the standby copy (database work) runs beside the reports (Python work).
BESIDE = {"standby": "report"}


@pytest.fixture(scope="module")
def dag(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AIRFLOW_HOME", str(tmp_path_factory.mktemp("airflow")))
        from airflow.dag_processing.dagbag import DagBag

        bag = DagBag(dag_folder=str(config.DAGS_DIR))
    assert bag.import_errors == {}
    assert bag.dag_ids == ["cchc_nightly"]
    return bag.dags["cchc_nightly"]


def test_dag_schedules_nightly_and_is_documented(dag):
    assert dag.timetable.expression == "0 1 * * *"
    assert str(dag.timetable.timezone) in ("Asia/Ho_Chi_Minh", "Timezone('Asia/Ho_Chi_Minh')")
    assert dag.start_date is None and dag.catchup is False and dag.max_active_runs == 1
    # documented, Vietnamese first, every task too
    assert dag.doc_md.lstrip().startswith("### cchc_nightly — nạp báo cáo CCHC hằng đêm")
    assert all(t.doc_md and len(t.doc_md) > 40 for t in dag.tasks)
    assert all(t.retries == 2 for t in dag.tasks)


def test_a_missed_night_is_run_once_when_the_scheduler_comes_up_and_older_nights_never(dag, monkeypatch):
    """What the DAG's comment promises, asked of the scheduler's own timetable (catchup=False)."""
    import airflow.timetables.trigger as trigger
    import pendulum
    from airflow.serialization.decoders import decode_timetable
    from airflow.serialization.encoders import encode_timetable
    from airflow.timetables.base import TimeRestriction

    timetable = decode_timetable(encode_timetable(dag.timetable))
    restriction = TimeRestriction(earliest=None, latest=None, catchup=dag.catchup)

    def next_run(now, last):
        monkeypatch.setattr(trigger, "utcnow", lambda: pendulum.instance(now))
        info = timetable.next_dagrun_info(last_automated_data_interval=last, restriction=restriction)
        return info.run_after.in_timezone("Asia/Ho_Chi_Minh"), info.data_interval

    # first started at 02:39 (Vietnam time), after 01:00: that night's load runs at once
    run_after, interval = next_run(dt.datetime(2026, 12, 2, 2, 39, tzinfo=VIETNAM), None)
    assert (run_after.day, run_after.hour) == (2, 1)
    # once it ran, the next one is the next night's
    run_after, _ = next_run(dt.datetime(2026, 12, 2, 10, 0, tzinfo=VIETNAM), interval)
    assert (run_after.day, run_after.hour) == (3, 1)
    # down from the 2nd to the 5th: the 5th's load runs once, the 3rd and the 4th are not made up
    run_after, _ = next_run(dt.datetime(2026, 12, 5, 9, 0, tzinfo=VIETNAM), interval)
    assert (run_after.day, run_after.hour) == (5, 1)


def test_a_stage_result_is_one_xcom(dag):
    # A stage returns its figures as a dict; unrolled, every key would be an XCom of its own, one
    # request to the execution API each (about 60 a night, 1.6 s under `cchc run`).
    for t in dag.tasks:
        assert t.multiple_outputs is False, t.task_id


def test_stages_run_in_order_between_a_setup_and_its_teardown(dag):
    assert sorted(dag.task_ids) == sorted(ORDER + list(BESIDE))
    for upstream, downstream in zip(ORDER, ORDER[1:]):
        # the previous stage (and what runs beside it), and the run id from start: nothing else orders a stage
        expected = {upstream, "start", *(k for k, v in BESIDE.items() if v == upstream)} - {downstream}
        assert dag.get_task(downstream).upstream_task_ids == expected
    for task_id, twin in BESIDE.items():
        # the same place in the order as its twin, and neither waits for the other
        assert dag.get_task(task_id).upstream_task_ids == dag.get_task(twin).upstream_task_ids
        assert dag.get_task(task_id).downstream_task_ids == dag.get_task(twin).downstream_task_ids == {"finish"}
    assert dag.get_task("start").is_setup and not dag.get_task("start").is_teardown
    assert dag.get_task("finish").is_teardown
    # every stage receives the run id only (a batch also its files): the order is declared once,
    # not through unused arguments
    for task_id in ORDER[1:] + list(BESIDE):
        expected = ["run", "batch"] if task_id == "ingest_batch" else ["run"]
        assert list(inspect.signature(dag.get_task(task_id).python_callable).parameters) == expected, task_id


def test_parse_and_load_are_shared_by_workers(dag):
    from airflow.sdk.definitions.mappedoperator import MappedOperator

    assert isinstance(dag.get_task("ingest_batch"), MappedOperator)  # one task per batch of files


def test_a_night_with_nothing_new_still_has_one_batch(pipeline_env):
    """A mapped task over no batch is skipped, and so would be every stage after it."""
    from ingestion.pipeline import nightly

    from conftest import generated_inbox

    generated_inbox(pipeline_env["inbox"], units=2, quarters=1, error_rate=0.0, seed=1, end=(2026, 3))
    nightly.start(run := nightly.new_run_id())
    for batch in nightly.discover(run, batches=True)["batches"]:
        assert batch
        nightly.ingest_batch_stage(run, batch, workers=1)
    nightly.finish(run, failed="test")
    nightly.start(run := nightly.new_run_id())
    assert nightly.discover(run, batches=True)["batches"] == [[]]  # every file is known already
    assert nightly.ingest_batch_stage(run, []) == {"files": 0, "loaded": 0, "rejected": 0, "facts": 0}
    nightly.finish(run, failed="test")


def test_dag_file_is_thin():
    source = (config.DAGS_DIR / "cchc_nightly.py").read_text()
    assert "from airflow.sdk import" in source
    assert "psycopg2" not in source and "select " not in source.lower()  # logic lives in ingestion/, not here
