"""`cchc demo-data`: an inbox of realistic unit workbooks, with a manifest of injected faults.

    <out>/<unit_code>/<YYYY>-Q<n>/<file>.xlsx     one workbook per unit and quarter
    <out>/_registry/org_units.csv, unit_mapping.csv   the registry and the 2025 mapping
    <out>/_manifest.json                          what was generated and every injected fault,
                                                  with the rules it must trigger (or the
                                                  rejection it must cause)
    <out>/_truth/<unit>/<period>.json             (--truth) every figure a reader must find

Injected consistency breaks are chosen so that exactly the listed rules fail; nothing
else in the generated data breaks a rule (tests/test_demo_generator.py holds it to that).
"""
from __future__ import annotations

import csv
import datetime as dt
import json
import os
import shutil
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from ingestion.indicators import Catalog, load_catalog
from ingestion.domain import LEVELS, quarter_end
from . import bad_files
from .figures import FigureModel, rate, stable_rng
from .hierarchy import Country, DemoUnit, build_country
from .layouts import Habits, habits_for, render
from ingestion.workbook.writer import Cell, workbook_bytes

BREAKS = ("rate_mismatch", "percent_over_100", "total_mismatch", "part_above_whole", "coded_out_of_legend",
          "period_conflict", "staff_above_quota", "public_units_disagree", "cumulative_decrease", "jump",
          "required_missing", "levels_mismatch", "unit_conflict")
BAD_INPUTS = ("truncated_zip", "legacy_xls", "password_protected", "xml_bomb", "pdf_renamed", "empty_workbook",
              "no_table", "text_in_figure", "formula_without_value", "negative_count")
REJECT_CODES = {"truncated_zip": "corrupt_zip", "legacy_xls": "legacy_xls", "password_protected": "password_protected",
                "xml_bomb": "xml_bomb", "pdf_renamed": "not_xlsx", "empty_workbook": "empty_workbook",
                "no_table": "no_indicator_table", "text_in_figure": "text_in_figure",
                "formula_without_value": "formula_without_value", "negative_count": "negative_count"}
LEVEL_ORDER = {level: i for i, level in enumerate(reversed(LEVELS))}  # generated from the bottom up
DEMO_UNITS, DEMO_QUARTERS, DEMO_SEED, DEMO_END = 14, 7, 2025, (2026, 3)
# The demo's latest quarter shows the data team a realistic morning: two reports held back by
# the gate, an unreadable file, a warning, a unit that has sent nothing yet.
DEMO_LATEST_QUARTER = {
    ("T01X0004", "2026-Q3"): "rate_mismatch",
    ("T01X0009", "2026-Q3"): "part_above_whole",
    ("T01X0007", "2026-Q3"): "legacy_xls",
    ("T01X0002", "2026-Q3"): "staff_above_quota",
    ("T01X0011", "2026-Q3"): "missing",
}


def last_complete_quarter(today: dt.date | None = None) -> tuple[int, int]:
    today = today or dt.date.today()
    q = (today.month - 1) // 3  # the quarter before the current one
    return (today.year - 1, 4) if q == 0 else (today.year, q)


def quarters_ending(end: tuple[int, int], n: int) -> list[tuple[int, int]]:
    year, quarter = end
    out = []
    for _ in range(n):
        out.append((year, quarter))
        year, quarter = (year - 1, 4) if quarter == 1 else (year, quarter - 1)
    return out[::-1]


def parse_period(text: str) -> tuple[int, int]:
    year, quarter = text.upper().split("-Q")
    return int(year), int(quarter)


@dataclass
class Injection:
    kind: str
    rules: list[str]  # rule ids that must fail for this file
    severity: str
    reject_code: str | None = None
    detail: str = ""


