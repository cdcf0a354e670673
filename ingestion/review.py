"""Reviews: the data team overrules the gate for one file version, always with a written reason.

    accept  a held submission is published anyway (the rules were wrong for this file)
    reject  an accepted submission is withdrawn (its figures are wrong in a way no rule caught)

Each review is appended to audit.submission_review with who, when, the file's content hash,
the state it was in and its failed rule evaluations at that moment. The next publication
honours it for that exact file version (unit-quarter and content hash); a new file from the
unit is checked afresh by the gate. Reviews draw their sequence number from the gate's, so
the incremental marts pick them up like gate decisions.
"""
from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass

from psycopg2.extras import RealDictCursor

from .rules.messages import period_vi

DECISIONS = ("accept", "reject")
ACCEPTABLE_STATES = ("held", "review_rejected")
REJECTABLE_STATES = ("accepted", "accepted_with_warnings", "review_accepted")
MIN_REASON_CHARS = 10
STATE_VI = {
    "missing": "Chưa gửi",
    "rejected": "Tệp bị từ chối",
    "pending": "Chờ kiểm tra",
    "held": "Tạm giữ",
    "review_accepted": "Chấp nhận sau xem xét",
    "review_rejected": "Bị từ chối khi xem xét",
    "accepted_with_warnings": "Chấp nhận, có cảnh báo",
    "accepted": "Chấp nhận",
}
DECISION_VI = {"accept": "chấp nhận", "reject": "từ chối"}


class ReviewError(Exception):
    """A review that cannot be recorded; the message is for the reviewer, in Vietnamese."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass
class Review:
    review_id: int
    unit_code: str
    unit_name: str
    year: int
    quarter: int
    decision: str
    reason: str
    reviewed_by: str
    reviewed_at: dt.datetime
    file_id: int
    content_hash: str
    source_path: str | None
    state_before: str
    failed_rules: int
    applied: bool = False

    @property
    def period(self) -> str:
        return f"{self.year}-Q{self.quarter}"

    def as_json(self) -> dict:
        doc = dict(self.__dict__)
        doc["period"] = self.period
        doc["reviewed_at"] = self.reviewed_at.isoformat()
        return doc


_PERIOD_PATTERNS = (
    re.compile(r"^(?P<year>\d{4})\s*-?\s*Q(?P<quarter>[1-4])$", re.IGNORECASE),
    re.compile(r"^Q(?P<quarter>[1-4])\s*[/-]\s*(?P<year>\d{4})$", re.IGNORECASE),
    re.compile(r"^(?P<quarter>[1-4])\s*/\s*(?P<year>\d{4})$"),
)


def parse_period(text: str) -> tuple[int, int]:
    """'2026-Q3', '2026Q3', 'Q3/2026' or '3/2026' -> (2026, 3)."""
    for pattern in _PERIOD_PATTERNS:
        m = pattern.match(text.strip())
        if m:
            return int(m.group("year")), int(m.group("quarter"))
    raise ReviewError(f"Không hiểu kỳ báo cáo “{text}”; hãy viết dạng 2026-Q3.")


def _unit_name(cur, unit_code: str) -> str:
    cur.execute("select name from raw.org_units where unit_code = %s", (unit_code,))
    row = cur.fetchone()
    if row is None:
        raise ReviewError(f"Không có đơn vị mã {unit_code} trong danh mục đơn vị.")
    return row["name"]


def _check_transition(state: str, decision: str, unit: str, period: str) -> None:
    where = f"{unit}, quý {period_vi(period)}"
    if decision == "accept" and state not in ACCEPTABLE_STATES:
        if state in REJECTABLE_STATES:
            raise ReviewError(f"Báo cáo của {where} đã được chấp nhận ({STATE_VI[state]}); không cần chấp nhận lại.")
        if state == "rejected":
            raise ReviewError(f"Tệp mới nhất của {where} không đọc được nên không có số liệu để chấp nhận; "
                              "đề nghị đơn vị gửi lại tệp.")
        raise ReviewError(f"Báo cáo của {where} đang ở trạng thái “{STATE_VI.get(state, state)}”; "
                          "chỉ chấp nhận được báo cáo đang tạm giữ.")
    if decision == "reject" and state not in REJECTABLE_STATES:
        if state in ("rejected", "review_rejected"):
            raise ReviewError(f"Báo cáo của {where} đã bị từ chối ({STATE_VI[state]}).")
        if state == "held":
            raise ReviewError(f"Báo cáo của {where} đang tạm giữ nên chưa được công bố; không cần từ chối. "
                              "Đơn vị sẽ nhận phản hồi để sửa.")
        raise ReviewError(f"Báo cáo của {where} đang ở trạng thái “{STATE_VI.get(state, state)}”; "
                          "chỉ từ chối được báo cáo đã được chấp nhận.")


def record_review(conn, unit_code: str, period: str, decision: str, reason: str, reviewed_by: str) -> Review:
    """Record one review of the unit-quarter's latest file version; commits."""
    if decision not in DECISIONS:
        raise ReviewError(f"Quyết định phải là accept (chấp nhận) hoặc reject (từ chối), không phải “{decision}”.")
    reason = " ".join((reason or "").split())
    if len(reason) < MIN_REASON_CHARS:
        raise ReviewError(f"Hãy ghi lý do {DECISION_VI[decision]} (ít nhất {MIN_REASON_CHARS} ký tự): "
                          "lý do được lưu vào lịch sử kiểm tra để kiểm toán.")
    reviewed_by = (reviewed_by or "").strip()
    if not reviewed_by:
        raise ReviewError("Hãy ghi tên người xem xét.")
    unit_code = unit_code.strip().upper()
    year, quarter = parse_period(period)
    period = f"{year}-Q{quarter}"
    import psycopg2

    try:
        with conn.cursor(cursor_factory=RealDictCursor) as cur:
            # One reviewer at a time per unit-quarter: the state checked is the state recorded.
            cur.execute("select pg_advisory_xact_lock(hashtext(%s))", (f"cchc.review:{unit_code}:{period}",))
            unit_name = _unit_name(cur, unit_code)
            cur.execute("""select latest_file_id, content_hash, source_path, state
                           from intermediate.int_submission_latest
                           where unit_code = %s and year = %s and quarter = %s""", (unit_code, year, quarter))
            latest = cur.fetchone()
            if latest is None:
                raise ReviewError(f"{unit_name} ({unit_code}) chưa gửi báo cáo quý {period_vi(period)}: "
                                  "không có gì để xem xét.")
            _check_transition(latest["state"], decision, f"{unit_name} ({unit_code})", period)
            cur.execute("""select rule_id, rule_kind, severity, form, sheet, row_number, observed, expected, message
                           from audit.dq_results
                           where file_id = %s and status = 'fail'
                           order by severity, form nulls last, row_number nulls last, dq_result_id""",
                        (latest["latest_file_id"],))
            failed = [{k: (float(v) if k in ("observed", "expected") and v is not None else v) for k, v in r.items()}
                      for r in cur.fetchall()]
            cur.execute("""insert into audit.submission_review
                               (file_id, content_hash, unit_code, year, quarter, decision, reason, reviewed_by,
                                state_before, rule_results)
                           values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
                           returning review_id, reviewed_at""",
                        (latest["latest_file_id"], latest["content_hash"], unit_code, year, quarter, decision, reason,
                         reviewed_by, latest["state"], json.dumps(failed, ensure_ascii=False)))
            row = cur.fetchone()
        conn.commit()
    except psycopg2.errors.UndefinedTable as exc:
        conn.rollback()
        raise ReviewError("Lần nạp dữ liệu đang dựng lại các bảng trung gian; hãy thử lại sau ít phút "
                          "(hoặc chạy `cchc run` nếu kho chưa từng được nạp).") from exc
    except Exception:
        conn.rollback()
        raise
    return Review(review_id=row["review_id"], unit_code=unit_code, unit_name=unit_name, year=year, quarter=quarter,
                  decision=decision, reason=reason, reviewed_by=reviewed_by, reviewed_at=row["reviewed_at"],
                  file_id=latest["latest_file_id"], content_hash=latest["content_hash"],
                  source_path=latest["source_path"], state_before=latest["state"], failed_rules=len(failed))


