"""Progress of the nightly stages, as log lines a person can follow.

Every line goes through the logger ``cchc.progress`` at INFO and starts with PREFIX, so the same
lines appear in the Airflow task logs (the UI) and, picked out of the run's full log by that
prefix, on the terminal of `make run` / `cchc run`.
"""
from __future__ import annotations

import logging
import time

log = logging.getLogger("cchc.progress")
PREFIX = "▸ "
STAGE_VI = {
    "install": "cài đặt", "demo": "sinh dữ liệu mẫu", "start": "khởi động", "discover": "tìm tệp",
    "parse": "đọc tệp", "load": "nạp vào kho", "ingest": "đọc và nạp", "dbt": "dbt", "gate": "kiểm tra (GX)",
    "publish": "công bố marts", "standby": "cập nhật bản dự phòng", "report": "báo cáo phản hồi", "docs": "tài liệu",
    "finish": "kết thúc",
}


def number(value: float, decimals: int = 0) -> str:
    """Vietnamese number: 16.203 and 35,2."""
    text = f"{value:,.{decimals}f}"
    return text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")


def say(stage: str, message: str) -> None:
    label = STAGE_VI.get(stage, stage)
    log.info("%s%s: %s", PREFIX, stage if label == stage else f"{label} / {stage}", message)


def figures(stage: str, seconds: float, **values) -> None:
    """The stage's closing line: its figures and duration."""
    parts = [f"{k} {number(v) if isinstance(v, int) else v}" for k, v in values.items()]
    say(stage, ", ".join([*parts, f"{number(seconds, 1)} s"]))


class Counter:
    """Done/total with a rate, logged at most every `every` seconds (and at the end)."""

    def __init__(self, stage: str, total: int, unit: str, every: float = 2.0):
        self.stage, self.total, self.unit, self.every = stage, total, unit, every
        self.done = 0
        self.started = self._last = time.monotonic()

    def add(self, n: int = 1) -> None:
        self.done += n
        now = time.monotonic()
        if self.done >= self.total or now - self._last >= self.every:
            self._last = now
            self._log(now)

    def _log(self, now: float) -> None:
        elapsed = max(now - self.started, 1e-6)
        pct = 100 * self.done / self.total if self.total else 100
        say(self.stage, f"{number(self.done)}/{number(self.total)} {self.unit} ({number(pct)} %), "
                        f"{number(self.done / elapsed, 1)} {self.unit}/s")
