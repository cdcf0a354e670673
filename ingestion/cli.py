"""`cchc` — the one command people use.

    cchc run                     chạy tác vụ hằng đêm một lần qua Airflow / run the nightly job once
    cchc db url|start|stop       kho dữ liệu / the warehouse
    cchc extract FILE [--json]   đọc mọi số liệu của một tệp .xlsx/.docx / every figure of a report
    cchc check FILE... [--json]  kiểm tra quy tắc, không cần CSDL / check the rules offline
    cchc catalog unmatched DIR...  nhãn chưa khớp danh mục chỉ tiêu / labels matching no indicator
    cchc rules sql [--out DIR]     câu SQL của từng loại quy tắc / the SQL of each rule kind
    cchc template --level ...    mẫu biểu trống cho đơn vị / blank workbook for units
    cchc demo-data ...           sinh dữ liệu mẫu / generate a realistic inbox
    cchc bench                   đo hiệu năng / benchmark the nightly load
    cchc status [--quarter Q]    tình hình báo cáo của các đơn vị / the worklist
    cchc review list|accept|reject UNIT QUARTER --reason "…"   xem xét quyết định của cổng kiểm tra
    cchc console                 bảng điều phối trên trình duyệt / the data team's web console
    cchc dbt ... | cchc airflow ...   dbt or Airflow with the warehouse settings
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import warnings
from pathlib import Path

from . import config, heap
from .argparse_vi import vietnamese

warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")


def _vi_en(vi: str, en: str, lang: str) -> str:
    return en if lang == "en" else vi


# -- run ---------------------------------------------------------------------------------------
def _show_progress() -> None:
    """The stages' progress lines (ingestion.progress) on the terminal, as they come."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
    logger = logging.getLogger("cchc.progress")
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    logger.propagate = False


def cmd_run(args) -> int:
    from .pipeline import nightly

    _show_progress()
    settings = config.load_settings()
    if args.inbox:
        os.environ[config.ENV_INBOX] = str(Path(args.inbox).resolve())
        settings = config.load_settings()
    if settings.inbox is not None:
        nightly.inbox_path(settings)  # a missing, wrong or empty inbox ends here, in one line, before anything starts
    metadata = log = None
    if not args.direct:  # Airflow's metadata database is prepared meanwhile
        from .airflow_local import MetadataDb, run_log_path

        log = run_log_path(settings)
        log.touch()
        metadata = MetadataDb(settings, log)
        metadata.start()
    inbox = nightly.inbox_path(settings)  # the demo inbox is generated while Airflow's database is prepared
    where = "CCHC_DATABASE_URL" if settings.database_url else f"PostgreSQL nhúng tại {settings.pgdata}"
    print(f"Kho dữ liệu: {where}")
    print(f"Thư mục nhận báo cáo: {inbox}{' (dữ liệu mẫu)' if settings.inbox is None else ''}")
    if args.direct:
        summary = nightly.run_all(settings, docs=not args.no_docs)
        ok = summary.get("status") == "success"
        log_file = None
    else:
        from .airflow_local import REFUSED_MARKER, run_dag_once
        from .pipeline import runlock
        from .registry import read_registry
        from .warehouse import access
        from .warehouse.connection import connect

        read_registry(settings.resolved_registry(inbox), settings.resolved_unit_mapping(inbox))
        logins = access.prepare(settings)  # starts the embedded server and the roles Airflow's tasks log in as
        with runlock.whole_process(logins.pipeline):
            pass  # said now rather than from inside Airflow; the DAG run takes the lock itself
        print("Chạy DAG cchc_nightly qua Airflow (dag.test) ...", flush=True)
        run_id, ok, log_file = run_dag_once(settings, log=log, metadata=metadata)
        if run_id is None:
            refused = [line[len(REFUSED_MARKER):] for line in log_file.read_text(encoding="utf-8", errors="replace")
                       .splitlines() if line.startswith(REFUSED_MARKER)]
            if refused:
                raise runlock.RunInProgress(refused[-1])
            print(f"Không chạy được DAG; xem nhật ký: {log_file}")
            return 1
        conn = connect(logins.pipeline)
        try:
            summary = nightly.summary(conn, run_id)
        finally:
            conn.close()
    print(format_summary(summary, settings, log_file))
    return 0 if ok else 1


