"""Where every unit stands: the queries `cchc status` and the console share.

Everything here reads the published marts (fct_submission_status and friends, through their
indexes), so the worklist shows what BI sees, as of the last publication; reviews recorded
since then are read from audit.submission_review and shown as waiting for the next run.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from psycopg2.extras import RealDictCursor

from .domain import recomputed_rate
from .review import STATE_VI, applied_review_watermark, parse_period

# Most urgent first: what the data team has to act on, then what is done.
STATE_ORDER = ("held", "rejected", "review_rejected", "missing", "pending", "accepted_with_warnings",
               "review_accepted", "accepted")
OPEN_STATES = ("held", "rejected", "review_rejected", "missing", "pending")
FILTERS = {  # worklist filter -> states (late is a separate flag)
    "held": ("held",),
    "rejected": ("rejected", "review_rejected"),
    "missing": ("missing",),
    "open": OPEN_STATES,
    "accepted": ("accepted", "accepted_with_warnings", "review_accepted"),
}
FILTER_VI = {"open": "Cần xử lý", "held": "Tạm giữ", "rejected": "Bị từ chối", "missing": "Chưa gửi",
             "late": "Nộp muộn", "accepted": "Đã chấp nhận"}


class NoData(Exception):
    """The marts have not been published yet."""

    message = "Chưa có dữ liệu: hãy chạy `cchc run` (hoặc `make run`) trước."


@dataclass
class Summary:
    period_key: str
    due_date: dt.date | None
    expected: int = 0
    by_state: dict[str, int] = field(default_factory=dict)
    late: int = 0
    reporting: int = 0
    on_time: int = 0

    @property
    def reporting_rate(self) -> float | None:
        return recomputed_rate(self.reporting, self.expected)

    @property
    def timeliness_rate(self) -> float | None:
        return recomputed_rate(self.on_time, self.expected)

    @property
    def open_items(self) -> int:
        return sum(self.by_state.get(s, 0) for s in OPEN_STATES)


def _rows(conn, sql: str, params=()) -> list[dict]:
    import psycopg2

    try:
        with conn.cursor(cursor_factory=RealDictCursor) as cur:
            cur.execute(sql, params)
            rows = [dict(r) for r in cur.fetchall()]
    except psycopg2.errors.UndefinedTable as exc:
        conn.rollback()
        raise NoData() from exc
    conn.commit()
    return rows


def periods(conn) -> list[str]:
    """Quarters in the status mart, newest first."""
    rows = _rows(conn, """select distinct year, quarter, period_key from marts.fct_submission_status
                          order by year desc, quarter desc""")
    return [r["period_key"] for r in rows]


def resolve_period(conn, period: str | None) -> str:
    """The quarter asked for, normalised, or the newest one."""
    if period:
        year, quarter = parse_period(period)
        return f"{year}-Q{quarter}"
    known = periods(conn)
    if not known:
        raise NoData()
    return known[0]


def _state_rank(state: str) -> int:
    return STATE_ORDER.index(state) if state in STATE_ORDER else len(STATE_ORDER)


def worklist(conn, period: str, *, show: str | None = None, province: str | None = None,
             unit: str | None = None, search: str | None = None) -> list[dict]:
    """Every expected unit of the quarter with its state, most urgent first within each group."""
    year, quarter = parse_period(period)
    where, params = ["s.year = %s", "s.quarter = %s"], [year, quarter]
    if show in FILTERS:
        where.append("s.state = any(%s)")
        params.append(list(FILTERS[show]))
    elif show == "late":
        where.append("s.is_late")
    if province:
        where.append("s.province_code = %s")
        params.append(province)
    if unit:
        where.append("s.unit_code = %s")
        params.append(unit.strip().upper())
    if search:
        where.append("(s.unit_code ilike %s or s.unit_name ilike %s)")
        params += [f"%{search.strip()}%"] * 2
    rows = _rows(conn, f"""select s.*, coalesce(s.parent_code, s.unit_code) as group_code,
                                  coalesce(s.parent_name, s.unit_name) as group_name
                           from marts.fct_submission_status s
                           where {" and ".join(where)}""", params)
    pending = pending_reviews(conn, period)
    for r in rows:
        r["pending_review"] = pending.get((r["unit_code"], r["period_key"]))
        if r["state"] == "missing" and r["due_date"] is not None:
            r["days_overdue"] = max(0, (dt.date.today() - r["due_date"]).days)
    # The province's own group first, then its districts (before 2025) by name.
    rows.sort(key=lambda r: (r["group_code"] != r["province_code"], r["group_name"] or "", r["group_code"],
                             _state_rank(r["state"]), r["unit_code"]))
    return rows


def summary(conn, period: str, province: str | None = None) -> Summary:
    year, quarter = parse_period(period)
    params: list = [year, quarter]
    where = "year = %s and quarter = %s and is_expected"
    if province:
        where += " and province_code = %s"
        params.append(province)
    rows = _rows(conn, f"""select state, count(*) as n, count(*) filter (where is_late) as late,
                                  count(*) filter (where is_reporting) as reporting,
                                  count(*) filter (where is_on_time) as on_time, min(due_date) as due_date
                           from marts.fct_submission_status where {where} group by state""", params)
    s = Summary(period_key=f"{year}-Q{quarter}", due_date=min((r["due_date"] for r in rows), default=None))
    for r in rows:
        s.by_state[r["state"]] = r["n"]
        s.expected += r["n"]
        s.late += r["late"]
        s.reporting += r["reporting"]
        s.on_time += r["on_time"]
    return s


def province_overview(conn, period: str) -> list[dict]:
    """One line per province: where its units stand (the national worklist's first screen)."""
    year, quarter = parse_period(period)
    rows = _rows(conn, """select s.province_code, coalesce(min(p.unit_name), s.province_code) as province_name,
                                 count(*) as expected,
                                 count(*) filter (where s.state = 'held') as held,
                                 count(*) filter (where s.state in ('rejected', 'review_rejected')) as rejected,
                                 count(*) filter (where s.state = 'missing') as missing,
                                 count(*) filter (where s.state = any(%s)) as open,
                                 count(*) filter (where s.is_late) as late,
                                 count(*) filter (where s.is_reporting) as reporting,
                                 count(*) filter (where s.is_on_time) as on_time
                          from marts.fct_submission_status s
                          left join marts.dim_org_unit p on p.unit_code = s.province_code and p.is_current_record
                          where s.year = %s and s.quarter = %s and s.is_expected
                          group by s.province_code order by 2""", (list(OPEN_STATES), year, quarter))
    for r in rows:
        r["reporting_rate"] = recomputed_rate(r["reporting"], r["expected"])
        r["timeliness_rate"] = recomputed_rate(r["on_time"], r["expected"])
    return rows


def groups(rows: list[dict]) -> list[tuple[str, str, list[dict]]]:
    """Worklist rows (sorted by worklist()) as (group code, group name, rows)."""
    out: list[tuple[str, str, list[dict]]] = []
    for r in rows:
        if not out or out[-1][0] != r["group_code"]:
            out.append((r["group_code"], r["group_name"], []))
        out[-1][2].append(r)
    return out


def pending_reviews(conn, period: str | None = None) -> dict[tuple[str, str], dict]:
    """Reviews recorded since the live marts were built, by (unit, quarter); of one quarter when given."""
    watermark = applied_review_watermark(conn)
    where, params = ["review_id > %s"], [watermark]
    if period:
        year, quarter = parse_period(period)
        where += ["year = %s", "quarter = %s"]
        params += [year, quarter]
    rows = _rows(conn, f"""select distinct on (unit_code, year, quarter) review_id, unit_code, year, quarter,
                                  decision, reason, reviewed_by, reviewed_at
                           from audit.submission_review where {" and ".join(where)}
                           order by unit_code, year, quarter, review_id desc""", params)
    return {(r["unit_code"], f"{r['year']}-Q{r['quarter']}"): r for r in rows}


def unit_status(conn, unit_code: str) -> list[dict]:
    """One unit's row in every quarter, newest first."""
    return _rows(conn, """select * from marts.fct_submission_status where unit_code = %s
                          order by year desc, quarter desc""", (unit_code.strip().upper(),))


def failed_rules(conn, unit_code: str, period: str, file_id: int | None) -> list[dict]:
    """The failed evaluations of one file version, from the DQ history mart."""
    if file_id is None:
        return []
    year, quarter = parse_period(period)
    return _rows(conn, """select d.*, i.name_vi as indicator_name
                          from marts.fct_dq_results d
                          left join marts.dim_indicator i on i.indicator_code = d.indicator_code
                          where d.unit_code = %s and d.year = %s and d.quarter = %s and d.file_id = %s
                            and d.status = 'fail'
                          order by case d.severity when 'error' then 0 when 'warning' then 1 else 2 end,
                                   d.form nulls last, d.row_number nulls last, d.dq_result_id""",
                 (unit_code.strip().upper(), year, quarter, file_id))


def state_vi(state: str) -> str:
    return STATE_VI.get(state, state)
