"""Every registered rule kind, through both engines, on small synthetic submissions.

One row of CASES per verdict: the reports (the pending ones are judged, the others are history,
siblings or the other format), the kind, and the statuses its evaluations must have. Each row runs
through the offline engine (`cchc check`) and through the kind's SQL in PostgreSQL (over tables
shaped like the relations the gate reads), and both must give the same evaluations, field by field.
Every registered kind needs at least one failing and one passing row here.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

import psycopg2
import pytest
from conftest import fresh_database
from psycopg2.extras import RealDictCursor, execute_values

from ingestion.document.narrative import NarrativeFigure
from ingestion.indicators import load_catalog
from ingestion.registry import OrgUnit, Registry
from ingestion.rules.kinds import KINDS
from ingestion.rules.messages import render
from ingestion.rules.model import Submission
from ingestion.rules.offline import OfflineEngine
from ingestion.rules.ruleset import load_rules
from ingestion.rules.sql import Relations, SqlEngine, evaluation_from_row
from ingestion.text.scope import rule_scope
from ingestion.workbook.extract import Fact

pytestmark = pytest.mark.e2e

# A province with one department, one district and two communes.
REGISTRY = Registry([
    OrgUnit("P", "Tỉnh Mẫu", "province", "province", None, None, None),
    OrgUnit("S", "Sở Nội vụ", "department", "department", "P", None, None),
    OrgUnit("D", "Huyện Mẫu", "district", "district", "P", None, None),
    OrgUnit("C1", "Xã Một", "commune", "commune", "D", None, None),
    OrgUnit("C2", "Xã Hai", "commune", "commune", "D", None, None),
])
LEVEL = {u.code: u.level for u in REGISTRY.units.values()}


def fig(code: str, value, scope: str = "unit", *, numerator=None, denominator=None, raw_kind: str | None = None):
    return (code, None if value is None else Decimal(str(value)), scope, numerator, denominator, raw_kind)


@dataclass
class Report:
    unit: str
    period: tuple[int, int]
    figures: list = field(default_factory=list)
    pending: bool = True
    held: bool = False
    fmt: str = "xlsx"
    name: str = "bao_cao.xlsx"
    content: str | None = None  # content hash; default: one per report
    title_period: tuple[int, int] | None = None
    title_unit_matches: bool | None = None
    narrative: list = field(default_factory=list)  # (indicator, value, scope)
    folder: tuple[str, ...] = ()  # other file names in its folder when discovered


def _cumulative(values) -> list[Report]:
    """The unit's earlier quarters of 2025 (history), then the pending one."""
    *earlier, last = values
    return [*(Report("C1", (2025, q), [fig("dir_plan_tasks_completed", v)], pending=False)
              for q, v in enumerate(earlier, start=1)),
            Report("C1", (2025, len(values)), [fig("dir_plan_tasks_completed", last)])]


def _history(last) -> list[Report]:
    series = [(2024, 1, 100), (2024, 2, 104), (2024, 3, 98), (2024, 4, 101), (2025, 1, 103)]
    return [*(Report("C1", (y, q), [fig("tthc_dossiers_received_total", v)], pending=False) for y, q, v in series),
            Report("C1", (2025, 2), [fig("tthc_dossiers_received_total", last)])]


def _levels(d_value) -> list[Report]:
    return [Report("C1", (2025, 1), [fig("tthc_dossiers_resolved", 40)], pending=False),
            Report("C2", (2025, 1), [fig("tthc_dossiers_resolved", 60)], pending=False),
            Report("D", (2025, 1), [fig("tthc_dossiers_resolved_commune", d_value, "commune")])]


REQUIRED = [fig(code, 1) for code in ("dir_plan_tasks", "dir_plan_tasks_completed", "tthc_in_force",
                                      "tthc_dossiers_resolved", "tthc_dossiers_ontime", "org_cs_quota", "org_cs_present")]
