"""`cchc console`: the console on this machine (uvicorn, localhost by default, no login)."""
from __future__ import annotations

import sys


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
