"""The DAG file imports cleanly and wires the stages the README promises (fast: no database, no run)."""
from __future__ import annotations

import inspect

import pytest

from ingestion import config

ORDER = ["start", "discover", "ingest_batch", "ingest", "build_candidates", "validate", "publish", "report", "finish"]


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
    # starting the scheduler must not launch a run for the night that has passed
    assert dag.start_date is None and dag.timetable.run_immediately is False
    assert dag.catchup is False and dag.max_active_runs == 1
    # documented, Vietnamese first, every task too
    assert dag.doc_md.lstrip().startswith("### cchc_nightly — nạp báo cáo CCHC hằng đêm")
    assert all(t.doc_md and len(t.doc_md) > 40 for t in dag.tasks)
    assert all(t.retries == 2 for t in dag.tasks)


def test_stages_run_in_order_between_a_setup_and_its_teardown(dag):
    assert sorted(dag.task_ids) == sorted(ORDER)
    for upstream, downstream in zip(ORDER, ORDER[1:]):
        # the previous stage, and the run id from start: nothing else orders a stage
        assert dag.get_task(downstream).upstream_task_ids == {upstream, "start"} - {downstream}
    assert dag.get_task("start").is_setup and not dag.get_task("start").is_teardown
    assert dag.get_task("finish").is_teardown
    # every stage receives the run id only (a batch also its files): the order is declared once,
    # not through unused arguments
    for task_id in ORDER[1:]:
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