def format_summary(s: dict, settings, log_file: Path | None = None) -> str:
    stages = s.get("stage_seconds") or {}
    lines = [
        "",
        f"=== Kết quả lần nạp / Run summary: {s.get('run_id')} — {s.get('status')} ===",
        f"Tệp tìm thấy / files found:          {s.get('files_found')}",
        f"  mới hoặc đã sửa / new or changed:  {s.get('files_new')}",
        f"  bỏ qua vì không đổi / unchanged:   {s.get('files_unchanged')}",
        f"  đã nạp / loaded:                   {s.get('files_loaded')}",
        f"  bị từ chối / rejected:             {s.get('files_rejected')}",
        f"Số liệu đưa vào kho / facts staged:  {s.get('facts_staged')}",
        f"Báo cáo được kiểm tra / checked:     {s.get('submissions_checked')}"
        f" (chấp nhận / accepted {s.get('submissions_accepted')}, tạm giữ / held {s.get('submissions_held')})",
        f"Quy tắc đạt / rules passed:          {s.get('rules_passed')}",
        f"Quy tắc không đạt / rules failed:    {s.get('rules_failed')}",
        f"Số liệu chưa khớp danh mục / unmatched figures: {s.get('facts_unmatched')}"
        + (f" (danh sách / list: {s['unmatched_list']})" if s.get("unmatched_list") else
           " (liệt kê / list them: cchc catalog unmatched <thư mục>)"),
        f"Marts công bố / marts published:     {'có / yes' if s.get('marts_published') else 'không đổi / unchanged'}"
        f" ({s.get('marts_tables')} bảng trong schema marts)",
        "Lịch sử kiểm tra / DQ history:       bảng audit.dq_results, mart marts.fct_dq_results",
        "Thời gian / seconds per stage:       " + ", ".join(f"{k} {v}" for k, v in stages.items()),
    ]
    if s.get("rejected"):
        lines.append("Tệp bị từ chối / rejected files:")
        lines += [f"  - {r['path']}: {r['message']}" for r in s["rejected"][:10]]
    if s.get("held"):
        lines.append("Báo cáo tạm giữ (lỗi) / held back:")
        lines += [f"  - {h['unit_code']} {h['year']}-Q{h['quarter']}: {h['errors']} lỗi, {h['warnings']} cảnh báo"
                  for h in s["held"][:10]]
    if s.get("open_items"):
        lines.append("Còn phải xử lý / open items (cchc status, cchc console):")
        lines += _open_items(s["open_items"])
    if s.get("error"):
        lines.append(f"LỖI / ERROR: {s['error']}")
    lines.append("Mở trong trình duyệt / open in a browser (tệp trên máy / files on disk):")
    for label, path in summary_pages(s, settings, log_file):
        lines.append(f"  {label:34} {path}")
    lines.append("Xem dữ liệu / open the warehouse:    psql \"$(.venv/bin/cchc db url)\"")
    lines.append("Giao diện Airflow / Airflow UI:      make airflow → http://localhost:8080/dags/cchc_nightly")
    return "\n".join(lines)


def summary_pages(s: dict, settings, log_file: Path | None = None) -> list[tuple[str, Path]]:
    """The files a run's summary points people to; each opens from disk, without a network."""
    from .pipeline.nightly import dbt_docs_page

    pages = []
    if s.get("reports_dir"):
        reports = Path(s["reports_dir"])
        pages += [("Phản hồi cho đơn vị / feedback:", reports / "index.html"),
                  ("Kết quả kiểm tra / DQ results:", reports / "dq.html")]
    if dbt_docs_page(settings).exists():
        pages.append(("Tài liệu dbt / dbt docs:", dbt_docs_page(settings)))
    if log_file:
        pages.append(("Nhật ký lần chạy / run log:", log_file))
    return pages