class _Injector:
    def __init__(self, catalog: Catalog):
        self.catalog = catalog

    def apply(self, kind: str, f: dict, r, ctx: dict) -> Injection | None:
        """Change the figures in place; None when the break does not apply to this file."""
        def has(*codes: str) -> bool:
            return all(f.get(c) is not None for c in codes)

        if kind == "rate_mismatch":
            for code in ("egov_online_dossier_rate", "egov_payment_rate", "egov_dvc_l3_rate"):
                ind = self.catalog[code]
                if has(code, ind.numerator, ind.denominator) and f[ind.denominator] > 0:
                    shift = Decimal(r.randint(5, 15))
                    f[code] = f[code] - shift if f[code] > 50 else f[code] + shift
                    return Injection(kind, [f"rate_matches_parts:{code}"], "error", detail=f"{code} lệch {shift} điểm %")
        elif kind == "percent_over_100":
            for code in ("tthc_ontime_rate_commune", "tthc_ontime_rate_district", "tthc_ontime_rate_province", "tthc_ontime_rate"):
                ind = self.catalog[code]
                if has(code, ind.denominator) and f[ind.denominator] > 101:
                    f[code] = f[ind.denominator]  # a count typed into the % column
                    return Injection(kind, ["percent_in_range", f"rate_matches_parts:{code}"], "error", detail=code)
        elif kind == "total_mismatch" and has("tthc_dossiers_pending", "tthc_dossiers_pending_within"):
            f["tthc_dossiers_pending"] += r.randint(3, 20)
            return Injection(kind, ["total_equals_parts:tthc_dossiers_pending"], "error")
        elif kind == "part_above_whole" and has("egov_dvc_l3_with_dossiers", "egov_dvc_l3_provided"):
            f["egov_dvc_l3_with_dossiers"] = f["egov_dvc_l3_provided"] + r.randint(1, 9)
            return Injection(kind, ["part_not_above_whole:egov_dvc_l3_with_dossiers"], "error")
        elif kind == "coded_out_of_legend" and has("dir_survey_method"):
            f["dir_survey_method"] = Decimal(r.choice((3, 5, 9)))
            return Injection(kind, ["coded_in_legend:dir_survey_method"], "error")
        elif kind == "period_conflict":
            return Injection(kind, ["period_matches_path"], "error")
        elif kind == "unit_conflict" and ctx.get("other_unit_name"):
            return Injection(kind, ["unit_matches_path"], "warning", detail=ctx["other_unit_name"])
        elif kind == "staff_above_quota" and has("org_cs_present", "org_cs_quota"):
            f["org_cs_present"] = f["org_cs_quota"] + r.randint(1, 8)
            return Injection(kind, ["part_not_above_whole:org_cs_present"], "warning")
        elif kind == "public_units_disagree" and has("fin_units_total", "fin_units_state", "org_public_units_total"):
            k = r.randint(1, 5)
            f["fin_units_total"] += k
            f["fin_units_state"] += k
            return Injection(kind, ["same_figure:public_units_form4_vs_form6"], "warning")
        elif kind == "cumulative_decrease" and ctx.get("previous_clean") and has("dir_plan_tasks_completed"):
            previous = ctx["previous_done"]
            if previous is not None and previous >= 2:
                f["dir_plan_tasks_completed"] = previous - r.randint(1, min(3, int(previous)))
                f["dir_plan_completion_rate"] = rate(f["dir_plan_tasks_completed"], f["dir_plan_tasks"], 1)
                rules = ["cumulative_not_decreasing:dir_plan_tasks_completed"]
                if ctx["previous_rate"] is not None and f["dir_plan_completion_rate"] < ctx["previous_rate"]:
                    rules.append("cumulative_not_decreasing:dir_plan_completion_rate")
                return Injection(kind, rules, "warning")
        elif kind == "jump" and ctx.get("clean_history", 0) >= 4 and has("egov_dossiers_received", "egov_dossiers_online"):
            for code in ("egov_dossiers_received", "egov_dossiers_online"):
                f[code] *= 6  # the online rate stays right; only the size jumps
            return Injection(kind, ["jump_within_history:egov_dossiers_received"], "warning")
        elif kind == "required_missing" and has("org_cs_quota"):
            f["org_cs_quota"] = None
            rules = ["required_present"]
            return Injection(kind, rules, "warning")
        elif kind == "levels_mismatch" and ctx.get("children_clean") and has("tthc_dossiers_resolved_commune",
                                                                            "tthc_dossiers_ontime_commune"):
            f["tthc_dossiers_resolved_commune"] += r.randint(5, 40)
            f["tthc_ontime_rate_commune"] = rate(f["tthc_dossiers_ontime_commune"], f["tthc_dossiers_resolved_commune"], 2)
            return Injection(kind, ["levels_add_up:tthc_dossiers_resolved_commune"], "warning")
        return None