RATE = [fig("dir_plan_tasks", 20), fig("dir_plan_tasks_completed", 15)]
PARTS = [fig("tthc_dossiers_received_new", 7), fig("tthc_dossiers_carried_over", 5)]
LEVELS = [fig("dir_directive_docs", 3, "department"), fig("dir_directive_docs", 4, "district"),
          fig("dir_directive_docs", 5, "commune")]

# (kind, case, reports, statuses of the kind's evaluations, sorted)
CASES = [
    ("rate_matches_parts", "rows agree", [Report("C1", (2025, 1), [*RATE, fig("dir_plan_completion_rate", 75)])], ["pass"]),
    ("rate_matches_parts", "rows disagree", [Report("C1", (2025, 1), [*RATE, fig("dir_plan_completion_rate", 80)])], ["fail"]),
    ("rate_matches_parts", "fraction typed in the cell",
     [Report("C1", (2025, 1), [fig("dir_plan_completion_rate", 90, numerator=Decimal(18), denominator=Decimal(18))])],
     ["fail"]),
    ("percent_in_range", "within", [Report("C1", (2025, 1), [fig("dir_plan_completion_rate", 75)])], ["pass"]),
    ("percent_in_range", "a count in a rate cell", [Report("C1", (2025, 1), [fig("dir_plan_completion_rate", 120)])],
     ["fail"]),
    ("count_not_negative", "positive", [Report("C1", (2025, 1), [fig("dir_plan_tasks", 3)])], ["pass"]),
    ("count_not_negative", "negative", [Report("C1", (2025, 1), [fig("dir_plan_tasks", -3)])], ["fail"]),
    ("count_is_whole", "whole", [Report("C1", (2025, 1), [fig("dir_plan_tasks", 3)])], ["pass"]),
    ("count_is_whole", "fraction", [Report("C1", (2025, 1), [fig("dir_plan_tasks", 3.5)])], ["fail"]),
    ("row_in_catalog", "every row known", [Report("C1", (2025, 1), [fig("dir_plan_tasks", 3)])], ["pass"]),
    ("row_in_catalog", "an unknown row", [Report("C1", (2025, 1), [fig("dir_plan_tasks", 3), fig(None, 7)])],
     ["fail"]),
    ("total_equals_parts", "adds up", [Report("C1", (2025, 1), [fig("tthc_dossiers_received_total", 12), *PARTS])],
     ["pass"]),
    ("total_equals_parts", "does not add up",
     [Report("C1", (2025, 1), [fig("tthc_dossiers_received_total", 13), *PARTS])], ["fail"]),
    ("total_equals_parts", "a part missing: not compared",
     [Report("C1", (2025, 1), [fig("tthc_dossiers_received_total", 13), *PARTS[:1]])], []),
    ("whole_equals_levels", "levels add up", [Report("P", (2025, 1), [fig("dir_directive_docs", 12), *LEVELS])], ["pass"]),
    ("whole_equals_levels", "levels do not add up",
     [Report("P", (2025, 1), [fig("dir_directive_docs", 13), *LEVELS])], ["fail"]),
    ("part_not_above_whole", "below", [Report("C1", (2025, 1), RATE)], ["pass"]),
    ("part_not_above_whole", "above",
     [Report("C1", (2025, 1), [fig("dir_plan_tasks", 10), fig("dir_plan_tasks_completed", 12)])], ["fail"]),
    ("coded_in_legend", "in the legend", [Report("C1", (2025, 1), [fig("dir_survey_method", 2)])], ["pass"]),
    ("coded_in_legend", "outside", [Report("C1", (2025, 1), [fig("dir_survey_method", 3)])], ["fail"]),
    ("same_figure", "forms 4 and 6 agree",
     [Report("C1", (2025, 1), [fig("org_public_units_total", 5), fig("fin_units_total", 5)])], ["pass"]),
    ("same_figure", "forms 4 and 6 disagree",
     [Report("C1", (2025, 1), [fig("org_public_units_total", 5), fig("fin_units_total", 6)])], ["fail"]),
    ("narrative_matches_appendix", "narrative agrees",
     [Report("C1", (2025, 1), RATE, fmt="docx", name="bao_cao.docx", narrative=[("dir_plan_tasks_completed", 15, "unit")])],
     ["pass"]),
    ("narrative_matches_appendix", "narrative disagrees",
     [Report("C1", (2025, 1), RATE, fmt="docx", name="bao_cao.docx", narrative=[("dir_plan_tasks_completed", 16, "unit")])],
     ["fail"]),
    ("document_matches_spreadsheet", "same figures",
     [Report("C1", (2025, 1), RATE, pending=False),
      Report("C1", (2025, 1), RATE, fmt="docx", name="bao_cao.docx")], ["pass"]),
    ("document_matches_spreadsheet", "a figure differs",
     [Report("C1", (2025, 1), RATE, pending=False),
      Report("C1", (2025, 1), [fig("dir_plan_tasks", 21), fig("dir_plan_tasks_completed", 15)], fmt="docx",
             name="bao_cao.docx")], ["fail"]),
    ("cumulative_not_decreasing", "growing", _cumulative([5, 8]), ["pass"]),
    ("cumulative_not_decreasing", "going down", _cumulative([5, 8, 6]), ["fail"]),
    # A year's figures start again from nothing: the year before is no earlier quarter of this one.
    ("cumulative_not_decreasing", "only the year before",
     [Report("C1", (2024, 1), [fig("dir_plan_tasks_completed", 40)], pending=False),
      Report("C1", (2025, 2), [fig("dir_plan_tasks_completed", 8)])], []),
    ("jump_within_history", "within", _history(102), ["pass"]),
    ("jump_within_history", "far outside", _history(400), ["fail"]),
    ("levels_add_up", "communes add up", _levels(100), ["pass"]),
    ("levels_add_up", "communes do not add up", _levels(90), ["fail"]),
    ("required_present", "all present", [Report("C1", (2025, 1), REQUIRED)], ["pass"]),
    ("required_present", "one left empty", [Report("C1", (2025, 1), REQUIRED[1:])], ["fail"]),
    ("unit_reported", "one of five units sent",
     [Report("C1", (2025, 1), RATE)], ["fail", "fail", "fail", "fail", "pass"]),
    ("period_matches_path", "title agrees", [Report("C1", (2025, 1), RATE, title_period=(2025, 1))], ["pass"]),
    ("period_matches_path", "title names another quarter", [Report("C1", (2025, 1), RATE, title_period=(2025, 2))],
     ["fail"]),
    ("unit_matches_path", "title names the unit", [Report("C1", (2025, 1), RATE, title_unit_matches=True)], ["pass"]),
    ("unit_matches_path", "title names another unit", [Report("C1", (2025, 1), RATE, title_unit_matches=False)],
     ["fail"]),
    ("one_file_per_quarter", "alone", [Report("C1", (2025, 1), RATE)], ["pass"]),
    ("one_file_per_quarter", "two workbooks in the folder",
     [Report("C1", (2025, 1), RATE, name="a.xlsx", folder=("b.xlsx",)),
      Report("C1", (2025, 1), RATE, name="b.xlsx", folder=("a.xlsx",))], ["fail", "fail"]),
    ("content_unique_across_units", "own content", [Report("C1", (2025, 1), RATE, content="x1"),
                                                    Report("C2", (2025, 1), RATE, content="x2", pending=False)], ["pass"]),
    ("content_unique_across_units", "the same file in two units",
     [Report("C1", (2025, 1), RATE, content="x1"), Report("C2", (2025, 1), RATE, content="x1", pending=False)],
     ["fail"]),
    ("version_not_reverted", "a new version", [Report("C1", (2025, 1), RATE, content="v1", pending=False),
                                               Report("C1", (2025, 1), RATE, content="v2")], ["pass"]),
    ("version_not_reverted", "the first version dropped again",
     [Report("C1", (2025, 1), RATE, content="v1", pending=False),
      Report("C1", (2025, 1), RATE, content="v2", pending=False),
      Report("C1", (2025, 1), RATE, content="v1")], ["fail"]),
    # A version the gate held back was never in use: sending the one before it again reverts nothing.
    ("version_not_reverted", "back from a held version",
     [Report("C1", (2025, 1), RATE, content="v1", pending=False),
      Report("C1", (2025, 1), RATE, content="v2", pending=False, held=True),
      Report("C1", (2025, 1), RATE, content="v1")], ["pass"]),
]


