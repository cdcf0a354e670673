"""Plausible, internally consistent figures for a unit's quarter.

Everything the consistency rules check holds by construction: rates match their
numerator and denominator (rounded as typists round), totals equal their parts, parts
stay within wholes, year-to-date figures never go down within a year, a district's
figures "for its communes" equal the sum of its communes' own figures, and histories
move smoothly enough that the jump rule only fires on injected jumps.
"""
from __future__ import annotations

import hashlib
import random
import statistics
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from ingestion.indicators import LEVEL_LETTERS, Catalog
from .hierarchy import DemoUnit

D = Decimal


def stable_rng(*parts) -> random.Random:
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def rate(numerator: int | Decimal, denominator: int | Decimal, decimals: int) -> Decimal | None:
    if not denominator:
        return None
    value = D(numerator) * 100 / D(denominator)
    return value.quantize(D(1) / (D(10) ** decimals), rounding=ROUND_HALF_UP).normalize() + 0


@dataclass
class UnitState:
    """What a unit remembers between quarters."""
    growth: float
    seasonal: tuple[float, float, float, float]
    online_start: float
    decimals: int  # how this unit rounds rates
    pending_share: float  # dossiers still open at the cut-off
    invest_base: int  # yearly public-investment plan, growing slowly
    pending: int = 0
    year: int = 0
    plan_tasks: int = 0
    plan_done: int = 0
    leaders: int = 0
    equitised: int = 0
    invest_plan: int = 0
    disbursed: int = 0
    inspect_rate: int = 0
    quota: int = 0
    history: dict[str, list[float]] = field(default_factory=dict)


