"""`cchc status` (the worklist in a terminal) and `cchc review` (accept / reject with a reason)."""
from __future__ import annotations

import datetime as dt
import getpass
import json
import sys
from zoneinfo import ZoneInfo

from . import config, worklist
from .review import DECISION_VI, ReviewError, list_reviews, record_review
from .rules.messages import period_vi
from .text.values import format_vi

LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")  # what the data team's clocks say


def _connect():
    """As the pipeline role: it may read the marts and append reviews to audit.submission_review."""
    from .warehouse import access
    from .warehouse.connection import connect

    return connect(access.prepare(config.load_settings()).pipeline)


def _date(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, dt.datetime):
        value = value.astimezone(LOCAL_TZ)
    return value.strftime("%d/%m/%Y")


def _rate(value) -> str:
    return "—" if value is None else format_vi(value, 2) + "%"


def _lateness(r: dict) -> str:
    if r["state"] == "missing":
        overdue = r.get("days_overdue") or 0
        return f"quá hạn {overdue} ngày" if overdue else "chưa đến hạn"
    if r["days_late"]:
        return f"muộn {r['days_late']} ngày"
    return "đúng hạn"


def _detail(r: dict) -> str:
    parts = []
    if r["error_count"]:
        parts.append(f"{r['error_count']} lỗi")
    if r["warning_count"]:
        parts.append(f"{r['warning_count']} cảnh báo")
    text = ", ".join(parts)
    if r["state"].startswith("review_"):
        text += (f"{'; ' if text else ''}{DECISION_VI[r['review_decision']]} bởi {r['reviewed_by']} "
                 f"ngày {_date(r['reviewed_at'])}: {r['state_reason']}")
    elif r["state_reason"]:
        text = f"{text}: {r['state_reason']}" if text else r["state_reason"]
    if r.get("pending_review"):
        p = r["pending_review"]
        text += (f" [đã {DECISION_VI[p['decision']]} bởi {p['reviewed_by']} lúc {_date(p['reviewed_at'])}: "
                 "áp dụng ở lần nạp tới]")
    return text


def format_worklist(s: worklist.Summary, rows: list[dict], show: str | None) -> str:
    lines = [(f"Tình hình báo cáo quý {period_vi(s.period_key)} — hạn nộp {_date(s.due_date)} — "
              f"{s.expected} đơn vị phải báo cáo")]
    counts = [f"{worklist.state_vi(state)} {s.by_state[state]}" for state in worklist.STATE_ORDER if s.by_state.get(state)]
    lines.append("  " + " · ".join(counts + [f"Nộp muộn {s.late}"]))
    lines.append(f"  Tỷ lệ báo cáo {_rate(s.reporting_rate)} · đúng hạn {_rate(s.timeliness_rate)} "
                 "(chỉ tính báo cáo được chấp nhận)")
    if show:
        lines.append(f"  Lọc: {worklist.FILTER_VI.get(show, show)} — {len(rows)} đơn vị")
    for code, name, members in worklist.groups(rows):
        lines.append("")
        lines.append(f"{name} ({code})")
        for r in members:
            lines.append(f"  {r['unit_code']:<12} {(r['unit_name'] or '')[:28]:<28} {r['state_label_vi']:<24} "
                         f"{_date(r['first_received_at']):<10}  {_lateness(r):<16} {_detail(r)}".rstrip())
    if not rows:
        lines.append("\nKhông có đơn vị nào khớp bộ lọc.")
    lines.append("")
    lines.append("Xem chi tiết: cchc status --unit MÃ · chấp nhận/từ chối: cchc review accept|reject MÃ KỲ --reason \"…\"")
    return "\n".join(lines)


def format_unit(rows: list[dict], failures: dict[str, list[dict]]) -> str:
    r0 = rows[0]
    lines = [f"{r0['unit_name']} ({r0['unit_code']}) — thuộc {r0['parent_name'] or '—'}"]
    for r in rows:
        lines.append("")
        lines.append(f"Quý {period_vi(r['period_key'])}: {r['state_label_vi']} — {_lateness(r)} "
                     f"(hạn {_date(r['due_date'])})")
        if r["source_path"]:
            lines.append(f"  Tệp: {r['source_path']} (phiên bản {r['version_count']}, mã nội dung "
                         f"{(r['content_hash'] or '')[:12]}), nhận {_date(r['last_received_at'])}")
        if r["published_file_id"] and r["published_file_id"] != r["latest_file_id"]:
            lines.append("  Số liệu đang công bố: phiên bản được chấp nhận trước đó")
        detail = _detail(r)
        if detail:
            lines.append(f"  {detail}")
        for f in failures.get(r["period_key"], []):
            severity = {"error": "LỖI", "warning": "CẢNH BÁO"}.get(f["severity"], "LƯU Ý")
            lines.append(f"    {severity}: {f['message']}")
    return "\n".join(lines)


def _jsonable(rows: list[dict]) -> list[dict]:
    return json.loads(json.dumps(rows, default=str))


