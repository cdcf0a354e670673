"""Figures read from narrative sentences, with the traps real reports set: approximations, fractions,
revenue next to disbursement, staff totals that add public service units, levels in parentheses."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import pytest

from ingestion.indicators import load_catalog
from ingestion.document.narrative import NarrativeReader, load_patterns, read_patterns, sentences, PATTERNS_CSV
from ingestion.rules.ruleset import load_rules
from ingestion.rules.narrative import appendix_targets, level_allows


@dataclass
class P:
    number: int
    text: str


def read(text: str) -> list[tuple]:
    figures = NarrativeReader(load_catalog()).read([P(1, text)])
    return [(f.indicator, f.scope, f.value, f.compare) for f in figures]


def test_patterns_name_catalog_indicators():
    patterns = read_patterns(PATTERNS_CSV, load_catalog())
    assert len(patterns) == len(load_patterns()) > 30
    assert {p.indicator for p in patterns} <= {i.code for i in load_catalog()}


@pytest.mark.parametrize("text, expected", [
    # the examples of the reporting guidance
    ("Trong quý, Bộ phận một cửa đã tiếp nhận 506 hồ sơ, trong đó trực tuyến 492 hồ sơ, giải quyết trước hạn 500 hồ sơ.",
     [("tthc_dossiers_received_total", "unit", 506, False), ("tthc_dossiers_received_online", "unit", 492, True),
      ("tthc_dossiers_resolved_early", "unit", 500, True)]),
    ("Tỷ lệ giải ngân đạt 43,8% kế hoạch vốn được giao.", [("fin_disbursement_rate", "unit", Decimal("43.8"), True)]),
    ("Đến nay đã hoàn thành 22/29 nhiệm vụ (đạt 75,8 % so với Kế hoạch).",
     [("dir_plan_tasks_completed", "unit", 22, True), ("dir_plan_tasks", "unit", 29, True),
      ("dir_plan_completion_rate", "unit", Decimal("75.8"), True)]),
    # Vĩnh Phúc's monthly wording: new, carried over, on time with early counted in, and its rate
    ("Đã tiếp nhận mới 4.131 hồ sơ, hồ sơ tồn kỳ trước chuyển sang là 2.171; đã có kết quả trả trước và đúng hạn "
     "là 4.157 hồ sơ (đạt 99,71%).",
     [("tthc_dossiers_received_new", "unit", 4131, True), ("tthc_dossiers_carried_over", "unit", 2171, True),
      ("tthc_dossiers_ontime", "unit", 4157, True), ("tthc_ontime_rate", "unit", Decimal("99.71"), True)]),
    ("Tổng số hồ sơ đang giải quyết là 314 hồ sơ (thuộc thẩm quyền giải quyết của cấp huyện là 293 hồ sơ, "
     "thuộc thẩm quyền giải quyết của cấp xã là 21 hồ sơ).",
     [("tthc_dossiers_pending", "unit", 314, True), ("tthc_dossiers_pending", "district", 293, True),
      ("tthc_dossiers_pending", "commune", 21, True)]),
    ("Tỷ lệ hồ sơ giải quyết đúng hạn đạt 98,5%.", [("tthc_ontime_rate", "unit", Decimal("98.5"), True)]),
    ("Tổng số TTHC thuộc thẩm quyền giải quyết của UBND xã là 157 TTHC.", [("tthc_in_force", "unit", 157, True)]),
])
def test_sentences_other_reports_write(text, expected):
    assert read(text) == [(i, s, Decimal(v), c) for i, s, v, c in expected]


@pytest.mark.parametrize("text", [
    "Tổng số TTHC đưa ra để rà soát, đánh giá cắt giảm thời gian giải quyết là 05 TTHC.",  # reviewed, not in force
    "Tính đến tháng 9 năm 2023 biên chế được giao là: 1.379 biên chế.",  # civil servants and public service units
    "Tính đến hiện tại tổng thu ngân sách trên địa bàn là: 16,2 tỷ đồng đạt 87,7% kế hoạch.",  # revenue
    "Có 19/20 cán bộ, công chức có trình độ chuyên môn đại học trở lên.",
    "100% TTHC được áp dụng phần mềm một cửa để giải quyết.",
    "Tỷ lệ TTHC cung cấp trực tuyến đạt 100%.",  # procedures offered online, not dossiers filed online
    "Kết quả từ 15/6/2023 đến 15/9/2023 có 3 tin bài trên chuyên mục Phổ biến giáo dục pháp luật.",
    "Trung tâm đã giải quyết: 4.561/5.650 HS (tỷ lệ 80,7%).",
])
def test_sentences_that_state_no_catalog_figure(text):
    assert read(text) == []


def test_approximate_figures_are_kept_but_not_compared():
    assert read("Bộ phận một cửa đã giải quyết hơn 600 hồ sơ.") == [
        ("tthc_dossiers_resolved_total", "unit", Decimal(600), False)]
    # "4,52 ngàn hồ sơ" is a rounded thousand, not 4,52 dossiers nor 452
    assert read("Trung tâm tiếp nhận 5,65 ngàn hồ sơ, đã giải quyết 4,52 ngàn hồ sơ.") == []


def test_a_clause_naming_two_levels_is_not_compared():
    figures = read("Số lượng hồ sơ đã giải quyết của cấp huyện và cấp xã: 7.045 hồ sơ.")
    assert figures == [("tthc_dossiers_resolved_total", "mixed", Decimal(7045), False)]


def test_sub_figures_follow_their_head_only():
    # the pending item's "quá hạn" is not the resolved item's
    figures = read("Số lượng hồ sơ đã giải quyết: 438 hồ sơ; trong đó, giải quyết trước hạn: 384 hồ sơ, "
                   "đúng hạn: 54 hồ sơ. Số lượng hồ sơ đang giải quyết: 08 hồ sơ; trong đó, quá hạn: 02 hồ sơ.")
    assert figures == [
        ("tthc_dossiers_resolved_total", "unit", Decimal(438), True),
        ("tthc_dossiers_resolved_early", "unit", Decimal(384), True),
        ("tthc_dossiers_resolved_ontime", "unit", Decimal(54), True),
        ("tthc_dossiers_pending", "unit", Decimal(8), True),
        ("tthc_dossiers_pending_overdue", "unit", Decimal(2), True),
    ]


def test_staff_present_follows_the_administrative_quota_only():
    assert read("Biên chế sự nghiệp trực thuộc UBND huyện là 38 người, hiện có mặt 37 người.") == []
    assert read("Biên chế hành chính là 67 người, hiện có mặt 62. người; biên chế sự nghiệp là 38 người, "
                "hiện có mặt 37 người.") == [("org_cs_quota", "unit", Decimal(67), True),
                                               ("org_cs_present", "unit", Decimal(62), True)]


def test_sentences_split_on_full_stops_before_a_capital_only():
    assert sentences("Biên chế hành chính là 67 người, hiện có mặt 62. người; Tổng số 7.725 hồ sơ. Đã xong.") == [
        "Biên chế hành chính là 67 người, hiện có mặt 62. người; Tổng số 7.725 hồ sơ.", "Đã xong."]
    assert sentences("- Tổng số hồ sơ 446 hồ sơ;\n- Số mới tiếp nhận: 441 hồ sơ") == [
        "- Tổng số hồ sơ 446 hồ sơ;", "- Số mới tiếp nhận: 441 hồ sơ"]


# -- what a narrative figure is compared with ------------------------------------------------------

@pytest.fixture(scope="module")
def targets():
    catalog, rules = load_catalog(), load_rules()
    return lambda code, scope, level: appendix_targets(catalog, rules, code, scope, level)


def test_a_commune_whole_is_its_own_figure(targets):
    assert targets("tthc_dossiers_resolved_total", "unit", "commune") == (
        "own:tthc_dossiers_resolved_total", "own:tthc_dossiers_resolved")


def test_a_district_whole_is_not_its_own_authority_figure(targets):
    assert targets("tthc_dossiers_resolved_total", "unit", "district") == ()
    assert targets("tthc_dossiers_resolved_total", "unit", None) == ()
    # the same indicator for the same level: a row of a "Cấp huyện" block, or the level variant of the paired
    # concept (tthc_dossiers_resolved_district is tthc_dossiers_resolved for the district level)
    assert targets("tthc_dossiers_resolved_total", "district", "district") == (
        "row:tthc_dossiers_resolved_total@district", "row:tthc_dossiers_resolved@district")
    assert targets("tthc_dossiers_resolved_total", "commune", "district") == (
        "row:tthc_dossiers_resolved_total@commune", "row:tthc_dossiers_resolved@commune")
    assert targets("tthc_dossiers_resolved_total", "department", "province") == (
        "row:tthc_dossiers_resolved_total@department", "row:tthc_dossiers_resolved@department")


def test_figures_without_levels_compare_at_the_unit_scope_only(targets):
    assert targets("org_cs_quota", "unit", "district") == ("own:org_cs_quota",)
    # the communes' staff: compared only with a commune-level figure of the district's appendix, if it has one
    assert targets("org_cs_quota", "commune", "district") == ("row:org_cs_quota@commune",)
    assert targets("org_cs_quota", "commune", "commune") == ("own:org_cs_quota",)


def test_level_bound_patterns():
    assert level_allows("", None) and level_allows("", "district")
    assert level_allows("c", "commune") and not level_allows("c", "district") and not level_allows("c", None)