def _bad_bytes(kind: str, sheets, cells: dict, r) -> bytes:
    if kind == "truncated_zip":
        return bad_files.truncated_zip(workbook_bytes(sheets))
    if kind == "legacy_xls":
        return bad_files.legacy_xls()
    if kind == "password_protected":
        return bad_files.password_protected(workbook_bytes(sheets))
    if kind == "xml_bomb":
        return bad_files.xml_bomb()
    if kind == "pdf_renamed":
        return bad_files.pdf_renamed()
    if kind == "empty_workbook":
        return bad_files.empty_workbook()
    if kind == "no_table":
        from ingestion.workbook.writer import Sheet

        return workbook_bytes([Sheet("Sheet1", [["Danh sách cán bộ trực bộ phận một cửa"], ["Họ tên", "Chức vụ"],
                                                 ["Nguyễn Văn A", "Công chức"], ["Trần Thị B", "Công chức"]])])
    code = r.choice([c for c in ("org_cs_quota", "dir_plan_tasks", "tthc_in_force") if c in cells])
    sheet_name, row, col = cells[code]
    sheet = next(s for s in sheets if s.name == sheet_name)
    if kind == "text_in_figure":
        sheet.rows[row - 1][col] = Cell("khoảng " + str(r.randint(10, 60)))
    elif kind == "formula_without_value":
        sheet.rows[row - 1][col] = Cell(None, formula=f"SUM({chr(65 + col)}{row + 1}:{chr(65 + col)}{row + 2})")
    elif kind == "negative_count":
        sheet.rows[row - 1][col] = Cell(-r.randint(1, 20))
    return workbook_bytes(sheets)


def _file_name(unit: DemoUnit, year: int, quarter: int, r) -> str:
    return r.choice((f"bao_cao_cchc_quy_{quarter}_{year}.xlsx", f"BC CCHC Q{quarter}-{year}.xlsx", "phu_luc_so_lieu.xlsx",
                     f"{unit.code}_Q{quarter}_{year}.xlsx"))