def cmd_status(args) -> int:
    conn = _connect()
    try:
        period = worklist.resolve_period(conn, args.quarter) if (args.quarter or not args.unit) else None
        if args.unit:
            rows = worklist.unit_status(conn, args.unit)
            if period:
                rows = [r for r in rows if r["period_key"] == period]
            if not rows:
                print(f"Không có đơn vị {args.unit.upper()}" + (f" trong quý {period_vi(period)}" if period else "")
                      + " trong danh sách phải báo cáo.", file=sys.stderr)
                return 1
            pending = worklist.pending_reviews(conn)
            for r in rows:
                r["pending_review"] = pending.get((r["unit_code"], r["period_key"]))
            failures = {r["period_key"]: worklist.failed_rules(conn, r["unit_code"], r["period_key"], r["latest_file_id"])
                        for r in rows if r["error_count"] or r["warning_count"]}
            if args.json:
                print(json.dumps({"unit": args.unit.upper(), "quarters": _jsonable(rows),
                                  "failed_rules": {k: _jsonable(v) for k, v in failures.items()}},
                                 ensure_ascii=False, indent=1))
            else:
                print(format_unit(rows, failures))
            return 0
        rows = worklist.worklist(conn, period, show=args.show)
        s = worklist.summary(conn, period)
    except worklist.NoData as exc:
        print(exc.message, file=sys.stderr)
        return 1
    except ReviewError as exc:
        print(exc.message, file=sys.stderr)
        return 2
    finally:
        conn.close()
    if args.json:
        print(json.dumps({"period": period, "due_date": str(s.due_date), "expected": s.expected,
                          "by_state": s.by_state, "late": s.late, "reporting_rate": s.reporting_rate,
                          "timeliness_rate": s.timeliness_rate, "units": _jsonable(rows)},
                         ensure_ascii=False, indent=1))
    else:
        print(format_worklist(s, rows, args.show))
    return 0


def cmd_review(args) -> int:
    conn = _connect()
    try:
        if args.action == "list":
            reviews = list_reviews(conn, args.unit, args.quarter)
            if args.json:
                print(json.dumps([r.as_json() for r in reviews], ensure_ascii=False, indent=1, default=str))
                return 0
            if not reviews:
                print("Chưa có lần xem xét nào.")
            for r in reviews:
                print(f"#{r.review_id} {_date(r.reviewed_at)} {r.reviewed_by}: {DECISION_VI[r.decision]} "
                      f"{r.unit_name} ({r.unit_code}) quý {period_vi(r.period)} — tệp {r.source_path} "
                      f"[{r.content_hash[:12]}], trước đó: {worklist.state_vi(r.state_before)}, "
                      f"{r.failed_rules} quy tắc không đạt — "
                      f"{'đã áp dụng' if r.applied else 'chờ lần nạp tới'}\n    Lý do: {r.reason}")
            return 0
        by = args.by or getpass.getuser()
        review = record_review(conn, args.unit, args.quarter, args.action, args.reason, by)
    except ReviewError as exc:
        print(exc.message, file=sys.stderr)
        return 2
    finally:
        conn.close()
    if args.json:
        print(json.dumps(review.as_json(), ensure_ascii=False, indent=1, default=str))
        return 0
    outcome = ("số liệu của phiên bản này sẽ được công bố" if review.decision == "accept"
               else "số liệu của phiên bản này sẽ không được công bố (phiên bản được chấp nhận trước đó, nếu có, "
                    "sẽ được công bố lại)")
    print(f"Đã ghi nhận #{review.review_id}: {review.reviewed_by} {DECISION_VI[review.decision]} báo cáo của "
          f"{review.unit_name} ({review.unit_code}) quý {period_vi(review.period)}, tệp {review.source_path} "
          f"[{review.content_hash[:12]}].\n"
          f"Lý do: {review.reason}\n"
          f"Ở lần nạp tới (cchc run) {outcome}. Nếu đơn vị gửi tệp mới, tệp đó được kiểm tra lại từ đầu.")
    return 0


def add_parsers(sub) -> None:
    st = sub.add_parser("status", help="tình hình báo cáo của các đơn vị / the worklist")
    st.add_argument("--quarter", help="kỳ, ví dụ 2026-Q3 (mặc định: quý mới nhất) / quarter (default: the latest)")
    st.add_argument("--unit", help="một đơn vị: mọi quý, kèm các quy tắc không đạt / one unit, every quarter, failed rules")
    st.add_argument("--show", choices=sorted(worklist.FILTERS) + ["late"],
                    help="lọc: open (cần xử lý), held, rejected, missing, late, accepted / filter")
    st.add_argument("--json", action="store_true", help="in JSON cho chương trình khác / machine-readable output")
    st.set_defaults(func=cmd_status)

    rv = sub.add_parser("review", help="xem xét quyết định của cổng kiểm tra / accept or reject with a reason")
    rv.add_argument("action", choices=["list", "accept", "reject"],
                    help="list: các lần xem xét; accept: chấp nhận báo cáo bị tạm giữ; reject: từ chối báo cáo đã "
                         "được chấp nhận / list reviews, accept a held report, reject an accepted one")
    rv.add_argument("unit", nargs="?", help="mã đơn vị / unit code")
    rv.add_argument("quarter", nargs="?", help="kỳ, ví dụ 2026-Q3 / quarter")
    rv.add_argument("--reason", help="lý do (bắt buộc khi accept/reject), được lưu vào lịch sử kiểm tra "
                                     "/ the reason, kept in the DQ history")
    rv.add_argument("--by", help="người xem xét (mặc định: tên người dùng của máy) / reviewer (default: this login)")
    rv.add_argument("--json", action="store_true", help="in JSON cho chương trình khác / machine-readable output")
    rv.set_defaults(func=_review_entry)


def _review_entry(args) -> int:
    if args.action != "list" and not (args.unit and args.quarter):
        print("Cần mã đơn vị và kỳ: cchc review accept|reject MÃ 2026-Q3 --reason \"…\"", file=sys.stderr)
        return 2
    return cmd_review(args)
