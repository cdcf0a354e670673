"""What the console's pages read. Marts through their keys and indexes; for one unit-quarter,
its file versions and reviews (index lookups on a handful of rows)."""
from __future__ import annotations

from ..indicators import load_catalog
from ..review import parse_period
from ..rules.ruleset import load_rules
from ..rules.messages import expectation_vi, form_title
from ..rules.sql import evaluation_from_row
from ..worklist import _rows

# Key figures of a unit over time: (label, mart, column, kind).
KEY_FIGURES = (
    ("Hồ sơ TTHC tiếp nhận", "fct_tthc_processing", "dossiers_received", "count"),
    ("Hồ sơ đã giải quyết", "fct_tthc_processing", "dossiers_resolved", "count"),
    ("Tỷ lệ giải quyết đúng hạn (%)", "fct_tthc_processing", "on_time_rate_recomputed", "rate"),
    ("Tỷ lệ hồ sơ trực tuyến (%)", "fct_tthc_processing", "online_rate_recomputed", "rate"),
    ("Tỷ lệ giải ngân vốn đầu tư công (%)", "fct_finance", "disbursement_rate_recomputed", "rate"),
    ("Biên chế được giao", "fct_staffing", "civil_servant_quota", "count"),
    ("Biên chế có mặt", "fct_staffing", "civil_servants_present", "count"),
)
ROLLUP_RATES = {  # indicator -> (numerator, denominator): rates recomputed from summed counts
    "tthc_ontime_rate": ("tthc_dossiers_ontime", "tthc_dossiers_resolved"),
    "egov_online_dossier_rate": ("egov_dossiers_online", "egov_dossiers_received"),
    "fin_disbursement_rate": ("fin_investment_disbursed", "fin_investment_plan"),
}
STAFF = ("org_cs_quota", "org_cs_present")