def _open_items(items: list[dict], quarters: int = 4) -> list[str]:
    from .review import STATE_VI
    from .rules.messages import period_vi

    by_period: dict[str, list[str]] = {}
    for item in items:
        by_period.setdefault(item["period_key"], []).append(f"{STATE_VI[item['state']].lower()} {item['units']}")
    lines = [f"  - quý {period_vi(period)}: {', '.join(parts)}" for period, parts in list(by_period.items())[:quarters]]
    if len(by_period) > quarters:
        lines.append(f"  - và {len(by_period) - quarters} quý trước đó")
    return lines


# -- db ----------------------------------------------------------------------------------------
def cmd_db(args) -> int:
    from .warehouse import access
    from .warehouse.connection import stop_embedded

    settings = config.load_settings()
    if args.action in ("url", "start"):
        logins = access.prepare(settings)  # starts the embedded server; creates or resets the roles
        dsn = logins.bi if args.bi else logins.pipeline
        print(dsn.url())  # libpq URI: psql, and SQLAlchemy/pandas (psycopg driver) as it is
        if args.action == "url" and args.bi and sys.stdout.isatty():
            print(bi_connection_help(dsn), file=sys.stderr)
    elif args.action == "setup":
        from .warehouse.connection import connect
        from .warehouse.roles import secure_schema, verify_access

        logins = access.prepare(settings)
        if logins.admin is None:
            from .errors import SetupError

            raise SetupError("“cchc db setup” cần CCHC_DATABASE_URL của người quản trị (siêu người dùng) để tạo vai "
                             "trò và bảng; URL hiện tại là của một vai trò thường.")
        for dsn, step in ((logins.admin, secure_schema), (logins.pipeline, verify_access)):
            conn = connect(dsn)
            try:
                step(conn)
            finally:
                conn.close()
        print(f"Đã thiết lập kho dữ liệu: vai trò cchc_pipeline (tác vụ hằng đêm), bi_reader (BI, chỉ đọc marts), "
              f"cchc_history (chủ sở hữu lịch sử kiểm tra) — {logins.admin.where}")
    elif args.action == "stop":
        if settings.database_url:
            print("CCHC_DATABASE_URL trỏ tới máy chủ ngoài; không có gì để dừng.")
        else:
            print("Đã dừng PostgreSQL nhúng." if stop_embedded(settings.pgdata) else "PostgreSQL nhúng không chạy.")
    return 0


def bi_connection_help(dsn) -> str:
    """The same connection in the forms BI tools ask for."""
    where = (f"thư mục socket / socket directory {dsn.host} (chỉ trên máy này / this machine only)"
             if dsn.is_socket else dsn.host)
    return "\n".join([
        "Kết nối BI / BI connection (schema marts, chỉ đọc / read-only):",
        f"  psql:        psql \"{dsn.url()}\"",
        f"  SQLAlchemy:  sqlalchemy.create_engine(\"{dsn.url()}\")   # pandas.read_sql(..., engine)",
        f"  Superset:    {dsn.url().replace('postgresql://', 'postgresql+psycopg://', 1)}",
        f"  Metabase / Power BI: host {where}, port {dsn.port}, database {dsn.dbname}, user {dsn.user}",
    ])


# -- extract / check ---------------------------------------------------------------------------
def _fact_json(f, detail: bool) -> dict:
    from .check import json_number

    doc = {"sheet": f.sheet, "row": f.row, "stt": f.stt, "label": f.label, "unit": f.unit, "raw": f.raw,
           "value": json_number(f.value), "indicator": f.indicator, "scope": f.scope}
    if detail:
        doc.update({"form": f.form, "kind": f.kind, "numerator": json_number(f.numerator),
                    "denominator": json_number(f.denominator), "note": f.note, "legend": f.legend, "match": f.match})
    return doc