def _write_registry(country: Country, out: Path) -> None:
    reg = out / "_registry"
    reg.mkdir(parents=True, exist_ok=True)
    with open(reg / "org_units.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["unit_code", "name", "level", "unit_type", "parent_code", "valid_from", "valid_to"])
        for u in sorted(country.units, key=lambda u: u.code):
            w.writerow([u.code, u.name, u.level, u.unit_type, u.parent or "", u.valid_from or "", u.valid_to or ""])
    with open(reg / "unit_mapping.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["old_code", "new_code", "weight", "effective_date"])
        for old, new, weight, day in sorted(country.mappings):
            w.writerow([old, new, weight, day.isoformat()])


def generate(out: Path, *, units: int, quarters: int, error_rate: float = 0.1, seed: int = 1,
             end: str | tuple[int, int] | None = None, truth: bool = False, catalog: Catalog | None = None,
             forced: dict[tuple[str, str], str] | None = None) -> dict:
    """Write the inbox. `forced` maps (unit code, "YYYY-Qn") to a fault kind that unit-quarter
    must have (one of BREAKS or BAD_INPUTS), or to "missing" when the unit sends nothing."""
    forced = forced or {}
    catalog = catalog or load_catalog()
    end = parse_period(end) if isinstance(end, str) else (end or last_complete_quarter())
    out.mkdir(parents=True, exist_ok=True)
    country = build_country(units, seed)
    _write_registry(country, out)
    model, injector = FigureModel(catalog, seed), _Injector(catalog)
    by_code = {u.code: u for u in country.units}
    clean: dict[tuple[str, int, int], bool] = {}
    history: dict[str, list[tuple[int, int]]] = {}
    previous: dict[str, tuple[int, int, Decimal | None, Decimal | None]] = {}
    manifest = {"seed": seed, "units_current": 0, "quarters": [f"{y}-Q{q}" for y, q in quarters_ending(end, quarters)],
                "error_rate": error_rate, "files": 0, "injected": [], "missing": []}
    for year, quarter in quarters_ending(end, quarters):
        day = quarter_end(year, quarter)
        active = sorted(country.active(day), key=lambda u: (LEVEL_ORDER[u.level], u.code))
        manifest["units_current"] = max(manifest["units_current"], len(active))
        communes_under: dict[str, list[DemoUnit]] = {}
        for u in active:
            if u.level == "commune":
                for ancestor in _ancestors(u, by_code):
                    communes_under.setdefault(ancestor, []).append(u)
        # A district whose figures for its communes will disagree with theirs: its communes must
        # all be accepted that quarter, or the levels rule has nothing to compare against.
        qr = stable_rng(seed, "levels", year, quarter)
        levels_targets = {u.code for u in active if u.level == "district" and qr.random() < error_rate / 2}
        untouched = {c.code for d in levels_targets for c in communes_under.get(d, [])}
        for unit in active:
            r = stable_rng(seed, "file", unit.code, year, quarter)
            wanted = forced.get((unit.code, f"{year}-Q{quarter}"))
            communes = communes_under.get(unit.code, [])
            if unit.level == "district":
                child_own, grand_own = [model.own[(c.code, year, quarter)] for c in communes], None
            elif unit.level == "province":
                districts = [c for c in country.children(unit.code, day) if c.level == "district"]
                child_own = [model.own[(d.code, year, quarter)] for d in districts] or None
                grand_own = [model.own[(c.code, year, quarter)] for c in communes]
            else:
                child_own = grand_own = None
            figures = model.figures(unit, year, quarter, child_own, grand_own)
            if wanted == "missing":  # its figures exist (its parents' reports count them); no file is sent
                manifest["missing"].append({"unit": unit.code, "period": f"{year}-Q{quarter}"})
                clean[(unit.code, year, quarter)] = False
                previous.pop(unit.code, None)
                continue
            habits: Habits = habits_for(unit.code, seed)
            injection: Injection | None = None
            bad_kind = None
            if wanted in BAD_INPUTS:
                bad_kind = wanted
            elif wanted:
                injection = injector.apply(wanted, figures, r, {"previous_clean": False, "clean_history": 0,
                                                                "children_clean": False, "other_unit_name": None})
                if injection is None:
                    raise ValueError(f"fault {wanted} does not apply to {unit.code} {year}-Q{quarter}")
            elif unit.code in levels_targets:
                ctx = {"children_clean": all(clean.get((c.code, year, quarter)) for c in communes)}
                injection = injector.apply("levels_mismatch", figures, r, ctx)
            elif unit.code not in untouched and r.random() < error_rate:
                if r.random() < 0.25:
                    bad_kind = r.choice(BAD_INPUTS)
                else:
                    prev = previous.get(unit.code)
                    ctx = {"previous_clean": bool(prev and prev[0] == year and clean.get((unit.code, prev[0], prev[1]))),
                           "previous_done": prev[2] if prev else None, "previous_rate": prev[3] if prev else None,
                           "clean_history": sum(1 for y, q in history.get(unit.code, []) if clean.get((unit.code, y, q))),
                           "children_clean": bool(communes) and all(clean.get((c.code, year, quarter)) for c in communes),
                           # a neighbour's name: the unit reused a copy of another unit's workbook
                           "other_unit_name": next((u.name for u in active if u.level == unit.level and u.code != unit.code
                                                    and u.name.split()[-1] != unit.name.split()[-1]), None)}
                    # The jump needs four clean quarters of history; when a unit has them, try it first.
                    order = r.sample(BREAKS, len(BREAKS))
                    if ctx["clean_history"] >= 4 and r.random() < 0.5:
                        order.insert(0, "jump")
                    for kind in order:
                        injection = injector.apply(kind, figures, r, ctx)
                        if injection:
                            break
            parent = by_code.get(unit.parent) if unit.parent else None
            title_q = (year, quarter)
            if injection and injection.kind == "period_conflict":
                title_q = (year, quarter - 1) if quarter > 1 else (year - 1, 4)
            title_unit = injection.detail if injection and injection.kind == "unit_conflict" else None
            blocks = model.level_blocks(child_own, grand_own) if unit.level == "province" else None
            rendered = render(unit, parent.name if parent else None, year, quarter, figures, catalog, habits, seed,
                              title_quarter=title_q, title_unit=title_unit, level_blocks=blocks)
            if bad_kind:
                data = _bad_bytes(bad_kind, rendered.sheets, rendered.cells, r)
                injection = Injection(bad_kind, [], "error", reject_code=REJECT_CODES[bad_kind])
            else:
                data = workbook_bytes(rendered.sheets)
            path = out / unit.code / f"{year}-Q{quarter}" / _file_name(unit, year, quarter, r)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            sent = dt.datetime.combine(dt.date(year, quarter * 3, 14) + dt.timedelta(days=r.choice((1, 3, 5, 6, 9, 15))),
                                       dt.time(16, 0))
            os.utime(path, (sent.timestamp(), sent.timestamp()))
            manifest["files"] += 1
            is_clean = injection is None or (injection.severity == "warning" and injection.reject_code is None)
            clean[(unit.code, year, quarter)] = is_clean
            if not bad_kind:
                model.record(unit, figures, accepted=is_clean)
            history.setdefault(unit.code, []).append((year, quarter))
            if not bad_kind:
                previous[unit.code] = (year, quarter, figures.get("dir_plan_tasks_completed"),
                                       figures.get("dir_plan_completion_rate"))
            else:
                previous.pop(unit.code, None)
            if injection:
                manifest["injected"].append({"path": path.relative_to(out).as_posix(), "unit": unit.code,
                                             "period": f"{year}-Q{quarter}", "kind": injection.kind,
                                             "rules": injection.rules, "severity": injection.severity,
                                             "reject_code": injection.reject_code, "detail": injection.detail})
            if truth and not bad_kind:
                tpath = out / "_truth" / unit.code / f"{year}-Q{quarter}.json"
                tpath.parent.mkdir(parents=True, exist_ok=True)
                tpath.write_text(json.dumps({"path": path.relative_to(out).as_posix(), "facts": rendered.truth,
                                             "habits": habits.__dict__}, ensure_ascii=False), encoding="utf-8")
    (out / "_manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
    return manifest


def _ancestors(unit: DemoUnit, by_code: dict[str, DemoUnit]) -> list[str]:
    out, parent = [], unit.parent
    while parent:
        out.append(parent)
        parent = by_code[parent].parent if parent in by_code else None
    return out


def write_demo_inbox(inbox: Path) -> dict:
    """The demo inbox `make run` uses when no CCHC_INBOX is configured (deterministic)."""
    tmp = inbox.with_name(inbox.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    manifest = generate(tmp, units=DEMO_UNITS, quarters=DEMO_QUARTERS, error_rate=0.12, seed=DEMO_SEED, end=DEMO_END,
                        forced=DEMO_LATEST_QUARTER)
    (tmp / ".complete").write_text("ok\n")
    shutil.rmtree(inbox, ignore_errors=True)
    tmp.rename(inbox)
    return manifest