class FigureModel:
    ZSCORE_SAFE = 2.5  # keep generated (not injected) values well inside the rule's 3.5

    def __init__(self, catalog: Catalog, seed: int):
        self.catalog, self.seed = catalog, seed
        self.states: dict[str, UnitState] = {}
        self.own: dict[tuple[str, int, int], dict[str, Decimal]] = {}  # unit, year, quarter -> own dossier figures

    def template(self, level: str) -> list[str]:
        letter = LEVEL_LETTERS[level]
        return [i.code for i in self.catalog if letter in i.levels]

    def _state(self, unit: DemoUnit) -> UnitState:
        if unit.code not in self.states:
            r = stable_rng(self.seed, "state", unit.code)
            amp = r.uniform(0.0, 0.06)
            self.states[unit.code] = UnitState(
                growth=r.uniform(0.005, 0.025), seasonal=(1 - amp, 1 + amp / 2, 1 + amp, 1 - amp / 2),
                online_start=r.uniform(0.35, 0.8), decimals=r.choice((0, 1, 1, 2)),
                pending_share=r.uniform(0.01, 0.04), invest_base=int(r.uniform(8_000, 40_000) * max(unit.size, 0.5)))
        return self.states[unit.code]

    # Figures the jump rule watches, by the history key their generated value is smoothed with.
    WATCHED = {"received": "tthc_dossiers_received_total", "resolved": "tthc_dossiers_resolved_total",
               "l34": "egov_dossiers_received"}

    def record(self, unit: DemoUnit, figures: dict[str, Decimal | None], *, accepted: bool) -> None:
        """A quarter's final figures were loaded (and maybe accepted): history for the jump rule.

        The rule compares with submissions the gate has not held back; within one batch the
        gate has not ruled yet, so held ones count too. Generated values stay safe either way.
        """
        st = self._state(unit)
        for key, code in self.WATCHED.items():
            if figures.get(code) is not None:
                st.history.setdefault("loaded:" + key, []).append(float(figures[code]))
                if accepted:
                    st.history.setdefault("accepted:" + key, []).append(float(figures[code]))

    def _smooth(self, st: UnitState, key: str, value: float) -> float:
        """Keep a generated value where the jump rule would not flag it, whichever history it uses."""
        low, high = float("-inf"), float("inf")
        for view in ("accepted:", "loaded:"):
            hist = st.history.get(view + key, [])
            if len(hist) < 4:
                continue
            median = statistics.median(hist)
            mad = statistics.median([abs(x - median) for x in hist])
            if mad > 0:
                limit = self.ZSCORE_SAFE * mad / 0.6745
                low, high = max(low, median - limit), min(high, median + limit)
        if low > high:  # the two views disagree: stay between them
            return (low + high) / 2
        return min(max(value, low), high)

    def figures(self, unit: DemoUnit, year: int, quarter: int, children_own: list[dict[str, Decimal]] | None = None,
                grandchildren_own: list[dict[str, Decimal]] | None = None) -> dict[str, Decimal | None]:
        """All figures of the unit's template for one quarter. children_own: its communes' (or
        districts') own dossier figures, for the rows about lower levels."""
        st = self._state(unit)
        r = stable_rng(self.seed, unit.code, year, quarter)
        t = (year - 2020) * 4 + quarter
        scale = max(unit.size, 0.3) * (1 + st.growth) ** t * st.seasonal[quarter - 1]
        if st.year != year:  # a new year: new plan, year-to-date figures restart
            st.year, st.plan_tasks, st.plan_done, st.leaders = year, r.randint(12, 40), 0, 0
            st.invest_plan, st.disbursed, st.inspect_rate = round(st.invest_base * (1.06 ** (year - 2020))), 0, 0
            st.quota = max(5, int(round((18 if unit.level == "commune" else 45) * max(unit.size, 0.5) ** 0.5
                                        * r.uniform(0.9, 1.1))))
        f: dict[str, Decimal | None] = {}
        dec = st.decimals

        # Form 1 - direction
        f["dir_directive_docs"] = D(r.randint(1, 6))
        st.plan_done = min(st.plan_tasks, max(st.plan_done, round(st.plan_tasks * quarter / 4 * r.uniform(0.75, 1.0))))
        f["dir_plan_tasks"], f["dir_plan_tasks_completed"] = D(st.plan_tasks), D(st.plan_done)
        f["dir_plan_completion_rate"] = rate(st.plan_done, st.plan_tasks, dec)
        st.inspect_rate = min(100, max(st.inspect_rate, quarter * 25 - r.randint(0, 20)))
        f["dir_inspected_units_rate"] = D(st.inspect_rate)
        f["dir_inspected_communes_rate"] = D(st.inspect_rate)
        f["dir_inspected_units"] = D(r.randint(0, 6))
        f["dir_inspected_communes"] = D(r.randint(0, 8))
        found = r.randint(0, 6)
        fixed = r.randint(0, found)
        f["dir_issues_found"], f["dir_issues_fixed"] = D(found), D(fixed)
        f["dir_issue_fix_rate"] = rate(fixed, found, dec) if found else (D(100) if r.random() < 0.5 else None)
        f["dir_staff_inspected_bodies"] = D(r.randint(0, 3))
        f["dir_staff_inspection_done_rate"] = D(r.choice((0, 50, 100)))
        assigned = r.randint(0, 12)
        ontime = r.randint(max(0, assigned - 2), assigned)
        late = r.randint(0, assigned - ontime)
        f["dir_upper_tasks_assigned"], f["dir_upper_tasks_ontime"] = D(assigned), D(ontime)
        f["dir_upper_tasks_late"], f["dir_upper_tasks_overdue"] = D(late), D(assigned - ontime - late)
        f["dir_survey_conducted"] = D(1 if r.random() < 0.85 else 0)
        f["dir_survey_forms"] = D(r.randint(10, 200)) if f["dir_survey_conducted"] else D(0)
        f["dir_survey_method"] = D(r.choice((0, 1, 2)))
        f["dir_dialogue_held"] = D(r.choice((0, 1)))

        # Form 2 - legal documents, by issuing level (the total adds up the levels the unit covers)
        levels = {"province": ("province", "district", "commune"), "department": ("province",),
                  "district": ("district", "commune"), "commune": ("commune",)}[unit.level]
        for lv in levels:
            f[f"inst_legal_docs_{lv}"] = D(r.randint(0, {"province": 12, "district": 4, "commune": 2}[lv]))
        f["inst_legal_docs_issued"] = sum((f[f"inst_legal_docs_{lv}"] for lv in levels), D(0))
        for block in ("check", "review", "check_review"):
            todo = r.randint(0, 4)
            done = r.randint(0, todo)
            f[f"inst_{block}_to_handle"], f[f"inst_{block}_handled"] = D(todo), D(done)
            f[f"inst_{block}_rate"] = rate(done, todo, dec) if todo else None
        f["inst_docs_checked"], f["inst_docs_reviewed"] = D(r.randint(0, 10)), D(r.randint(0, 10))

        # Form 3 - procedures and dossiers
        in_force = {"commune": r.randint(100, 170), "district": r.randint(230, 300), "province": r.randint(1000, 1600)}
        f["tthc_in_force_commune"] = D(in_force["commune"])
        if unit.level in ("district", "province"):
            f["tthc_in_force_district"] = D(in_force["district"])
        if unit.level in ("province", "department"):
            f["tthc_in_force_province"] = D(in_force["province"] if unit.level == "province" else r.randint(40, 200))
            if unit.level == "department":
                f["tthc_in_force_commune"] = None
        f["tthc_in_force"] = sum((f[c] for c in ("tthc_in_force_province", "tthc_in_force_district", "tthc_in_force_commune")
                                  if f.get(c) is not None), D(0))
        f["tthc_simplified"], f["tthc_new"], f["tthc_abolished"] = D(r.randint(0, 5)), D(r.randint(0, 4)), D(r.randint(0, 4))
        f["tthc_linked_same_level"], f["tthc_linked_across_levels"] = D(r.randint(0, 40)), D(r.randint(0, 30))
        f["tthc_location_independent"] = D(r.randint(0, 20))
        f["tthc_internal_process_rate"], f["tthc_internal_process_digital_rate"] = D(100), D(r.choice((90, 95, 100)))

        # Dossiers: the received total follows a smooth series; everything else derives from it,
        # so the jump rule (received, resolved) stays quiet unless a jump is injected.
        carried = st.pending
        received = max(carried + 5, round(self._smooth(st, "received", 120 * scale * r.uniform(0.98, 1.02))))
        new = received - carried
        online_share = min(0.98, st.online_start + 0.02 * t * r.uniform(0.8, 1.2) / 4)
        online = round(new * online_share)
        resolved = min(received, round(self._smooth(st, "resolved", received - received * st.pending_share)))
        pending = received - resolved
        late_n = round(resolved * r.choice((0, 0, 0, 0.002, 0.005)))
        early = round((resolved - late_n) * r.uniform(0.5, 0.85))
        overdue = min(pending, r.choice((0, 0, 0, 1)))
        st.pending = pending
        self.own[(unit.code, year, quarter)] = {"received": D(received), "resolved": D(resolved),
                                                "ontime": D(resolved - late_n)}
        f.update({
            "tthc_dossiers_received_total": D(received), "tthc_dossiers_received_new": D(new),
            "tthc_dossiers_received_online": D(online), "tthc_dossiers_received_direct": D(new - online),
            "tthc_dossiers_carried_over": D(carried), "tthc_dossiers_resolved_total": D(resolved),
            "tthc_dossiers_resolved_early": D(early), "tthc_dossiers_resolved_ontime": D(resolved - late_n - early),
            "tthc_dossiers_resolved_late": D(late_n), "tthc_dossiers_pending": D(pending),
            "tthc_dossiers_pending_within": D(pending - overdue), "tthc_dossiers_pending_overdue": D(overdue),
        })
        own_suffix = {"commune": "_commune", "district": "_district", "province": "_province", "department": ""}[unit.level]
        self._dossier_rows(f, own_suffix, resolved, resolved - late_n, dec)
        if unit.level in ("district", "province") and children_own:
            self._aggregate_rows(f, "_commune" if unit.level == "district" else "_district", children_own, dec)
        if unit.level == "province" and grandchildren_own:
            self._aggregate_rows(f, "_commune", grandchildren_own, dec)
        received_fb = r.choice((0, 0, 0, 1, 2))
        resolved_fb = r.randint(0, received_fb)
        f["tthc_feedback_received"], f["tthc_feedback_resolved"] = D(received_fb), D(resolved_fb)
        f["tthc_feedback_rate"] = rate(resolved_fb, received_fb, dec) if received_fb else (D(100) if r.random() < 0.3 else None)

        # Form 4 - apparatus and staffing
        f["org_cs_quota"] = D(st.quota)
        f["org_cs_present"] = D(st.quota - r.randint(0, max(1, st.quota // 10)))
        f["org_cs_contracts"], f["org_cs_streamlined"] = D(r.randint(0, 5)), D(r.randint(0, 2))
        f["org_cs_streamlined_rate_2015"] = D(r.randint(5, 15))
        pse_quota = max(10, round(300 * max(unit.size, 0.3) ** 0.8))
        f["org_pse_quota"], f["org_pse_present"] = D(pse_quota), D(pse_quota - r.randint(0, pse_quota // 15 + 1))
        f["org_pse_streamlined"], f["org_pse_streamlined_rate_2015"] = D(r.randint(0, 3)), D(r.randint(5, 15))
        f["org_district_depts_rate"], f["org_restructuring_done"] = D(100), D(1)
        f["org_management_boards"], f["org_interagency_bodies"] = D(r.randint(0, 2)), D(r.randint(0, 3))
        total_units = max(3, round(25 * max(unit.size, 0.3) ** 0.6))
        owner_code = {"province": "org_public_units_province", "department": "org_public_units_department",
                      "district": "org_public_units_district", "commune": None}[unit.level]
        if owner_code:
            f["org_public_units_total"], f[owner_code] = D(total_units), D(total_units)
        f["org_public_units_cut_rate"] = D(r.randint(3, 15))

        # Form 5 - civil service
        f["cs_positions_admin"], f["cs_positions_units"] = D(r.randint(0, 15)), D(r.randint(0, 60))
        f["cs_positions_violations"] = D(0)
        for code in ("cs_recruited_civil_servants", "cs_recruited_civil_servants_special", "cs_commune_staff_transferred",
                     "cs_recruited_public_employees", "cs_recruited_public_employees_special"):
            f[code] = D(r.choice((0, 0, 1, 2)))
        st.leaders = st.leaders + r.choice((0, 0, 1))
        f["cs_leaders_by_exam"] = D(st.leaders)
        leaders, communes_l, division, employees = (r.choice((0, 0, 1)) for _ in range(4))
        f["cs_disciplined_leaders"], f["cs_disciplined_commune_leaders"] = D(leaders), D(communes_l)
        f["cs_disciplined_division_leaders"], f["cs_disciplined_public_employees"] = D(division), D(employees)
        f["cs_disciplined"] = D(leaders + communes_l + division + employees + r.choice((0, 1)))

        # Form 6 - finance
        target = st.invest_plan * min(1.0, quarter / 4 * r.uniform(0.85, 1.05))
        st.disbursed = max(st.disbursed, round(target))
        f["fin_investment_plan"], f["fin_investment_disbursed"] = D(st.invest_plan), D(st.disbursed)
        f["fin_disbursement_rate"] = rate(st.disbursed, st.invest_plan, 2)
        state_units = max(0, total_units - r.randint(0, 4))
        rest = total_units - state_units
        full = r.randint(0, rest)
        recurrent = r.randint(0, rest - full)
        partly = rest - full - recurrent
        b70 = r.randint(0, partly)
        b30 = r.randint(0, partly - b70)
        f.update({"fin_units_total": D(total_units), "fin_units_self_full": D(full), "fin_units_self_recurrent": D(recurrent),
                  "fin_units_partly": D(partly), "fin_units_partly_70_100": D(b70), "fin_units_partly_30_70": D(b30),
                  "fin_units_partly_10_30": D(partly - b70 - b30), "fin_units_state": D(state_units)})
        st.equitised = st.equitised + (1 if r.random() < 0.02 else 0)
        f["fin_units_equitised"] = D(st.equitised)

        # Form 7 - e-government
        f["egov_architecture"], f["egov_video_conferencing"] = D(r.choice((0, 1, 1))), D(r.choice((1, 2, 2)))
        f["egov_reporting_system"], f["egov_lgsp"] = D(r.choice((1, 2, 2))), D(r.choice((1, 2, 2)))
        f["egov_national_reporting_rate"] = D(r.choice((95, 98, 100, 100)))
        for code in ("egov_edoc_link_rate", "egov_edoc_district_linked_rate", "egov_edoc_commune_linked_rate",
                     "egov_one_stop_district_rate", "egov_one_stop_commune_rate", "egov_edoc_fully_electronic_rate",
                     "egov_work_files_rate_department", "egov_work_files_rate_district", "egov_work_files_rate_commune"):
            f[code] = D(r.choice((95, 98, 100, 100, 100)))
        f["egov_edoc_parallel_paper_rate"] = D(100) - f["egov_edoc_fully_electronic_rate"]
        f["egov_edoc_exchange_rate"] = D(r.choice((97, 99, 100)))
        usage = [D(r.choice((96, 98, 99, 100))) for _ in range(3)]
        f["egov_edoc_usage_rate_department"], f["egov_edoc_usage_rate_district"], f["egov_edoc_usage_rate_commune"] = usage
        f["egov_edoc_usage_rate"] = min(usage)
        f["egov_work_files_rate"] = D(r.choice((95, 98, 100)))
        l34 = 0
        for lv in ("3", "4"):
            eligible = r.randint(20, 160) if unit.level != "province" else r.randint(300, 900)
            provided = eligible - r.choice((0, 0, 0, 1, 2))
            with_dossiers = r.randint(0, provided)
            f[f"egov_dvc_l{lv}_eligible"], f[f"egov_dvc_l{lv}_provided"] = D(eligible), D(provided)
            f[f"egov_dvc_l{lv}_with_dossiers"] = D(with_dossiers)
            f[f"egov_dvc_l{lv}_rate"] = rate(provided, eligible, dec)
            l34 += provided
        integrated = l34 - r.choice((0, 0, 1))
        f["egov_dvc_l34_provided"], f["egov_dvc_l34_integrated"] = D(l34), D(integrated)
        f["egov_dvc_portal_rate"] = rate(integrated, l34, dec)
        l34_received = max(1, round(self._smooth(st, "l34", new * r.uniform(0.75, 0.8))))
        l34_online = min(l34_received, round(l34_received * online_share))
        f["egov_dossiers_received"], f["egov_dossiers_online"] = D(l34_received), D(l34_online)
        f["egov_online_dossier_rate"] = rate(l34_online, l34_received, dec)
        fees = r.randint(3, 20)
        paid = fees - r.choice((0, 0, 1, 2))
        f["egov_payment_required"], f["egov_payment_integrated"] = D(fees), D(paid)
        f["egov_payment_rate"] = rate(paid, fees, dec)

        return {code: f.get(code) for code in self.template(unit.level)}

    @staticmethod
    def level_blocks(children_own: list[dict[str, Decimal]] | None,
                     grandchildren_own: list[dict[str, Decimal]] | None) -> dict[str, dict[str, Decimal]]:
        """A province's dossier figures for its district and commune levels (the sums of those units'
        own figures), as provincial reports give them in per-level blocks."""
        blocks = {}
        for scope, units in (("district", children_own), ("commune", grandchildren_own)):
            if not units:
                continue
            received = sum((u["received"] for u in units), D(0))
            resolved = sum((u["resolved"] for u in units), D(0))
            ontime = sum((u["ontime"] for u in units), D(0))
            blocks[scope] = {"tthc_dossiers_received_total": received, "tthc_dossiers_resolved_total": resolved,
                             "tthc_dossiers_resolved_early_ontime": ontime, "tthc_dossiers_resolved_late": resolved - ontime}
        return blocks

    def _dossier_rows(self, f: dict, suffix: str, resolved: int, ontime: int, dec: int) -> None:
        f[f"tthc_dossiers_resolved{suffix}"], f[f"tthc_dossiers_ontime{suffix}"] = D(resolved), D(ontime)
        f[f"tthc_ontime_rate{suffix}"] = rate(ontime, resolved, dec)

    def _aggregate_rows(self, f: dict, suffix: str, children_own: list[dict[str, Decimal]], dec: int) -> None:
        resolved = sum((c["resolved"] for c in children_own), D(0))
        ontime = sum((c["ontime"] for c in children_own), D(0))
        self._dossier_rows(f, suffix, resolved, ontime, dec)