def test_every_registered_kind_has_a_failing_and_a_passing_case():
    statuses = {}
    for kind, _, _, expected in CASES:
        statuses.setdefault(kind, set()).update(expected)
    assert set(KINDS) == set(load_rules().kinds), "every kind in rules.yml has a module and every module an entry"
    missing = {kind: {"pass", "fail"} - statuses.get(kind, set()) for kind in KINDS}
    assert not {k: v for k, v in missing.items() if v}, "kinds without a failing or a passing case in CASES"


# -- the two engines ------------------------------------------------------------------------------------
def _path(r: Report) -> str:
    return f"{r.unit}/{r.period[0]}-Q{r.period[1]}/{r.name}"


def _submissions(reports: list[Report], catalog) -> list[Submission]:
    subs = []
    for file_id, r in enumerate(reports, start=1):
        facts = [Fact(sheet="Biểu mẫu", row=10 + i, form=catalog[code].form if code else None, stt=None,
                      label=catalog[code].name_vi if code else "Chỉ tiêu lạ", unit=None,
                      raw=None if value is None else str(value), value=value, indicator=code,
                      kind=catalog[code].kind if code else "count", numerator=num, denominator=den, scope=scope)
                 for i, (code, value, scope, num, den, _) in enumerate(r.figures)]
        narrative = [NarrativeFigure(paragraph=3, position=i + 1, sentence=f"Đã hoàn thành {value} nhiệm vụ.",
                                     indicator=code, scope=scope, value=Decimal(value), raw=str(value),
                                     kind=catalog[code].kind, compare=True, levels="", pattern="test")
                     for i, (code, value, scope) in enumerate(r.narrative)]
        subs.append(Submission(key=str(file_id), unit_code=r.unit, level=LEVEL[r.unit], year=r.period[0],
                               quarter=r.period[1], facts=facts, title_period=r.title_period,
                               title_unit_matches=r.title_unit_matches, pending=r.pending, held=r.held, order=file_id,
                               content_hash=r.content or f"h{file_id}", path=_path(r), source_format=r.fmt,
                               narrative=narrative))
    return subs


