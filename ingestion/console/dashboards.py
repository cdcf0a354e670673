"""The dashboards page: reporting, data quality, TTHC processing, disbursement, staffing."""
from __future__ import annotations

from dataclasses import dataclass, field

from ..indicators import load_catalog
from ..rules.ruleset import load_rules
from ..rules.messages import short_name
from . import charts, data


@dataclass
class Section:
    title: str
    lead: str
    charts: list[dict] = field(default_factory=list)
    table: list[dict] | None = None


def _periods(rows: list[dict]) -> list[str]:
    seen: list[str] = []
    for r in rows:
        if r["period_key"] not in seen:
            seen.append(r["period_key"])
    return seen


def reporting(conn, period: str, province: str | None) -> Section:
    trend = data.completeness_by_quarter(conn, province)
    periods = [r["period_key"] for r in trend]
    groups = data.completeness_by_group(conn, period, province)
    labels = [f"{g['group_name']}" for g in groups]
    section = Section("Tỷ lệ báo cáo và báo cáo đúng hạn",
                      "Chỉ tính báo cáo được chấp nhận (qua cổng kiểm tra hoặc sau khi Tổ dữ liệu xem xét); "
                      "báo cáo tạm giữ, bị từ chối hay chưa gửi không được tính.")
    section.charts.append(charts.lines("Theo quý", periods, [
        ("Tỷ lệ báo cáo", [charts.rate(r["reporting"], r["expected"]) for r in trend], charts.COLORS["reporting"]),
        ("Tỷ lệ đúng hạn", [charts.rate(r["on_time"], r["expected"]) for r in trend], charts.COLORS["on_time"]),
    ]))
    section.charts.append(charts.bars(
        f"Quý {charts.period_vi(period)} — theo {'huyện / đơn vị cấp trên' if province else 'tỉnh'}", labels, [
            ("Tỷ lệ báo cáo", [charts.rate(g["reporting"], g["expected"]) for g in groups], charts.COLORS["reporting"]),
            ("Tỷ lệ đúng hạn", [charts.rate(g["on_time"], g["expected"]) for g in groups], charts.COLORS["on_time"]),
        ], texts=[[f"{g['reporting']}/{g['expected']} đơn vị" for g in groups],
                  [f"{g['on_time']}/{g['expected']} đơn vị" for g in groups]]))
    return section


def data_quality(conn, period: str, province: str | None) -> Section:
    rules, catalog = load_rules(), load_catalog()
    rows = data.failures_by_rule(conn, province)
    trend_periods = [r["period_key"] for r in data.completeness_by_quarter(conn, province)]
    kinds = sorted({(r["rule_kind"], r["severity"]) for r in rows},
                   key=lambda k: (k[1] != "error", rules.kinds.get(k[0], {}).get("title_vi", k[0])))
    counts = {(r["rule_kind"], r["severity"], r["period_key"]): r["units"] for r in rows}
    labels = [f"{rules.kinds.get(k, {}).get('title_vi', k)} ({'lỗi' if sev == 'error' else 'cảnh báo'})"
              for k, sev in kinds]
    z = [[counts.get((k, sev, p)) for p in trend_periods] for k, sev in kinds]
    section = Section("Chất lượng dữ liệu",
                      "Số đơn vị mà phiên bản báo cáo mới nhất vi phạm từng loại quy tắc, theo quý.")
    if kinds:
        section.charts.append(charts.heatmap("Số đơn vị vi phạm theo loại quy tắc và quý", trend_periods, labels, z))
    top = data.top_rules(conn, period, province)
    for r in top:
        kind, _, indicator = r["rule_id"].partition(":")
        r["rule_title"] = rules.kinds.get(kind, {}).get("title_vi", kind)
        r["indicator_name"] = short_name(catalog, indicator) if indicator in catalog else indicator
    section.table = top
    return section


def _rates_by_period(rows: list[dict], indicator: str) -> dict[str, float | None]:
    """A rate per quarter from the summed numerators and denominators of the provinces chosen."""
    return {r["period_key"]: charts.rate(r["numerator"], r["denominator"]) for r in rows
            if r["indicator_code"] == indicator}


def _per_unit(rows: list[dict]) -> dict[str, dict]:
    units: dict[str, dict] = {}
    for r in rows:
        units.setdefault(r["unit_code"], {"name": r["unit_name"]})[r["indicator_code"]] = r
    return units


MAX_BARS = 30  # per-unit charts beyond this show the units that need attention most


def _lowest(units: list[dict], key, n: int = MAX_BARS) -> list[dict]:
    """Units sorted by key, lowest first, units without the figure last; at most n."""
    ranked = sorted(units, key=lambda u: (key(u) is None, key(u) if key(u) is not None else 0))
    return ranked[:n]


def _scope(where: str, shown: int, total: int, what: str) -> str:
    return f"{where}" if shown == total else f"{where}: {shown}/{total} đơn vị {what}"