def _narrative_json(n) -> dict:
    from .check import json_number

    return {"paragraph": n.paragraph, "position": n.position, "sentence": n.sentence, "indicator": n.indicator,
            "scope": n.scope, "raw": n.raw, "value": json_number(n.value), "comparable": n.compare}


def cmd_extract(args) -> int:
    from .submission import SubmissionSource, read_submissions

    ex = read_submissions([SubmissionSource.given(args.file)], args.engine)[0]
    if ex.unreadable is not None:
        if args.json:
            print(json.dumps({"facts": [], "errors": [{"message": f"{args.file}: {ex.unreadable.message}"}]},
                             ensure_ascii=False))
        print(f"{args.file}: {ex.unreadable.message}", file=sys.stderr)
        if args.verbose and ex.unreadable.detail:
            print(f"  ({ex.unreadable.detail})", file=sys.stderr)
        return 2
    for issue in ex.errors:
        print(f"{args.file}: {issue.message}", file=sys.stderr)
    if args.json:
        doc = {"facts": [_fact_json(f, args.detail) for f in ex.facts]}
        if ex.source_format == "docx":  # a Word report: the figures its narrative states, too
            doc["narrative"] = [_narrative_json(n) for n in ex.narrative]
        print(json.dumps(doc, ensure_ascii=False, indent=1))
    else:
        from .rules.messages import SCOPE_IN_MESSAGE_VI
        from .text.values import format_vi

        print(f"{args.file}: {len(ex.facts)} số liệu" + (f", kỳ trong tiêu đề: quý {ex.title_period.quarter}/{ex.title_period.year}"
                                                         if ex.title_period else ""))
        for f in ex.facts:
            value = "" if f.value is None else format_vi(f.value, 4)
            scope = "" if f.scope == "unit" else f" [{SCOPE_IN_MESSAGE_VI[f.scope]}]"
            print(f"  {f.sheet[:16]:16} dòng {f.row:<4} {str(f.stt or ''):8} {f.label[:60]:60} {value:>12}  "
                  f"{f.indicator or '(chưa khớp)'}{scope}")
        if ex.narrative:
            print(f"Phần thuyết minh: {len(ex.narrative)} số liệu")
            for n in ex.narrative:
                mark = "" if n.compare else "  (không đối chiếu)"
                print(f"  đoạn {n.paragraph:<4} {n.indicator:36} {n.scope:10} {format_vi(n.value, 4):>12}{mark}")
    return 2 if ex.errors else 0


def cmd_check(args) -> int:
    from .check import check_files
    from .registry import read_registry

    settings = config.load_settings()
    registry = None
    registry_csv = Path(args.registry) if args.registry else settings.registry
    if registry_csv is not None:
        mapping = Path(args.registry).with_name("unit_mapping.csv") if args.registry else settings.unit_mapping
        registry = read_registry(registry_csv, mapping)
    result = check_files([Path(p) for p in args.files], registry=registry, engine=args.engine,
                         completeness=args.completeness, lang=args.lang)
    if args.json:
        print(json.dumps(result.as_json(args.completeness), ensure_ascii=False, indent=1))
        return result.exit_code
    lang = args.lang
    labels = {"error": _vi_en("LỖI", "ERROR", lang), "warning": _vi_en("CẢNH BÁO", "WARNING", lang),
              "info": _vi_en("LƯU Ý", "NOTE", lang)}
    status_vi = {"ok": _vi_en("đạt", "ok", lang), "warning": _vi_en("có cảnh báo", "warnings", lang),
                 "error": _vi_en("có lỗi", "errors", lang), "unreadable": _vi_en("không đọc được", "unreadable", lang)}
    for f in result.files:
        head = f"{f.path}"
        if f.unit or f.period:
            head += f" — {_vi_en('đơn vị', 'unit', lang)} {f.unit or '?'}, {_vi_en('kỳ', 'period', lang)} {f.period or '?'}"
        print(f"{head} — {f.facts} {_vi_en('số liệu', 'figures', lang)} — {status_vi[f.status]}")
        for e in f.errors:
            print(f"  {labels['error']}: {e['message']}")
        if args.verbose:
            for detail in f.details:
                print(f"    ({detail})")
        for v in f.violations:
            if v["severity"] == "info" and not args.verbose:
                continue
            print(f"  {labels[v['severity']]}: {v['message']}")
        n_err = sum(v["severity"] == "error" for v in f.violations) + len(f.errors)
        n_warn = sum(v["severity"] == "warning" for v in f.violations)
        print(f"  => {n_err} {_vi_en('lỗi', 'errors', lang)}, {n_warn} {_vi_en('cảnh báo', 'warnings', lang)}")
    for c in result.completeness:
        print(f"{labels[c['severity']]}: {c['message']}")
    return result.exit_code