def _key(ev) -> tuple:
    return (ev.rule_id, ev.kind, ev.severity, ev.status, ev.unit_code, ev.year, ev.quarter, ev.indicator, ev.sheet,
            ev.row, ev.rows, ev.form, ev.observed, ev.expected, tuple(sorted(ev.details)))


TABLES = """
create table batch (file_id bigint, unit_code text, unit_level text, year int, quarter int, title_year int,
    title_quarter int, title_unit text, title_unit_matches boolean, sheet text, row_number int, col_number int,
    form int, label text,
    indicator_code text, kind text, value numeric, cell_numerator numeric, cell_denominator numeric, unit_text text,
    note text, scope text, concept_code text, rule_scope text, own_indicator_code text);
create table rel_basis (like batch);
create table rel_facts (like batch);
create table rel_files (file_id bigint, unit_code text, year int, quarter int, content_hash text, source_path text,
    folder_files text[], source_format text, load_status text);
create table rel_submissions (file_id bigint, unit_code text, year int, quarter int, source_format text,
    source_path text);
create table rel_gate (file_id bigint, decision text);
create table rel_org_units (unit_code text, unit_name text, unit_level text, valid_from date, valid_to date);
create table rel_descendants (unit_code text, descendant_code text, descendant_level text, valid_from date,
    valid_to date);
create table rel_narrative (file_id bigint, paragraph_number int, position int, sentence text, indicator_code text,
    scope text, value numeric, kind text, comparable boolean, levels text);
create table rel_dq_history (dq_result_id bigint, rule_kind text, unit_code text, year int, quarter int, status text);
"""
# Named apart from the CTEs of the queries (a CTE "submissions" would hide a table of that name).
RELATIONS = Relations(basis="rel_basis", descendants="rel_descendants", org_units="rel_org_units", files="rel_files",
                      gate="rel_gate", dq_history="rel_dq_history", narrative="rel_narrative",
                      submissions="rel_submissions", facts="rel_facts")


