"""
### cchc_nightly — nạp báo cáo CCHC hằng đêm

Mỗi đêm lúc 01:00 (giờ Việt Nam, Asia/Ho_Chi_Minh) tác vụ này đọc các bảng tính phụ lục
thống kê CCHC mới hoặc đã sửa trong thư mục nhận báo cáo, đưa từng số liệu vào kho kèm nguồn
gốc (tệp, trang, dòng), kiểm tra các quy tắc nhất quán bằng Great Expectations **trước khi**
công bố, rồi công bố các bảng phân tích (marts) cho công cụ BI và viết báo cáo phản hồi cho
từng đơn vị.

| bước | việc |
|---|---|
| `start` | giữ quyền chạy (mỗi lúc chỉ một lần chạy), kiểm tra kho, đồng bộ danh mục đơn vị; lần chạy bị ngắt trước đó được ghi là *interrupted* |
| `discover` | tìm tệp mới hoặc đã sửa (tệp không đổi được bỏ qua) |
| `ingest_batch` | từng lô tệp (mỗi lô một tác vụ, các worker chia nhau): đọc, nạp số liệu vào `raw.*`; tệp hỏng bị từ chối kèm lý do, phần còn lại vẫn nạp |
| `ingest` | tổng hợp số liệu nạp của mọi lô, cập nhật thống kê cho các truy vấn sau |
| `build_candidates` | dbt dựng staging/intermediate cho các báo cáo chờ kiểm tra |
| `validate` | cổng kiểm tra: chạy mọi quy tắc một lần, Great Expectations kiểm định kết quả; báo cáo có lỗi bị tạm giữ |
| `publish` | dựng marts mới và đổi sang trong một giao dịch (BI không bao giờ thấy dữ liệu lẫn lộn) |
| `standby` | cập nhật bản dự phòng `marts_next` bằng những gì vừa công bố, để lần sau chỉ dựng phần thay đổi (chạy song song với `report`) |
| `report` | báo cáo phản hồi HTML/xlsx cho từng đơn vị, trang kết quả kiểm tra, tài liệu dbt |
| `finish` | ghi kết quả lần chạy, trả quyền chạy (chạy cả khi một bước trước đó lỗi); tóm tắt hiện ở **ghi chú (note)** của lần chạy |

Mỗi bước ghi số liệu của mình (tệp, số liệu, quy tắc, giây) vào nhật ký của bước. Chỉ lỗi tạm
thời (mất kết nối CSDL, đĩa) được thử lại; lỗi khác dừng lần chạy ngay và được ghi vào
`audit.load_runs`. Chạy lại luôn an toàn; một lần chạy thứ hai khi lần trước chưa xong bị từ chối.

---

**English.** The nightly load of the units' CCHC statistical appendices: discover new and changed
workbooks → ingest them in batches, one mapped task per batch that any worker can take (figures with
file/sheet/row provenance into raw.*; state only in the warehouse and the shared inbox) → dbt build of the
candidates → Great Expectations checks every consistency rule (the gate) → publish the marts
atomically → the standby copy of the marts brought up to date, beside the per-unit feedback reports →
finish (the run's summary becomes the DAG-run note).
All logic lives in `ingestion.pipeline.nightly`; this file only wires the stages. Only transient
failures (database connection, disk) are retried; anything else (a wrong setting or password, another
run in progress) fails the run at once. ``start`` is a setup task: it claims the warehouse for this run
(one night at a time, ingestion/pipeline/runlock.py); ``finish`` is its teardown, so the claim ends even
when a task in between failed.
"""
from __future__ import annotations

import datetime as dt

from airflow.sdk import CronTriggerTimetable, chain, dag, get_current_context, task
from airflow.sdk.exceptions import AirflowFailException

SCHEDULE = "0 1 * * *"  # 01:00 every night
TIMEZONE = "Asia/Ho_Chi_Minh"


def _run(stage: str, *args, **kwargs):
    """Run one pipeline stage; a non-transient error fails the task without retries."""
    from ingestion.pipeline import nightly

    try:
        return getattr(nightly, stage)(*args, **kwargs)
    except Exception as exc:
        cause = nightly.explain_failure(exc)  # a full disk is no transient outage, whatever the error said
        if nightly.is_transient(cause):
            raise
        raise AirflowFailException(nightly.failure_text(cause)) from exc