def processing(conn, period: str, province: str | None) -> list[Section]:
    trend = data.rollup_rates_by_quarter(conn, province)
    periods = _periods(trend)
    all_units = list(_per_unit(data.rollup_by_unit(conn, period, province)).values())
    where = f"Quý {charts.period_vi(period)}, " + ("theo đơn vị hiện nay" if province else "theo tỉnh")
    total = len(all_units)

    def unit_rate(u: dict, code: str):
        r = u.get(code)
        return charts.rate(r["numerator"], r["denominator"]) if r else None

    def pair_text(u: dict, code: str) -> str:
        r = u.get(code)
        if not r or r["denominator"] is None:
            return "không báo cáo"
        return f"{float(r['numerator'] or 0):,.0f}/{float(r['denominator']):,.0f}".replace(",", ".")

    tthc = Section("Giải quyết hồ sơ TTHC",
                   "Tỷ lệ giải quyết đúng hạn và tỷ lệ hồ sơ tiếp nhận trực tuyến, tính lại từ số hồ sơ (cộng số "
                   "đếm rồi chia, không lấy trung bình các tỷ lệ); số liệu trước năm 2025 được quy về đơn vị hiện nay "
                   "theo bảng sắp xếp đơn vị hành chính.")
    ontime, online = _rates_by_period(trend, "tthc_ontime_rate"), _rates_by_period(trend, "egov_online_dossier_rate")
    tthc.charts.append(charts.lines("Theo quý", periods, [
        ("Giải quyết đúng hạn", [ontime.get(p) for p in periods], charts.COLORS["on_time"]),
        ("Hồ sơ trực tuyến", [online.get(p) for p in periods], charts.COLORS["online"]),
    ]))
    units = _lowest(all_units, lambda u: unit_rate(u, "tthc_ontime_rate"))
    tthc.charts.append(charts.bars(_scope(where, len(units), total, "đúng hạn thấp nhất"),
                                   [u["name"] for u in units], [
        ("Giải quyết đúng hạn", [unit_rate(u, "tthc_ontime_rate") for u in units], charts.COLORS["on_time"]),
        ("Hồ sơ trực tuyến", [unit_rate(u, "egov_online_dossier_rate") for u in units], charts.COLORS["online"]),
    ], texts=[[pair_text(u, "tthc_ontime_rate") for u in units],
              [pair_text(u, "egov_online_dossier_rate") for u in units]]))

    finance = Section("Giải ngân vốn đầu tư công",
                      "Tỷ lệ giải ngân lũy kế từ đầu năm = vốn đã giải ngân / kế hoạch vốn được giao (triệu đồng).")
    disbursed = _rates_by_period(trend, "fin_disbursement_rate")
    finance.charts.append(charts.lines("Theo quý", periods, [
        ("Tỷ lệ giải ngân", [disbursed.get(p) for p in periods], charts.COLORS["disbursed"])]))
    units = _lowest(all_units, lambda u: unit_rate(u, "fin_disbursement_rate"))
    finance.charts.append(charts.bars(_scope(where, len(units), total, "giải ngân thấp nhất"),
                                      [u["name"] for u in units], [
        ("Tỷ lệ giải ngân", [unit_rate(u, "fin_disbursement_rate") for u in units], charts.COLORS["disbursed"])],
        texts=[[pair_text(u, "fin_disbursement_rate") for u in units]]))

    staff = Section("Biên chế công chức",
                    "Số biên chế có mặt so với số được giao; đơn vị vượt số được giao được tô đỏ.")
    quota = {p: None for p in periods}
    present = dict(quota)
    for r in trend:
        if r["indicator_code"] == "org_cs_quota":
            quota[r["period_key"]] = float(r["value"]) if r["value"] is not None else None
        elif r["indicator_code"] == "org_cs_present":
            present[r["period_key"]] = float(r["value"]) if r["value"] is not None else None
    staff.charts.append(charts.lines("Tổng số theo quý (người)", periods, [
        ("Được giao", [quota[p] for p in periods], charts.COLORS["quota"]),
        ("Có mặt", [present[p] for p in periods], charts.COLORS["present"])], percent=False))

    def staff_value(u: dict, code: str):
        r = u.get(code)
        return float(r["value"]) if r and r["value"] is not None else None

    def spare(u: dict):  # quota left unfilled; negative above quota
        quota, present = staff_value(u, "org_cs_quota"), staff_value(u, "org_cs_present")
        return None if quota is None or present is None else quota - present

    units = _lowest(all_units, spare) if total > MAX_BARS else all_units
    quotas = [staff_value(u, "org_cs_quota") for u in units]
    presents = [staff_value(u, "org_cs_present") for u in units]
    figure = charts.bars(_scope(where, len(units), total, "sát hoặc vượt biên chế nhất"),
                         [u["name"] for u in units],
                         [("Được giao", quotas, charts.COLORS["quota"]), ("Có mặt", presents, charts.COLORS["present"])],
                         percent=False)
    figure["data"][1]["marker"]["color"] = [
        charts.COLORS["above"] if q is not None and p is not None and p > q else charts.COLORS["present"]
        for q, p in zip(quotas, presents)]
    staff.charts.append(figure)
    return [tthc, finance, staff]


def build(conn, period: str, province: str | None) -> list[Section]:
    return [reporting(conn, period, province), data_quality(conn, period, province),
            *processing(conn, period, province)]