def _column_letter(n: int | None) -> str:
    if not n:
        return ""
    letters = ""
    while n:
        n, rem = divmod(n - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def failed_rules(conn, unit_code: str, period: str, file_id: int | None) -> list[dict]:
    """Each failed rule of a file version, as the unit page lists it: form, STT and item, sheet,
    cell, the figures and what they should satisfy."""
    if file_id is None:
        return []
    year, quarter = parse_period(period)
    rows = _rows(conn, """select d.dq_result_id, d.rule_id, d.rule_kind, d.severity, d.indicator_code, d.form, d.sheet,
                                 d.row_number, d.observed, d.expected, d.message, d.file_id,
                                 f.stt, f.label, f.col_number, f.raw_value
                          from marts.fct_dq_results d
                          left join raw.facts f
                              on f.file_id = d.file_id and f.sheet = d.sheet and f.row_number = d.row_number
                          where d.unit_code = %s and d.year = %s and d.quarter = %s and d.file_id = %s
                            and d.status = 'fail'
                          order by case d.severity when 'error' then 0 when 'warning' then 1 else 2 end,
                                   d.form nulls last, d.row_number nulls last, d.dq_result_id""",
                 (unit_code, year, quarter, file_id))
    rules, catalog = load_rules(), load_catalog()
    for r in rows:
        ev = evaluation_from_row({**r, "indicator": r["indicator_code"], "status": "fail", "rows": [],
                                  "details": {}, "unit_code": unit_code, "year": year, "quarter": quarter})
        r["form_title"] = form_title(r["form"]) if r["form"] else ""
        r["cell"] = f"{_column_letter(r['col_number'])}{r['row_number']}" if r["row_number"] else ""
        r["rule_title"] = rules.kinds.get(r["rule_kind"], {}).get("title_vi", r["rule_kind"])
        try:
            r["expectation"] = expectation_vi(ev, rules, catalog)
        except (KeyError, IndexError, ValueError):
            r["expectation"] = ""
    return rows


def versions(conn, unit_code: str, period: str) -> list[dict]:
    """Every file received for the unit-quarter, newest first, with what was decided about it."""
    year, quarter = parse_period(period)
    return _rows(conn, """select f.file_id, f.path, f.content_hash, f.size_bytes, f.modified_at, f.loaded_at, f.status,
                                 f.reject_message, f.n_facts, g.decision as gate_decision, g.errors, g.warnings,
                                 g.decided_at
                          from raw.files f
                          left join audit.submission_gate g on g.file_id = f.file_id
                          where f.unit_code = %s and f.year = %s and f.quarter = %s
                          order by f.file_id desc""", (unit_code, year, quarter))


def reviews(conn, unit_code: str, period: str) -> list[dict]:
    year, quarter = parse_period(period)
    return _rows(conn, """select review_id, file_id, content_hash, decision, reason, reviewed_by, reviewed_at,
                                 state_before, jsonb_array_length(rule_results) as failed_rules
                          from audit.submission_review
                          where unit_code = %s and year = %s and quarter = %s
                          order by review_id desc""", (unit_code, year, quarter))


def key_figures(conn, unit_code: str) -> dict[str, dict[str, float | None]]:
    """{label: {period: value}} from the unit-quarter marts, oldest quarter first."""
    out: dict[str, dict] = {label: {} for label, *_ in KEY_FIGURES}
    by_mart: dict[str, list[tuple[str, str]]] = {}
    for label, mart, column, _ in KEY_FIGURES:
        by_mart.setdefault(mart, []).append((label, column))
    for mart, columns in by_mart.items():
        select = ", ".join(column for _, column in columns)
        for r in _rows(conn, f"""select period_key, {select} from marts.{mart} where unit_code = %s
                                 order by year, quarter""", (unit_code,)):
            for label, column in columns:
                out[label][r["period_key"]] = None if r[column] is None else float(r[column])
    return out


def provinces(conn) -> list[dict]:
    return _rows(conn, """select distinct s.province_code, coalesce(u.unit_name, s.province_code) as province_name
                          from marts.fct_reporting_completeness s
                          left join marts.dim_org_unit u on u.unit_code = s.province_code and u.is_current_record
                          order by 2""")


def completeness_by_quarter(conn, province: str | None) -> list[dict]:
    """Reporting and timeliness rates per quarter, recomputed from summed counts."""
    where, params = ("where province_code = %s", [province]) if province else ("", [])
    return _rows(conn, f"""select period_key, sum(expected_units) as expected, sum(reporting_units) as reporting,
                                  sum(on_time_units) as on_time, sum(held_units) as held,
                                  sum(rejected_units) as rejected, sum(missing_units) as missing
                           from marts.fct_reporting_completeness {where}
                           group by year, quarter, period_key order by year, quarter""", params)


def completeness_by_group(conn, period: str, province: str | None) -> list[dict]:
    """Reporting and timeliness rates of one quarter per district (or province, after 2025)."""
    year, quarter = parse_period(period)
    params: list = [year, quarter]
    extra = ""
    if province:
        extra, params = " and s.province_code = %s", params + [province]
    # Per district (or the province itself after 2025) within a province; per province nationally.
    group = "coalesce(s.parent_code, s.unit_code)" if province else "s.province_code"
    return _rows(conn, f"""select {group} as group_code,
                                  coalesce(min(g.unit_name), {group}) as group_name,
                                  count(*) as expected, count(*) filter (where s.is_reporting) as reporting,
                                  count(*) filter (where s.is_on_time) as on_time
                           from marts.fct_submission_status s
                           left join marts.dim_org_unit g on g.unit_code = {group} and g.is_current_record
                           where s.year = %s and s.quarter = %s and s.is_expected{extra}
                           group by 1 order by 2""", params)


def failures_by_rule(conn, province: str | None) -> list[dict]:
    """Units whose latest submission fails each rule kind, per quarter (errors and warnings)."""
    where, params = ("where s.province_code = %s", [province]) if province else ("", [])
    return _rows(conn, f"""select s.period_key, s.year, s.quarter, split_part(r.rule_id, ':', 1) as rule_kind,
                                  r.severity, count(distinct s.unit_code) as units
                           from marts.fct_submission_status s
                           cross join lateral (
                               select unnest(s.error_rules) as rule_id, 'error' as severity
                               union all
                               select unnest(s.warning_rules), 'warning'
                           ) as r
                           {where}
                           group by 1, 2, 3, 4, 5 order by 2, 3""", params)


def top_rules(conn, period: str, province: str | None, limit: int = 10) -> list[dict]:
    year, quarter = parse_period(period)
    params: list = [year, quarter]
    extra = ""
    if province:
        extra, params = " and s.province_code = %s", params + [province]
    return _rows(conn, f"""select r.rule_id, r.severity, count(*) as units
                           from marts.fct_submission_status s
                           cross join lateral (
                               select unnest(s.error_rules) as rule_id, 'error' as severity
                               union all
                               select unnest(s.warning_rules), 'warning'
                           ) as r
                           where s.year = %s and s.quarter = %s{extra}
                           group by 1, 2 order by 3 desc, 1 limit %s""", params + [limit])


def rollup_rates_by_quarter(conn, province: str | None) -> list[dict]:
    """Province figures per quarter through the 2025 mapping: rates from summed counts, staff sums."""
    codes = list(ROLLUP_RATES) + list(STAFF)
    where, params = "rollup_scope = 'province' and indicator_code = any(%s)", [codes]
    if province:
        where += " and unit_code = %s"
        params.append(province)
    return _rows(conn, f"""select period_key, year, quarter, indicator_code,
                                  sum(numerator_value) as numerator, sum(denominator_value) as denominator,
                                  sum(value) as value
                           from marts.fct_indicator_rollup where {where}
                           group by 1, 2, 3, 4 order by 2, 3""", params)


def rollup_by_unit(conn, period: str, province: str | None) -> list[dict]:
    """One quarter's figures through the 2025 mapping: per today's unit of a province, or per
    province when none is chosen (rate pairs and staff)."""
    year, quarter = parse_period(period)
    codes = list(ROLLUP_RATES) + list(STAFF)
    if province:
        scope = ("r.rollup_scope = 'current_unit' and r.unit_code in (select unit_code from marts.dim_org_unit"
                 " where is_current_record and current_province_code = %s)")
        params: list = [province]
    else:
        scope, params = "r.rollup_scope = 'province'", []
    return _rows(conn, f"""select r.unit_code, coalesce(u.unit_name, r.unit_code) as unit_name, r.indicator_code,
                                  r.value, r.numerator_value as numerator, r.denominator_value as denominator
                           from marts.fct_indicator_rollup r
                           left join marts.dim_org_unit u on u.unit_code = r.unit_code and u.is_current_record
                           where {scope} and r.year = %s and r.quarter = %s and r.indicator_code = any(%s)
                           order by r.unit_code""", params + [year, quarter, codes])