@pytest.fixture(scope="module")
def db(pg_cluster):
    with fresh_database(pg_cluster) as dsn:
        conn = psycopg2.connect(dsn.url())
        yield conn
        conn.close()


def _fact_rows(s: Submission, catalog) -> list[tuple]:
    own = {id(f): code for code, f in s.own.items()}
    return [(int(s.key), s.unit_code, s.level, s.year, s.quarter, *(s.title_period or (None, None)), None,
             s.title_unit_matches, f.sheet, f.row, f.column + 1, f.form, f.label, f.indicator, f.kind, f.value, f.numerator,
             f.denominator, None, None, f.scope, catalog[f.indicator].concept if f.indicator else None,
             rule_scope(f.scope, s.level), own.get(id(f))) for f in s.facts]


def _warehouse(conn, kind: str, reports: list[Report], subs: list[Submission], rules, catalog) -> list:
    basis: dict[tuple, Submission] = {}
    for s in subs:
        if not s.held:
            basis[(s.unit_code, s.year, s.quarter)] = s  # the latest version not held back
    with conn.cursor(cursor_factory=RealDictCursor) as cur:
        conn.rollback()  # every case starts from empty tables
        cur.execute(TABLES)
        insert = lambda table, rows: rows and execute_values(cur, f"insert into {table} values %s", rows)  # noqa: E731
        for s in subs:
            rows = _fact_rows(s, catalog)
            insert("rel_facts", rows)
            insert("batch", rows if s.pending else [])
            insert("rel_basis", rows if basis[(s.unit_code, s.year, s.quarter)] is s else [])
        insert("rel_files", [(int(s.key), s.unit_code, s.year, s.quarter, s.content_hash, s.path,
                          [s.path.rsplit("/", 1)[0] + "/" + n for n in sorted((r.name, *r.folder))], s.source_format,
                          "loaded") for s, r in zip(subs, reports)])
        insert("rel_submissions", [(int(s.key), s.unit_code, s.year, s.quarter, s.source_format, s.path)
                               for s in subs if not s.held])
        insert("rel_gate", [(int(s.key), "held" if s.held else "accepted") for s in subs if not s.pending])
        insert("rel_org_units", [(u.code, u.name, u.level, u.valid_from, u.valid_to) for u in REGISTRY.units.values()])
        on = dt.date(2025, 3, 31)
        insert("rel_descendants", [(u, d, level, None, None) for u in REGISTRY.units for level in sorted(set(LEVEL.values()))
                               for d in REGISTRY.descendants(u, level, on)])
        insert("rel_narrative", [(int(s.key), n.paragraph, n.position, n.sentence, n.indicator, n.scope, n.value, n.kind,
                              n.compare, n.levels) for s in subs if s.pending for n in s.narrative])
        cur.execute(SqlEngine(rules, catalog, RELATIONS).query(kind).replace("{batch}", "(select * from batch)"))
        rows = [evaluation_from_row(dict(r)) for r in cur.fetchall()]
    conn.rollback()
    return rows


@pytest.mark.parametrize("kind,case,reports,expected", CASES, ids=[f"{c[0]}: {c[1]}" for c in CASES])
def test_both_engines_give_the_expected_verdict(db, kind, case, reports, expected):
    rules, catalog = load_rules(), load_catalog()
    subs = _submissions(reports, catalog)
    offline = [ev for ev in OfflineEngine(rules, catalog, REGISTRY).evaluate(subs, completeness=True)
               if ev.kind == kind]
    warehouse = _warehouse(db, kind, reports, subs, rules, catalog)
    assert sorted(ev.status for ev in offline) == expected
    assert sorted(map(_key, warehouse)) == sorted(map(_key, offline))
    for ev in offline:  # every kind's sentence has the fields it names, in both languages
        assert render(ev, rules, catalog) and render(ev, rules, catalog, lang="en")
