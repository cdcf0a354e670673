"""`[core] hostname_callable` for Celery workers started side by side on one machine by the scale-out
test: each reports the name it was given, as two machines would report two hostnames."""
from __future__ import annotations

import os


def worker_name() -> str:
    return os.environ["CCHC_TEST_WORKER_NAME"]