TASK_DOCS = {
    "start": "Giữ quyền chạy (mỗi lúc một lần chạy), kiểm tra lược đồ kho, vai trò `bi_reader`, đồng bộ danh mục "
             "đơn vị. / Run claim, schema, BI role, registry.",
    "discover": "Tìm tệp mới hoặc đã sửa trong thư mục nhận báo cáo; ghi số tệp tìm thấy, mới, không đổi. "
                "/ New and changed workbooks.",
    "ingest_batch": "Một lô tệp mới hoặc đã sửa: đọc từng tệp (tiến độ: tệp đã đọc/tổng, tệp/giây), nạp số liệu "
                    "vào `raw.facts`; tệp không đọc được bị từ chối kèm lý do. Chạy lại an toàn. "
                    "/ Parse and load one batch of files; rerunnable.",
    "ingest": "Tổng hợp kết quả nạp của mọi lô (tệp nạp, từ chối, số liệu) và cập nhật thống kê của `raw.*`. "
              "/ Totals of every batch, fresh table statistics.",
    "build_candidates": "dbt build (selector `pre_gate`): staging và intermediate của các báo cáo chờ kiểm tra. "
                        "/ dbt models before the gate.",
    "validate": "Cổng kiểm tra: mọi quy tắc của `expectations/rules.yml` chạy một lần, Great Expectations kiểm "
                "định kết quả; kết quả vào "
                "`audit.dq_results`; báo cáo có lỗi bị tạm giữ. / The data-quality gate.",
    "publish": "Dựng marts vào `marts_next`, kiểm thử, đổi sang `marts` trong một giao dịch. / Atomic publication.",
    "standby": "Bản marts cũ (nay là `marts_next`) nhận những nhóm vừa công bố, để lần dựng sau chỉ làm phần thay đổi; "
               "lỗi ở đây không mất gì, lần sau bắt kịp. / The standby copy brought up to date.",
    "report": "Báo cáo phản hồi cho đơn vị (HTML, xlsx), trang kết quả kiểm tra, tài liệu dbt tĩnh. / Reports, docs.",
    "finish": "Ghi kết quả lần chạy vào `audit.load_runs`, trả quyền chạy (teardown: chạy cả khi bước trước lỗi); "
              "tóm tắt thành ghi chú của lần chạy. / Run summary, note, release of the claim.",
}


def _stage(name: str):
    """A stage's task. Its result (the stage's figures, for the log and the UI) stays one XCom: a
    ``-> dict`` annotation alone would unroll it into one XCom per key, an API call each."""
    return task(task_id=name, doc_md=TASK_DOCS[name], multiple_outputs=False)


def _mark_failed(context) -> None:
    from ingestion.pipeline import nightly

    exc = context.get("exception")
    nightly.finish(context["run_id"], failed=f"{context['ti'].task_id}: {exc}")


@dag(
    dag_id="cchc_nightly",
    # catchup=False: a scheduler that was not running at 01:00 (the first start, a restart after an
    # outage) runs that night's load once when it comes up, and never the nights before it; one
    # that ran it waits for the next 01:00. (With catchup=False, run_immediately changes nothing.)
    schedule=CronTriggerTimetable(SCHEDULE, timezone=TIMEZONE, run_immediately=False),
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
    @_stage("start")
    def start() -> str:
        run = get_current_context()["run_id"]
        _run("start", run)
        return run

    @_stage("discover")
    def discover(run: str) -> list:
        # the counts go to the warehouse (audit.load_runs); the batches are what the next task maps over
        return _run("discover", run, batches=True)["batches"]

    @_stage("ingest_batch")
    def ingest_batch(run: str, batch: list) -> dict:
        return _run("ingest_batch_stage", run, batch)

    @_stage("ingest")
    def ingest(run: str) -> dict:
        return _run("ingest_summary_stage", run)

    @_stage("build_candidates")
    def build_candidates(run: str) -> dict:
        return _run("build_candidates", run)

    @_stage("validate")
    def validate(run: str) -> dict:
        return _run("validate_stage", run)

    @_stage("publish")
    def publish(run: str) -> dict:
        return _run("publish_stage", run, standby=False)

    @_stage("standby")
    def standby(run: str) -> dict:
        return _run("standby_stage", run)

    @_stage("report")
    def report(run: str) -> dict:
        return _run("report_stage", run)

    @_stage("finish")
    def finish(run: str) -> dict:
        from ingestion.airflow_note import post_run_note

        summary = _run("finish", run)
        post_run_note("cchc_nightly", run, summary)
        return summary

    # Each stage reads what the previous one wrote from the warehouse, not from XCom: the order
    # is declared here once, and every task only receives the run id.
    run = start()
    done = finish(run)
    # one mapped task per batch of new files (Celery workers share them; none when nothing is new)
    batches = ingest_batch.partial(run=run).expand(batch=discover(run))
    # the standby copy works in the database while the reports are written: side by side
    chain(batches, ingest(run), build_candidates(run), validate(run), publish(run), [standby(run), report(run)], done)
    done.as_teardown(setups=run)


nightly_dag = cchc_nightly()
