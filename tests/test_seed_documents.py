"""The three real reports as Word documents: the appendix read to the same figures as the golden
extracts of their spreadsheets, addressed by table and row, and the narrative's figures cross-checked."""
from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path

import docx
import pytest
from conftest import SEED_REGISTRY
from seed_documents import build_document
from seed_workbooks import SEED_UNITS, build

from ingestion.check import check_files
from ingestion.registry import read_registry
from ingestion.workbook.read import read_report

GOLDEN = Path(__file__).parent / "fixtures" / "golden"
SEEDS = ("000", "002", "003")
KEYS = ("stt", "label", "unit", "raw", "value", "indicator")


@pytest.fixture(scope="module")
def inbox(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("docs")
    for seed, (unit, period, _) in SEED_UNITS.items():
        build_document(seed, root / unit / period / f"bao_cao_{seed}.docx")
        build(seed, root / "xlsx" / unit / period / f"phu_luc_{seed}.xlsx")
    return root


def doc_path(inbox: Path, seed: str) -> Path:
    unit, period, _ = SEED_UNITS[seed]
    return inbox / unit / period / f"bao_cao_{seed}.docx"


def xlsx_path(inbox: Path, seed: str) -> Path:
    unit, period, _ = SEED_UNITS[seed]
    return inbox / "xlsx" / unit / period / f"phu_luc_{seed}.xlsx"


@pytest.fixture(scope="module")
def read(inbox):
    cache = {}

    def get(seed: str):
        if seed not in cache:
            cache[seed] = read_report(doc_path(inbox, seed))
        return cache[seed]

    return get


@pytest.fixture(scope="module")
def checked(inbox):
    registry = read_registry(SEED_REGISTRY / "org_units.csv", SEED_REGISTRY / "unit_mapping.csv")
    docs = check_files([doc_path(inbox, s) for s in SEEDS], registry=registry)
    sheets = check_files([xlsx_path(inbox, s) for s in SEEDS], registry=registry)
    return dict(zip(SEEDS, docs.files)), dict(zip(SEEDS, sheets.files))


def _row(values: dict) -> dict:
    return {k: (Decimal(values[k]) if k == "value" and values[k] is not None else values[k]) for k in KEYS}


@pytest.mark.parametrize("seed", SEEDS)
def test_document_reads_to_the_golden_figures(read, seed):
    ex = read(seed)
    golden = json.loads((GOLDEN / f"seed_{seed}.json").read_text(encoding="utf-8"))["facts"]
    got = [_row({k: getattr(f, k) for k in KEYS}) for f in ex.facts]
    assert got == [_row(g) for g in golden]
    assert ex.errors == []
    assert ex.source_format == "docx"
    assert all(f.sheet.startswith("Bảng ") for f in ex.facts)


@pytest.mark.parametrize("seed", SEEDS)
def test_every_figure_points_at_its_table_row(inbox, read, seed):
    """Bảng N, dòng R: python-docx, reading the same file on its own, finds the label and the value there."""
    tables = docx.Document(str(doc_path(inbox, seed))).tables
    for f in read(seed).facts:
        cells = [c.text for c in tables[int(f.sheet.split()[1]) - 1].rows[f.row - 1].cells]
        # python-docx shows a superscript footnote mark as a plain digit ("VBQPPL7"): compare without digits
        label = re.sub(r"[\d⁰¹²³⁴⁵⁶⁷⁸⁹]", "", f.label.split("(")[0]).strip()[:40]
        assert any(label in re.sub(r"[\d⁰¹²³⁴⁵⁶⁷⁸⁹]", "", " ".join(c.split())) for c in cells), (f.sheet, f.row, f.label)
        if f.raw is not None:
            assert f.raw in cells, (f.sheet, f.row, f.raw, cells)


def test_kim_phuong_tables_split_by_page_breaks_continue_without_header(read):
    facts = read("000").facts
    # the letterhead is Bảng 1; the appendix is split into four tables, only the first has a header
    assert sorted({f.sheet for f in facts}) == ["Bảng 2", "Bảng 3", "Bảng 4", "Bảng 5", "Bảng 6", "Bảng 7"]
    quota = next(f for f in facts if f.indicator == "org_cs_quota")
    assert (quota.sheet, quota.row, quota.form, quota.value) == ("Bảng 5", 1, 4, Decimal(36))
    lgsp = next(f for f in facts if f.indicator == "egov_lgsp")
    assert "Hoàn thành = 2" in lgsp.legend  # the legend spilled over the page break
    rate = next(f for f in facts if f.indicator == "egov_online_dossier_rate")
    assert rate.label.endswith("(Chỉ thống kê đối với các TTHC mức độ 3 và 4 có phát sinh hồ sơ)")


@pytest.mark.parametrize("seed, period, unit, level", [
    ("000", (2024, 1), "XÃ KIM PHƯỢNG", "commune"),
    ("002", (2023, 3), "huyện Lâm Thao", "district"),
    ("003", (2023, 2), "phường Tam Quan Bắc", "commune"),  # its spreadsheet's appendix names no quarter
])
def test_title_and_unit_come_from_the_document(read, seed, period, unit, level):
    ex = read(seed)
    assert (ex.title_period, ex.title_unit, ex.level_hint) == (period, unit, level)
    assert [i for i in ex.issues if i.code == "appendix_period_differs"] == []


NARRATIVE = {
    "000": [
        ("tthc_dossiers_received_total", "unit", 446, False),
        ("tthc_dossiers_received_new", "unit", 441, True),
        ("tthc_dossiers_received_online", "unit", 441, True),
        ("tthc_dossiers_received_direct", "unit", 0, True),
        ("tthc_dossiers_carried_over", "unit", 5, True),
        ("tthc_dossiers_resolved_total", "unit", 438, True),
        ("tthc_dossiers_resolved_early", "unit", 384, True),
        ("tthc_dossiers_resolved_ontime", "unit", 54, True),
        ("tthc_dossiers_resolved_late", "unit", 0, True),
        ("tthc_dossiers_pending", "unit", 8, True),
        ("tthc_dossiers_pending_within", "unit", 8, True),
        ("org_cs_present", "unit", 25, True),
    ],
    "002": [
        ("dir_plan_tasks_completed", "unit", 22, True),
        ("dir_plan_tasks", "unit", 29, True),
        ("dir_plan_completion_rate", "unit", Decimal("75.8"), True),
        ("tthc_dossiers_received_total", "unit", 7725, False),
        ("tthc_dossiers_received_total", "district", 3584, False),
        ("tthc_dossiers_received_total", "commune", 4141, False),
        ("tthc_dossiers_received_new", "unit", 7323, True),
        ("tthc_dossiers_received_new", "district", 3228, True),
        ("tthc_dossiers_received_new", "commune", 4095, True),
        ("tthc_dossiers_carried_over", "unit", 358, True),
        ("tthc_dossiers_resolved_total", "unit", 7045, True),
        ("tthc_dossiers_resolved_total", "district", 2967, True),
        ("tthc_dossiers_resolved_total", "commune", 4078, True),
        ("tthc_dossiers_pending", "unit", 314, True),
        ("tthc_dossiers_pending", "district", 293, True),
        ("tthc_dossiers_pending", "commune", 21, True),
        ("org_cs_quota", "unit", 67, True),  # "biên chế hành chính", not the 1.379 that adds public service units
        ("org_cs_present", "unit", 62, True),
        ("org_cs_quota", "commune", 242, True),
        ("org_cs_present", "commune", 252, True),
        ("fin_investment_disbursed", "unit", 238526, True),
        ("fin_disbursement_rate", "unit", Decimal("60.2"), True),
        ("tthc_dossiers_received_total", "unit", 7725, False),
        ("tthc_dossiers_received_online", "unit", 5620, True),
        ("egov_online_dossier_rate", "unit", Decimal("76.74"), True),
    ],
    "003": [("org_cs_present", "unit", 20, True)],
}


@pytest.mark.parametrize("seed", SEEDS)
def test_narrative_figures_of_the_seeds(read, seed):
    got = [(n.indicator, n.scope, n.value, n.compare) for n in read(seed).narrative]
    assert got == [(i, s, Decimal(v), c) for i, s, v, c in NARRATIVE[seed]]


def test_narrative_figures_keep_paragraph_and_sentence(read):
    resolved = next(n for n in read("000").narrative if n.indicator == "tthc_dossiers_resolved_total")
    assert resolved.sentence.startswith("- Số lượng hồ sơ đã giải quyết: 438 hồ sơ;")
    assert resolved.raw == "438"
    assert resolved.paragraph == 37
    assert resolved.position == 1


def _narrative_evaluations(result):
    return [e for e in result.evaluations if e.kind == "narrative_matches_appendix"]


def test_kim_phuong_narrative_disagrees_with_its_appendix(checked):
    result = checked[0]["000"]
    fails = [e for e in _narrative_evaluations(result) if e.status == "fail"]
    assert [(e.rule_id, e.observed, e.expected, e.sheet, e.row) for e in fails] == [
        ("narrative_matches_appendix:tthc_dossiers_resolved_total", Decimal(438), Decimal(437), "Bảng 4", 18)]
    message = next(v["message"] for v in result.violations if v["rule"] == fails[0].rule_id)
    assert message.startswith("Đoạn 37 của phần thuyết minh ghi số hồ sơ đã giải quyết là 438 (“Số lượng hồ sơ đã giải quyết: 438")
    assert "nhưng phụ lục ghi 437 ở Bảng 4, dòng 18 (“Tổng số hồ sơ TTHC đã giải quyết xong”)" in message
    passes = [(e.rule_id, e.observed) for e in _narrative_evaluations(result) if e.status == "pass"]
    assert passes == [("narrative_matches_appendix:org_cs_present", Decimal(25))]


@pytest.mark.parametrize("seed, compared", [("002", 9), ("003", 1)])
def test_consistent_reports_raise_no_narrative_warning(checked, seed, compared):
    evaluations = _narrative_evaluations(checked[0][seed])
    assert [e for e in evaluations if e.status == "fail"] == []
    assert len(evaluations) == compared


def test_lam_thao_compares_levels_not_its_territory_total(checked):
    """7.045 dossiers resolved is the district with its communes; its appendix has each level apart."""
    compared = {(e.rule_id.split(":")[1], e.observed, e.row) for e in _narrative_evaluations(checked[0]["002"])}
    assert ("tthc_dossiers_resolved_total", Decimal(2967), 16) in compared
    assert ("tthc_dossiers_resolved_total", Decimal(4078), 19) in compared
    assert not any(observed == 7045 for _, observed, _ in compared)
    assert not any(observed in (242, 252, 1379) for _, observed, _ in compared)


def _breaks(result) -> list[tuple]:
    """The rule failures of a file, located by label rather than by row (rows differ between formats)."""
    labels = {(f.sheet, f.row): f.label for f in result.submission.facts}
    return sorted((e.rule_id, e.status, labels.get((e.sheet, e.row)), e.observed, e.expected)
                  for e in result.evaluations if e.kind != "narrative_matches_appendix" and e.status == "fail")


@pytest.mark.parametrize("seed", SEEDS)
def test_document_flags_the_same_breaks_as_the_spreadsheet(checked, seed):
    doc, sheet = checked[0][seed], checked[1][seed]
    assert doc.status == sheet.status
    assert doc.facts == sheet.facts
    # The unit's name comes from different places: the spreadsheet's title, the document's letterhead.
    # Kim Phượng's spreadsheet title misspells it ("xã Kim Phụng"), its Word letterhead does not.
    breaks = [b for b in _breaks(doc) if b[0] != "unit_matches_path"]
    assert breaks == [b for b in _breaks(sheet) if b[0] != "unit_matches_path"]
    assert len(breaks) >= {"000": 10, "002": 1, "003": 1}[seed]
    if seed == "000":
        title_checks = {r.submission.source_format: next(e for e in r.evaluations if e.kind == "unit_matches_path")
                        for r in (doc, sheet)}
        assert title_checks["xlsx"].status == "fail" and "Kim Phụng" in title_checks["xlsx"].detail["observed_unit"]
        assert title_checks["docx"].status == "pass"


# -- the commands --------------------------------------------------------------------------------------

def test_cchc_extract_json_on_a_document(inbox):
    from test_bad_inputs import run

    proc = run("extract", str(doc_path(inbox, "000")), "--json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert len(doc["facts"]) == 103
    resolved = next(f for f in doc["facts"] if f["indicator"] == "tthc_dossiers_resolved_commune")
    assert resolved == {"sheet": "Bảng 4", "row": 18, "stt": "Trong đó", "label": "Tổng số hồ sơ TTHC đã giải quyết xong",
                        "unit": "Hồ sơ", "raw": "437", "value": 437, "indicator": "tthc_dossiers_resolved_commune",
                        "scope": "commune"}
    assert doc["narrative"][5] == {
        "paragraph": 37, "position": 1, "indicator": "tthc_dossiers_resolved_total", "scope": "unit", "raw": "438",
        "value": 438, "comparable": True,
        "sentence": "- Số lượng hồ sơ đã giải quyết: 438 hồ sơ; trong đó, giải quyết trước hạn: 384 hồ sơ, đúng hạn: "
                    "54 hồ sơ, quá hạn: 0 hồ sơ."}


def test_cchc_check_text_on_documents(inbox):
    from test_bad_inputs import run

    proc = run("check", "--registry", str(SEED_REGISTRY / "org_units.csv"), str(doc_path(inbox, "000")),
               str(doc_path(inbox, "003")))
    assert proc.returncode == 1, proc.stderr  # Kim Phượng has errors in its appendix
    out = proc.stdout
    assert "bao_cao_000.docx — đơn vị KIMPHUONG, kỳ 2024-Q1 — 103 số liệu — có lỗi" in out
    assert "  CẢNH BÁO: Đoạn 37 của phần thuyết minh ghi số hồ sơ đã giải quyết là 438" in out
    assert "  LỖI: Bảng 3, dòng 12: Tổng số TTHC đang có hiệu lực = 0 nhưng tổng các thành phần = 116" in out
    assert "bao_cao_003.docx — đơn vị TAMQUANBAC, kỳ 2023-Q2 — 103 số liệu — có cảnh báo" in out


def test_an_appendix_titled_with_another_quarter_is_remarked(inbox):
    """Last quarter's appendix pasted under this quarter's report: the report's title counts, the unit is told."""
    import io
    import zipfile

    from test_document_bad_inputs import rezip

    data = doc_path(inbox, "000").read_bytes()
    xml = zipfile.ZipFile(io.BytesIO(data)).read("word/document.xml").decode()
    assert xml.count("QUÝ I NĂM 2024") == 1  # the appendix's title; the report's own title is in lower case
    stale = rezip(data, {"word/document.xml": xml.replace("QUÝ I NĂM 2024", "QUÝ IV NĂM 2023").encode()})
    from ingestion.workbook.read import read_report_bytes

    ex = read_report_bytes(stale)
    assert ex.title_period == (2024, 1)
    remarks = [i for i in ex.issues if i.code == "appendix_period_differs"]
    assert [(i.severity, i.message) for i in remarks] == [
        ("warning", "tiêu đề báo cáo ghi quý I/2024 nhưng tiêu đề phụ lục ghi quý IV/2023; "
                    "hãy kiểm tra phụ lục có đúng kỳ không")]
