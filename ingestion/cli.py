"""`cchc` — the one command people use.

    cchc run                     chạy tác vụ hằng đêm một lần qua Airflow / run the nightly job once
    cchc db url|start|stop       kho dữ liệu / the warehouse
    cchc extract FILE [--json]   đọc mọi số liệu của một tệp / every figure of a workbook
    cchc check FILE... [--json]  kiểm tra quy tắc, không cần CSDL / check the rules offline
    cchc catalog unmatched DIR...  nhãn chưa khớp danh mục chỉ tiêu / labels matching no indicator
    cchc template --level ...    mẫu biểu trống cho đơn vị / blank workbook for units
    cchc demo-data ...           sinh dữ liệu mẫu / generate a realistic inbox
    cchc bench                   đo hiệu năng / benchmark the nightly load
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

from . import config

warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")


def _vi_en(vi: str, en: str, lang: str) -> str:
    return en if lang == "en" else vi


# -- run ---------------------------------------------------------------------------------------
def cmd_run(args) -> int:
    from .pipeline import nightly

    settings = config.load_settings()
    if args.inbox:
        os.environ[config.ENV_INBOX] = str(Path(args.inbox).resolve())
        settings = config.load_settings()
    where = "CCHC_DATABASE_URL" if settings.database_url else f"PostgreSQL nhúng tại {settings.pgdata}"
    print(f"Kho dữ liệu: {where}")
    inbox = nightly.inbox_path(settings)
    print(f"Thư mục nhận báo cáo: {inbox}{' (dữ liệu mẫu)' if settings.inbox is None else ''}")
    if args.direct:
        summary = nightly.run_all(settings, docs=not args.no_docs)
        ok = summary.get("status") == "success"
        log_file = None
    else:
        from .airflow_local import run_dag_once
        from .warehouse.connection import connect, warehouse_dsn

        print("Chạy DAG cchc_nightly qua Airflow (dag.test) ...", flush=True)
        warehouse_dsn(settings)  # start the embedded server before Airflow tasks need it
        run_id, ok, log_file = run_dag_once(settings)
        if run_id is None:
            print(f"Không chạy được DAG; xem nhật ký: {log_file}")
            return 1
        conn = connect(warehouse_dsn(settings))
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
        f"Báo cáo phản hồi / feedback reports: {s.get('reports_dir')}",
        f"Data Docs (Great Expectations):      {settings.gx_dir / 'gx' / 'uncommitted' / 'data_docs' / 'local_site' / 'index.html'}",
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
    if s.get("error"):
        lines.append(f"LỖI / ERROR: {s['error']}")
    if log_file:
        lines.append(f"Nhật ký Airflow / Airflow log:      {log_file}")
    lines.append("Xem dữ liệu / open the warehouse:    psql \"$(.venv/bin/cchc db url)\"")
    return "\n".join(lines)


# -- db ----------------------------------------------------------------------------------------
def cmd_db(args) -> int:
    from .warehouse.connection import stop_embedded, warehouse_dsn

    settings = config.load_settings()
    if args.action == "url":
        dsn = warehouse_dsn(settings)
        if args.bi:
            dsn = dsn.with_user("bi_reader", settings.bi_password if not dsn.is_socket else "")
        print(dsn.url())
    elif args.action == "start":
        print(warehouse_dsn(settings).url())
    elif args.action == "stop":
        if settings.database_url:
            print("CCHC_DATABASE_URL trỏ tới máy chủ ngoài; không có gì để dừng.")
        else:
            print("Đã dừng PostgreSQL nhúng." if stop_embedded(settings.pgdata) else "PostgreSQL nhúng không chạy.")
    return 0


# -- extract / check ---------------------------------------------------------------------------
def _fact_json(f, detail: bool) -> dict:
    from .check import json_number

    doc = {"sheet": f.sheet, "row": f.row, "stt": f.stt, "label": f.label, "unit": f.unit, "raw": f.raw,
           "value": json_number(f.value), "indicator": f.indicator, "scope": f.scope}
    if detail:
        doc.update({"form": f.form, "kind": f.kind, "numerator": json_number(f.numerator),
                    "denominator": json_number(f.denominator), "note": f.note, "legend": f.legend, "match": f.match})
    return doc


def cmd_extract(args) -> int:
    from .workbook.package import WorkbookError
    from .workbook.read import read_workbook

    try:
        ex = read_workbook(args.file, args.engine)
    except FileNotFoundError:
        print(f"{args.file}: không tìm thấy tệp", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"{args.file}: không mở được tệp ({exc.strerror or exc})", file=sys.stderr)
        return 2
    except WorkbookError as exc:
        if args.json:
            print(json.dumps({"facts": [], "errors": [{"message": f"{args.file}: {exc.message}"}]}, ensure_ascii=False))
        print(f"{args.file}: {exc.message}", file=sys.stderr)
        return 2
    for issue in ex.errors:
        print(f"{args.file}: {issue.message}", file=sys.stderr)
    if args.json:
        print(json.dumps({"facts": [_fact_json(f, args.detail) for f in ex.facts]}, ensure_ascii=False, indent=1))
    else:
        from .rules.messages import SCOPE_IN_MESSAGE_VI
        from .workbook.values import format_vi

        print(f"{args.file}: {len(ex.facts)} số liệu" + (f", kỳ trong tiêu đề: quý {ex.title_period[1]}/{ex.title_period[0]}"
                                                         if ex.title_period else ""))
        for f in ex.facts:
            value = "" if f.value is None else format_vi(f.value, 4)
            scope = "" if f.scope == "unit" else f" [{SCOPE_IN_MESSAGE_VI[f.scope]}]"
            print(f"  {f.sheet[:16]:16} dòng {f.row:<4} {str(f.stt or ''):8} {f.label[:60]:60} {value:>12}  "
                  f"{f.indicator or '(chưa khớp)'}{scope}")
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
                         completeness=args.completeness)
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


def cmd_catalog_unmatched(args) -> int:
    from .catalog import load_catalog
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
    from .warehouse.connection import warehouse_dsn

    settings = config.load_settings()
    env = dict(os.environ) | warehouse_dsn(settings).env()
    argv = list(args.args)
    n = next((i for i, a in enumerate(argv) if a.startswith("-")), len(argv))
    cmd = [str(Path(sys.executable).with_name("dbt")), *argv[:n], *dbt_args(settings.dbt_target_dir), *argv[n:]]
    import subprocess

    return subprocess.call(cmd, env=env)


def cmd_airflow(args) -> int:
    import subprocess

    from .airflow_local import airflow_env, ensure_metadata_db
    from .warehouse.connection import warehouse_dsn

    settings = config.load_settings()
    warehouse_dsn(settings)
    log = settings.airflow_home / "logs" / "migrate.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    ensure_metadata_db(settings, log)
    return subprocess.call([str(Path(sys.executable).with_name("airflow")), *args.args], env=airflow_env(settings))


# -- generators --------------------------------------------------------------------------------
def cmd_template(args) -> int:
    from .template import write_template

    path = write_template(args.level, Path(args.output))
    print(f"Đã ghi mẫu biểu cấp {args.level}: {path}")
    return 0


def cmd_demo_data(args) -> int:
    from .demo.generator import generate

    manifest = generate(Path(args.out), units=args.units, quarters=args.quarters, error_rate=args.error_rate,
                        seed=args.seed, end=args.end, truth=args.truth)
    print(f"Đã sinh {manifest['files']} tệp cho {manifest['units_current']} đơn vị, {args.quarters} quý "
          f"vào {args.out} (lỗi cài sẵn: {len(manifest['injected'])}; xem {args.out}/_manifest.json)")
    return 0


def cmd_bench(args) -> int:
    from .bench import run_benchmarks

    return run_benchmarks(Path(args.out), units=args.units, history_quarters=args.history_quarters, quick=args.quick)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="cchc", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="chạy tác vụ hằng đêm một lần / run the nightly job once")
    run.add_argument("--inbox", help="thư mục nhận báo cáo (mặc định CCHC_INBOX hoặc dữ liệu mẫu)")
    run.add_argument("--direct", action="store_true", help="chạy các bước trực tiếp, không qua Airflow")
    run.add_argument("--no-docs", action="store_true", help="bỏ qua dbt docs generate (chỉ với --direct)")
    run.set_defaults(func=cmd_run)

    db = sub.add_parser("db", help="kho dữ liệu PostgreSQL / the warehouse")
    db.add_argument("action", choices=["url", "start", "stop"])
    db.add_argument("--bi", action="store_true", help="URL cho vai trò chỉ đọc bi_reader")
    db.set_defaults(func=cmd_db)

    ex = sub.add_parser("extract", help="đọc mọi số liệu của một tệp / every figure of a workbook")
    ex.add_argument("file")
    ex.add_argument("--json", action="store_true")
    ex.add_argument("--detail", action="store_true", help="thêm các trường chi tiết (tử số, mẫu số, ghi chú ...)")
    ex.add_argument("--engine", choices=["calamine", "openpyxl"], default=os.environ.get(config.ENV_PARSER, "calamine"))
    ex.set_defaults(func=cmd_extract)

    ck = sub.add_parser("check", help="kiểm tra quy tắc nhất quán, không cần CSDL / check the rules offline")
    ck.add_argument("files", nargs="+")
    ck.add_argument("--json", action="store_true")
    ck.add_argument("--registry", help="danh mục đơn vị org_units.csv (để biết cấp của đơn vị)")
    ck.add_argument("--completeness", action="store_true", help="báo các đơn vị chưa gửi báo cáo (cần --registry)")
    ck.add_argument("--engine", choices=["calamine", "openpyxl"], default=os.environ.get(config.ENV_PARSER, "calamine"))
    ck.add_argument("--lang", choices=["vi", "en"], default="vi")
    ck.add_argument("-v", "--verbose", action="store_true", help="cả các dòng chưa khớp danh mục")
    ck.set_defaults(func=cmd_check)

    cat = sub.add_parser("catalog", help="danh mục chỉ tiêu / the indicator catalog")
    cat_sub = cat.add_subparsers(dest="catalog_command", required=True)
    um = cat_sub.add_parser("unmatched", help="nhãn chưa khớp danh mục, gom theo nhãn / labels matching no indicator")
    um.add_argument("dirs", nargs="+", help="thư mục (hoặc tệp) báo cáo .xlsx")
    um.add_argument("--json", metavar="FILE", help="ghi danh sách ra tệp JSON")
    um.add_argument("--engine", choices=["calamine", "openpyxl"], default=os.environ.get(config.ENV_PARSER, "calamine"))
    um.set_defaults(func=cmd_catalog_unmatched)

    tp = sub.add_parser("template", help="mẫu biểu trống có kiểm tra dữ liệu nhập / blank official workbook")
    tp.add_argument("--level", choices=["province", "district", "commune"], required=True)
    tp.add_argument("-o", "--output", required=True)
    tp.set_defaults(func=cmd_template)

    dd = sub.add_parser("demo-data", help="sinh thư mục báo cáo mẫu / generate a realistic inbox")
    dd.add_argument("--units", type=int, default=30, help="số đơn vị hiện nay (sau sắp xếp 2025)")
    dd.add_argument("--quarters", type=int, default=4)
    dd.add_argument("--error-rate", type=float, default=0.1, help="tỷ lệ tệp có lỗi cài sẵn (0–1)")
    dd.add_argument("--seed", type=int, default=1)
    dd.add_argument("--end", default=None, help="quý cuối, ví dụ 2026-Q3 (mặc định: quý vừa kết thúc)")
    dd.add_argument("--truth", action="store_true", help="ghi giá trị đúng của từng tệp vào _truth/")
    dd.add_argument("--out", required=True)
    dd.set_defaults(func=cmd_demo_data)

    bn = sub.add_parser("bench", help="đo hiệu năng tác vụ hằng đêm / benchmark the nightly load")
    bn.add_argument("--out", default="bench")
    bn.add_argument("--units", type=int, default=4000)
    bn.add_argument("--history-quarters", type=int, default=8)
    bn.add_argument("--quick", action="store_true", help="bản thu nhỏ để thử nhanh")
    bn.set_defaults(func=cmd_bench)

    dbt = sub.add_parser("dbt", help="dbt với kết nối kho dữ liệu / dbt with the warehouse connection")
    dbt.add_argument("args", nargs=argparse.REMAINDER)
    dbt.set_defaults(func=cmd_dbt)

    af = sub.add_parser("airflow", help="airflow với cấu hình cục bộ / airflow with the local settings")
    af.add_argument("args", nargs=argparse.REMAINDER)
    af.set_defaults(func=cmd_airflow)
    return p


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
