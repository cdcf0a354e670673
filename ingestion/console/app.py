"""The console's web application (FastAPI): pages rendered on the server from the marts.

    /worklist     every expected unit of a quarter, grouped, colour-coded, filterable
    /unit/{code}  one unit: current verdict and failed rules, versions, reviews, key figures,
                  links to its current feedback, the accept / reject form
    /dashboards   reporting, data quality, TTHC processing, disbursement, staffing
    /feedback/... the current feedback files (<reports>/current)

Who may read and who may review is decided by the `Access` it is built with: on one machine
(`cchc console`) it listens on localhost only and the reviewer types their name; inside
Airflow's api-server the Airflow login and its permissions on the cchc_nightly DAG decide
(ingestion/console/airflow_plugin.py). Every script, style and font is served from the
installed packages or this package: nothing is fetched from the internet.
"""
from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from urllib.parse import urlencode, urlsplit
from zoneinfo import ZoneInfo

from fastapi import Depends, FastAPI, Form, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from .. import config, worklist
from ..review import ACCEPTABLE_STATES, DECISION_VI, REJECTABLE_STATES, STATE_VI, ReviewError, record_review
from ..rules.messages import period_vi
from ..text.values import format_vi
from . import dashboards
from . import data as pages_data
from .db import Database

LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
MAX_ROWS = 600  # units listed on one page; beyond that, choose a province


@dataclass
class Access:
    """How the console decides who reads and who reviews.

    reader:    a FastAPI dependency run before every page (raises to refuse)
    reviewer:  a dependency run before a review is recorded; returns the reviewer's name, or
               None when the form's name field is to be used (nobody is signed in)
    mode:      shown in the footer
    asks_name: whether the review form asks for the reviewer's name
    """
    reader: Callable
    reviewer: Callable
    mode: str
    login_url: Callable[[str], str] | None = None
    asks_name: Callable[[], bool] = lambda: True


def _no_check() -> None:
    return None


def _name_from_form() -> None:
    return None


LOCAL_ACCESS = Access(reader=_no_check, reviewer=_name_from_form, mode="máy cục bộ (không đăng nhập)")


def _plotly_js() -> Path:
    import plotly

    return Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


def _fmt_date(value, with_time: bool = False) -> str:
    if value is None:
        return "—"
    if isinstance(value, dt.datetime):
        value = value.astimezone(LOCAL_TZ)
        return value.strftime("%d/%m/%Y %H:%M" if with_time else "%d/%m/%Y")
    return value.strftime("%d/%m/%Y")


def _fmt_num(value, decimals: int = 2) -> str:
    return "—" if value is None else format_vi(value, decimals)


def _env() -> Environment:
    env = Environment(loader=PackageLoader("ingestion.console", "templates"),
                      autoescape=select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True)
    env.filters.update(date=_fmt_date, num=_fmt_num, period_vi=period_vi,
                       state_vi=lambda s: STATE_VI.get(s, s),
                       tojson_attr=lambda v: Markup.escape(json.dumps(v, ensure_ascii=False, default=str)))
    env.globals.update(DECISION_VI=DECISION_VI, FILTER_VI=worklist.FILTER_VI)
    return env


def _same_origin(request: Request) -> bool:
    """A form post must come from the console's own pages (a cross-site post is refused)."""
    origin = request.headers.get("origin") or request.headers.get("referer")
    if not origin:
        return True  # not a browser form (curl, tests): nothing to forge
    host = request.headers.get("x-forwarded-host") or request.headers.get("host", "")
    return urlsplit(origin).netloc == host


