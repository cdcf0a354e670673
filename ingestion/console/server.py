"""`cchc console`: the console on this machine (uvicorn, localhost by default, no login)."""
from __future__ import annotations

import contextlib
import socket
import sys
import threading
import time

# Debian's chromium, as the tests and the benchmark drive it (no browser download).
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--no-first-run"]


def serve(host: str = "127.0.0.1", port: int = 8765) -> int:
    import uvicorn

    from .app import create_app

    if host not in ("127.0.0.1", "localhost", "::1"):
        print("Lưu ý: bảng điều phối chạy ngoài máy này không có đăng nhập; trong triển khai nhiều máy hãy "
              "dùng bảng điều phối trong Airflow (http://<máy>:8080/cchc/), sau lớp đăng nhập của Airflow.",
              file=sys.stderr)
    print(f"Bảng điều phối báo cáo CCHC: http://{'localhost' if host == '127.0.0.1' else host}:{port}/worklist "
          "(Ctrl+C để dừng)", flush=True)
    uvicorn.run(create_app(), host=host, port=port, log_level="warning")
    return 0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def running(app, port: int | None = None):
    """Serve `app` from a thread on localhost (tests, the benchmark); yields its base URL."""
    import uvicorn

    port = port or free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the console did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(15)