def cmd_rules_sql(args) -> int:
    from .config import load_settings
    from .indicators import load_catalog
    from .rules.export import FOLDER, write_rule_sql
    from .rules.ruleset import load_rules
    from .rules.sql import SqlEngine

    out = Path(args.out) if args.out else load_settings().dbt_target_dir / FOLDER
    rules, catalog = load_rules(), load_catalog()
    written = write_rule_sql(out, rules, SqlEngine(rules, catalog))
    print(f"Đã ghi {len(written)} tệp SQL của các loại quy tắc vào / wrote {len(written)} rule-kind SQL files to {out}")
    return 0


def cmd_catalog_unmatched(args) -> int:
    from .indicators import load_catalog
    from .unmatched import format_vi, group, report_json, rows_of_workbooks, workbooks_under

    folders = [Path(p) for p in args.dirs]
    missing = [str(p) for p in folders if not p.exists()]
    if missing:
        print(f"Không tìm thấy / not found: {', '.join(missing)}", file=sys.stderr)
        return 2
    catalog = load_catalog()
    paths = workbooks_under(folders)
    root = folders[0] if len(folders) == 1 and folders[0].is_dir() else None
    rows, read, unreadable = rows_of_workbooks(paths, root, args.engine)
    labels = group(rows, catalog)
    if args.json:
        doc = report_json(labels, catalog, files_read=read, files_unreadable=unreadable)
        Path(args.json).write_text(json.dumps(doc, ensure_ascii=False, indent=1), encoding="utf-8")
    print(format_vi(labels, catalog, read))
    for line in unreadable:
        print(f"  không đọc được / unreadable: {line}", file=sys.stderr)
    if args.json:
        print(f"Đã ghi / written: {args.json}")
    return 0


# -- passthrough -------------------------------------------------------------------------------
def cmd_dbt(args) -> int:
    from .pipeline.dbt import dbt_args
    from .warehouse import access

    settings = config.load_settings()
    env = dict(os.environ) | access.prepare(settings).pipeline.env()  # dbt runs as the pipeline role
    argv = list(args.args)
    n = next((i for i, a in enumerate(argv) if a.startswith("-")), len(argv))
    cmd = [str(Path(sys.executable).with_name("dbt")), *argv[:n], *dbt_args(settings.dbt_target_dir), *argv[n:]]
    import subprocess

    return subprocess.call(cmd, env=env)


def cmd_airflow(args) -> int:
    import subprocess

    from .airflow_local import airflow_env, ensure_metadata_db
    from .warehouse import access

    settings = config.load_settings()
    access.prepare(settings)  # the embedded server and the roles the DAG's tasks log in as
    log = settings.airflow_home / "logs" / "migrate.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    ensure_metadata_db(settings, log)
    return subprocess.call([str(Path(sys.executable).with_name("airflow")), *args.args], env=airflow_env(settings))