def create_app(access: Access = LOCAL_ACCESS, database: Database | None = None,
               reports_dir: Path | None = None) -> FastAPI:
    app = FastAPI(title="Bảng điều phối báo cáo CCHC", docs_url=None, redoc_url=None, openapi_url=None)
    db = database or Database()
    env = _env()
    static = resources.files("ingestion.console").joinpath("static")
    plotly_js = _plotly_js()
    app.state.db = db

    def reports() -> Path:
        return reports_dir or config.load_settings().reports_dir

    def render(request: Request, template: str, status_code: int = 200, **context) -> HTMLResponse:
        base = request.scope.get("root_path", "").rstrip("/")
        started = request.state.started if hasattr(request.state, "started") else time.perf_counter()
        html = env.get_template(template).render(base=base, access_mode=access.mode, request=request,
                                                 now=dt.datetime.now(LOCAL_TZ), **context)
        response = HTMLResponse(html, status_code=status_code)
        response.headers["Server-Timing"] = f"render;dur={(time.perf_counter() - started) * 1000:.1f}"
        return response

    @app.middleware("http")
    async def timing(request: Request, call_next):
        request.state.started = time.perf_counter()
        return await call_next(request)

    @app.exception_handler(worklist.NoData)
    async def no_data(request: Request, exc: worklist.NoData):
        return render(request, "message.html", 503, title="Chưa có dữ liệu", message=exc.message)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException):
        if exc.status_code == 401 and access.login_url and request.method == "GET":
            return RedirectResponse(access.login_url(str(request.url)), status_code=303)
        titles = {401: "Cần đăng nhập", 403: "Không có quyền", 404: "Không tìm thấy"}
        messages = {401: "Hãy đăng nhập Airflow để dùng bảng điều phối.",
                    403: "Tài khoản của bạn không có quyền này. Chỉ Tổ dữ liệu (người được chạy DAG "
                         "cchc_nightly) mới được chấp nhận hay từ chối báo cáo; người dùng BI đọc dữ liệu "
                         "qua các bảng marts."}
        return render(request, "message.html", exc.status_code, title=titles.get(exc.status_code, "Lỗi"),
                      message=messages.get(exc.status_code, str(exc.detail)))

    @app.get("/static/plotly.min.js", include_in_schema=False)
    def plotly_bundle():
        return FileResponse(plotly_js, media_type="text/javascript",
                            headers={"Cache-Control": "public, max-age=86400"})

    @app.get("/static/{name}", include_in_schema=False)
    def static_file(name: str):
        if name not in ("console.css", "console.js"):
            raise HTTPException(404)
        media = "text/css" if name.endswith(".css") else "text/javascript"
        return Response(static.joinpath(name).read_bytes(), media_type=media,
                        headers={"Cache-Control": "public, max-age=300"})

    @app.get("/", include_in_schema=False, dependencies=[Depends(access.reader)])
    def home(request: Request):
        base = request.scope.get("root_path", "").rstrip("/")
        return RedirectResponse(f"{base}/worklist", status_code=303)

    @app.get("/worklist", response_class=HTMLResponse, dependencies=[Depends(access.reader)])
    def worklist_page(request: Request, quarter: str | None = None, show: str | None = None,
                      province: str | None = None, q: str | None = None):
        with db.connection() as conn:
            try:
                period = worklist.resolve_period(conn, quarter)
            except ReviewError as exc:
                raise HTTPException(404, exc.message) from exc
            known = worklist.periods(conn)
            provinces = pages_data.provinces(conn)
            province = province or None
            summary = worklist.summary(conn, period, province)
            # Nationally, the first screen is one line per province; a filter or a search lists units.
            overview = (worklist.province_overview(conn, period)
                        if province is None and len(provinces) > 1 and not show and not q else None)
            rows = [] if overview is not None else \
                worklist.worklist(conn, period, show=show or None, province=province, search=q or None)
        total = len(rows)
        rows = rows[:MAX_ROWS]
        groups = []
        for code, name, members in worklist.groups(rows):
            open_count = sum(r["state"] in worklist.OPEN_STATES for r in members)
            groups.append({"code": code, "name": name, "rows": members, "open": open_count})
        current = reports()
        for r in rows:
            r["feedback"] = (current / "current" / r["unit_code"] / f"{r['period_key']}.html").exists()
        return render(request, "worklist.html", period=period, periods=known, summary=summary, groups=groups,
                      rows=rows, total=total, overview=overview, show=show or "", q=q or "",
                      province=province or "", provinces=provinces, state_order=worklist.STATE_ORDER)

    def unit_context(conn, code: str, quarter: str | None) -> dict:
        history = worklist.unit_status(conn, code)
        if not history:
            raise HTTPException(404, f"Không có đơn vị {code} trong danh sách phải báo cáo.")
        try:
            period = worklist.resolve_period(conn, quarter) if quarter else history[0]["period_key"]
        except ReviewError as exc:
            raise HTTPException(404, exc.message) from exc
        current = next((r for r in history if r["period_key"] == period), None)
        if current is None:
            raise HTTPException(404, f"Đơn vị {code} không phải báo cáo quý {period_vi(period)}.")
        pending = worklist.pending_reviews(conn, period).get((code, period))
        figures = pages_data.key_figures(conn, code)
        periods = [r["period_key"] for r in reversed(history)]
        charts_json = _unit_charts(figures, periods)
        html_path = reports() / "current" / code / f"{period}.html"
        return {"unit": current, "history": history, "period": period, "pending": pending,
                "failed": pages_data.failed_rules(conn, code, period, current["latest_file_id"]),
                "versions": pages_data.versions(conn, code, period),
                "reviews": pages_data.reviews(conn, code, period),
                "figures": figures, "figure_periods": periods, "unit_charts": charts_json,
                "feedback": html_path.exists(),
                "can_accept": current["state"] in ACCEPTABLE_STATES,
                "can_reject": current["state"] in REJECTABLE_STATES,
                "ask_name": access.asks_name()}

    @app.get("/unit/{code}", response_class=HTMLResponse, dependencies=[Depends(access.reader)])
    def unit_page(request: Request, code: str, quarter: str | None = None, recorded: int | None = None):
        code = code.strip().upper()
        with db.connection() as conn:
            context = unit_context(conn, code, quarter)
        return render(request, "unit.html", recorded=recorded, error=None, reason="", reviewer="", **context)

    @app.post("/unit/{code}/review", response_class=HTMLResponse, dependencies=[Depends(access.reader)])
    def review(request: Request, code: str, quarter: str = Form(...), decision: str = Form(...),
               reason: str = Form(""), reviewed_by: str = Form(""), signed_in: str | None = Depends(access.reviewer)):
        if not _same_origin(request):
            raise HTTPException(403, "cross-site form post")
        code = code.strip().upper()
        who = signed_in or reviewed_by
        with db.connection() as conn:
            try:
                saved = record_review(conn, code, quarter, decision, reason, who)
            except ReviewError as exc:
                context = unit_context(conn, code, quarter)
                return render(request, "unit.html", 400, recorded=None, error=exc.message, reason=reason,
                              reviewer=reviewed_by, **context)
        base = request.scope.get("root_path", "").rstrip("/")
        query = urlencode({"quarter": saved.period, "recorded": saved.review_id})
        return RedirectResponse(f"{base}/unit/{code}?{query}", status_code=303)

    @app.get("/dashboards", response_class=HTMLResponse, dependencies=[Depends(access.reader)])
    def dashboards_page(request: Request, quarter: str | None = None, province: str | None = None):
        with db.connection() as conn:
            try:
                period = worklist.resolve_period(conn, quarter)
            except ReviewError as exc:
                raise HTTPException(404, exc.message) from exc
            known = worklist.periods(conn)
            provinces = pages_data.provinces(conn)
            if province is None and len(provinces) == 1:
                province = provinces[0]["province_code"]
            sections = dashboards.build(conn, period, province or None)
        return render(request, "dashboards.html", period=period, periods=known, sections=sections,
                      province=province or "", provinces=provinces)

    @app.get("/feedback/{code}/{name}", dependencies=[Depends(access.reader)])
    def feedback(code: str, name: str):
        stem, _, ext = name.rpartition(".")
        if ext not in ("html", "xlsx") or not stem:
            raise HTTPException(404)
        folder = (reports() / "current").resolve()
        path = (folder / code / f"{stem}.{ext}").resolve()
        if folder not in path.parents or not path.is_file():
            raise HTTPException(404, "Chưa có báo cáo phản hồi cho đơn vị và kỳ này.")
        media = "text/html; charset=utf-8" if ext == "html" else \
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        return FileResponse(path, media_type=media, filename=None if ext == "html" else f"{code}_{stem}.xlsx")

    return app


def _unit_charts(figures: dict[str, dict], periods: list[str]) -> list[dict]:
    from . import charts

    rates = [(label, [figures[label].get(p) for p in periods], color) for label, color in (
        ("Tỷ lệ giải quyết đúng hạn (%)", charts.COLORS["on_time"]),
        ("Tỷ lệ hồ sơ trực tuyến (%)", charts.COLORS["online"]),
        ("Tỷ lệ giải ngân vốn đầu tư công (%)", charts.COLORS["disbursed"]))]
    counts = [(label, [figures[label].get(p) for p in periods], color) for label, color in (
        ("Hồ sơ TTHC tiếp nhận", charts.COLORS["reporting"]), ("Hồ sơ đã giải quyết", charts.COLORS["on_time"]))]
    out = []
    if any(v is not None for _, values, _ in rates for v in values):
        out.append(charts.lines("Các tỷ lệ (tính lại từ số liệu đếm)", periods,
                                [(n.replace(" (%)", ""), v, c) for n, v, c in rates], height=280))
    if any(v is not None for _, values, _ in counts for v in values):
        out.append(charts.lines("Hồ sơ TTHC", periods, counts, percent=False, height=280))
    return out