def applied_review_watermark(conn) -> int:
    """The highest review id the live marts were built with (0 before any)."""
    with conn.cursor() as cur:
        cur.execute("""select coalesce(max(((details->>'fingerprint')::jsonb->>'reviews')::bigint), 0)
                       from audit.publish_log""")
        return cur.fetchone()[0]


def list_reviews(conn, unit_code: str | None = None, period: str | None = None, limit: int = 100) -> list[Review]:
    """Reviews, newest first; `applied` tells whether the live marts honour them yet."""
    where, params = [], []
    if unit_code:
        where.append("r.unit_code = %s")
        params.append(unit_code.strip().upper())
    if period:
        year, quarter = parse_period(period)
        where += ["r.year = %s", "r.quarter = %s"]
        params += [year, quarter]
    watermark = applied_review_watermark(conn)
    with conn.cursor(cursor_factory=RealDictCursor) as cur:
        cur.execute(f"""select r.*, coalesce(u.name, r.unit_code) as unit_name, f.path as source_path,
                               jsonb_array_length(r.rule_results) as failed_rules
                        from audit.submission_review r
                        left join raw.org_units u on u.unit_code = r.unit_code
                        left join raw.files f on f.file_id = r.file_id
                        {"where " + " and ".join(where) if where else ""}
                        order by r.review_id desc limit %s""", (*params, limit))
        rows = cur.fetchall()
    conn.commit()
    return [Review(review_id=r["review_id"], unit_code=r["unit_code"], unit_name=r["unit_name"], year=r["year"],
                   quarter=r["quarter"], decision=r["decision"], reason=r["reason"], reviewed_by=r["reviewed_by"],
                   reviewed_at=r["reviewed_at"], file_id=r["file_id"], content_hash=r["content_hash"],
                   source_path=r["source_path"], state_before=r["state_before"], failed_rules=r["failed_rules"],
                   applied=r["review_id"] <= watermark) for r in rows]