# -- console -----------------------------------------------------------------------------------
def cmd_console(args) -> int:
    from .console.server import serve

    return serve(args.host, args.port)


# -- generators --------------------------------------------------------------------------------
def cmd_template(args) -> int:
    from .template import write_template

    path = write_template(args.level, Path(args.output))
    print(f"Đã ghi mẫu biểu cấp {args.level}: {path}")
    return 0


def cmd_demo_data(args) -> int:
    from cchc_tools.demo.generator import generate

    manifest = generate(Path(args.out), units=args.units, quarters=args.quarters, error_rate=args.error_rate,
                        seed=args.seed, end=args.end, truth=args.truth)
    print(f"Đã sinh {manifest['files']} tệp cho {manifest['units_current']} đơn vị, {args.quarters} quý "
          f"vào {args.out} (lỗi cài sẵn: {len(manifest['injected'])}; xem {args.out}/_manifest.json)")
    return 0


def cmd_bench(args) -> int:
    from cchc_tools.bench import run_benchmarks

    return run_benchmarks(Path(args.out), units=args.units, history_quarters=args.history_quarters, quick=args.quick)


CHECK_EPILOG = """mã thoát / exit codes:
  0  không có lỗi (có thể có cảnh báo) / no error (warnings allowed)
  1  ít nhất một vi phạm mức lỗi / at least one error-severity violation
  2  có tệp không đọc được / a file could not be read
"""
ENGINES = ["calamine", "openpyxl"]
ENGINE_HELP = "bộ đọc tệp Excel: calamine (nhanh) hoặc openpyxl / workbook reader (default: CCHC_PARSER or calamine)"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="cchc", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True, metavar="LỆNH",
                           title="các lệnh / commands")

    run = sub.add_parser("run", help="chạy tác vụ hằng đêm một lần / run the nightly job once")
    run.add_argument("--inbox", help="thư mục nhận báo cáo (mặc định CCHC_INBOX hoặc dữ liệu mẫu) / the inbox")
    run.add_argument("--direct", action="store_true",
                     help="chạy các bước trực tiếp, không qua Airflow / run the stages without Airflow")
    run.add_argument("--no-docs", action="store_true",
                     help="bỏ qua dbt docs generate (chỉ với --direct) / skip the dbt docs (with --direct)")
    run.set_defaults(func=cmd_run)

    db = sub.add_parser("db", help="kho dữ liệu PostgreSQL / the warehouse")
    db.add_argument("action", choices=["url", "start", "stop", "setup"],
                    help="url: in URL kết nối; start: khởi động PostgreSQL nhúng; stop: dừng nó; setup: tạo vai trò "
                         "và bảng bằng tài khoản quản trị (triển khai docker compose) "
                         "/ print the URL, start or stop the embedded server, create roles and tables as administrator")
    db.add_argument("--bi", action="store_true",
                    help="URL và thông số cho vai trò chỉ đọc bi_reader (psql, SQLAlchemy, công cụ BI) "
                         "/ the read-only BI role's URL and connection fields")
    db.set_defaults(func=cmd_db)

    ex = sub.add_parser("extract", help="đọc mọi số liệu của một tệp .xlsx hoặc .docx / every figure of a report")
    ex.add_argument("file", help="tệp báo cáo .xlsx hoặc .docx / the workbook or Word report")
    ex.add_argument("--json", action="store_true", help="in JSON cho chương trình khác / machine-readable output")
    ex.add_argument("--detail", action="store_true",
                    help="thêm các trường chi tiết (tử số, mẫu số, ghi chú ...) / numerator, denominator, note ...")
    ex.add_argument("--engine", choices=ENGINES, default=os.environ.get(config.ENV_PARSER, "calamine"), help=ENGINE_HELP)
    ex.add_argument("-v", "--verbose", action="store_true",
                    help="nguyên nhân kỹ thuật khi không đọc được tệp / the technical cause when a file cannot be read")
    ex.set_defaults(func=cmd_extract)

    ck = sub.add_parser("check", help="kiểm tra quy tắc nhất quán (.xlsx, .docx), không cần CSDL / check the rules offline",
                        description="Kiểm tra các quy tắc nhất quán của một hay nhiều tệp báo cáo, không cần CSDL. "
                                    "/ Check the consistency rules of one or more workbooks or Word reports, offline.",
                        epilog=CHECK_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    ck.add_argument("files", nargs="+", metavar="FILE",
                    help="tệp .xlsx hoặc .docx; các tệp đưa cùng nhau được kiểm tra cùng nhau (quy tắc giữa các quý, các cấp) "
                         "/ workbooks or Word reports, checked together")
    ck.add_argument("--json", action="store_true", help="in JSON cho chương trình khác / machine-readable output")
    ck.add_argument("--registry", help="danh mục đơn vị org_units.csv (để biết cấp của đơn vị) / the unit registry")
    ck.add_argument("--completeness", action="store_true",
                    help="báo các đơn vị chưa gửi báo cáo (cần --registry) / units that sent nothing")
    ck.add_argument("--engine", choices=ENGINES, default=os.environ.get(config.ENV_PARSER, "calamine"), help=ENGINE_HELP)
    ck.add_argument("--lang", choices=["vi", "en"], default="vi",
                    help="ngôn ngữ của kết quả: vi (mặc định) hoặc en / language of the output and messages")
    ck.add_argument("-v", "--verbose", action="store_true",
                    help="cả các dòng chưa khớp danh mục, và nguyên nhân kỹ thuật khi không đọc được tệp "
                         "/ also rows not matched to the catalog, and the technical cause of unreadable files")
    ck.set_defaults(func=cmd_check)

    cat = sub.add_parser("catalog", help="danh mục chỉ tiêu / the indicator catalog")
    cat_sub = cat.add_subparsers(dest="catalog_command", required=True, metavar="unmatched",
                                 help="việc cần làm với danh mục / what to do with the catalog")
    um = cat_sub.add_parser("unmatched", help="nhãn chưa khớp danh mục, gom theo nhãn / labels matching no indicator")
    um.add_argument("dirs", nargs="+", help="thư mục (hoặc tệp) báo cáo .xlsx, .docx / folders or report files")
    um.add_argument("--json", metavar="FILE", help="ghi danh sách ra tệp JSON / write the list as JSON")
    um.add_argument("--engine", choices=ENGINES, default=os.environ.get(config.ENV_PARSER, "calamine"), help=ENGINE_HELP)
    um.set_defaults(func=cmd_catalog_unmatched)

    rl = sub.add_parser("rules", help="bộ quy tắc kiểm tra / the rule catalog")
    rl_sub = rl.add_subparsers(dest="rules_command", required=True, metavar="sql",
                               help="việc cần làm với bộ quy tắc / what to do with the rules")
    rs = rl_sub.add_parser("sql", help="ghi câu SQL cổng kiểm tra chạy, mỗi loại quy tắc một tệp "
                                       "/ write the SQL the gate runs, one file per rule kind")
    rs.add_argument("--out", default=None,
                    help="thư mục sẽ ghi (mặc định: <dbt target>/rules_sql) / output folder")
    rs.set_defaults(func=cmd_rules_sql)

    tp = sub.add_parser("template", help="mẫu biểu trống có kiểm tra dữ liệu nhập / blank official workbook")
    tp.add_argument("--level", choices=["province", "district", "commune"], required=True,
                    help="cấp đơn vị: tỉnh, huyện hoặc xã / the unit's level")
    tp.add_argument("-o", "--output", required=True, help="tệp .xlsx sẽ ghi / the workbook to write")
    tp.set_defaults(func=cmd_template)

    dd = sub.add_parser("demo-data", help="sinh thư mục báo cáo mẫu / generate a realistic inbox")
    dd.add_argument("--units", type=int, default=30, help="số đơn vị hiện nay (sau sắp xếp 2025) / units today")
    dd.add_argument("--quarters", type=int, default=4, help="số quý sinh dữ liệu / number of quarters")
    dd.add_argument("--error-rate", type=float, default=0.1,
                    help="tỷ lệ tệp có lỗi cài sẵn (0–1) / share of files with injected faults")
    dd.add_argument("--seed", type=int, default=1, help="hạt giống ngẫu nhiên (cùng hạt, cùng dữ liệu) / random seed")
    dd.add_argument("--end", default=None,
                    help="quý cuối, ví dụ 2026-Q3 (mặc định: quý vừa kết thúc) / last quarter")
    dd.add_argument("--truth", action="store_true",
                    help="ghi giá trị đúng của từng tệp vào _truth/ / write each file's true figures")
    dd.add_argument("--out", required=True, help="thư mục sẽ ghi / output folder")
    dd.set_defaults(func=cmd_demo_data)

    bn = sub.add_parser("bench", help="đo hiệu năng tác vụ hằng đêm / benchmark the nightly load")
    bn.add_argument("--out", default="bench", help="thư mục kết quả (results.json) / output folder")
    bn.add_argument("--units", type=int, default=4000, help="số đơn vị mỗi quý / units per quarter")
    bn.add_argument("--history-quarters", type=int, default=8, help="số quý lịch sử / quarters of history")
    bn.add_argument("--quick", action="store_true", help="bản thu nhỏ để thử nhanh / a small, quick run")
    bn.set_defaults(func=cmd_bench)

    dbt = sub.add_parser("dbt", help="dbt với kết nối kho dữ liệu / dbt with the warehouse connection")
    dbt.add_argument("args", nargs=argparse.REMAINDER, help="tham số của dbt, ví dụ build / dbt's own arguments")
    dbt.set_defaults(func=cmd_dbt)

    af = sub.add_parser("airflow", help="airflow với cấu hình cục bộ / airflow with the local settings")
    af.add_argument("args", nargs=argparse.REMAINDER,
                    help="tham số của airflow, ví dụ standalone / airflow's own arguments")
    af.set_defaults(func=cmd_airflow)

    from .status_cli import add_parsers

    add_parsers(sub)
    cs = sub.add_parser("console", help="bảng điều phối trên trình duyệt / the data team's web console")
    cs.add_argument("--host", default="127.0.0.1",
                    help="địa chỉ lắng nghe (mặc định chỉ máy này) / address to listen on (default: this machine only)")
    cs.add_argument("--port", type=int, default=8765, help="cổng (mặc định 8765) / port (default 8765)")
    cs.set_defaults(func=cmd_console)
    return p


def wants_english(argv: list[str]) -> bool:
    return "--lang=en" in argv or any(a == "--lang" and b == "en" for a, b in zip(argv, argv[1:]))


def main(argv: list[str] | None = None) -> int:
    from .errors import CchcError
    from .terminal import SanitizedStream

    if argv is None:  # this process's own command line: it ends with the command
        heap.one_run_process()
    # Cells, sheet and file names reach the terminal through these: nothing in them may drive it.
    if not isinstance(sys.stdout, SanitizedStream):
        sys.stdout, sys.stderr = SanitizedStream(sys.stdout), SanitizedStream(sys.stderr)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    argv = sys.argv[1:] if argv is None else argv
    with vietnamese(enabled=not wants_english(argv)):  # argparse's own texts ("usage", errors) too
        args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except CchcError as exc:  # a wrong setting, a busy warehouse: one line, no traceback
        print(f"LỖI: {exc.message}", file=sys.stderr)
        return exc.exit_code


if __name__ == "__main__":
    sys.exit(main())
