"""The indicator catalog CSV: integrity of its relations, and label matching against it."""
from __future__ import annotations

import csv
import re
from collections import defaultdict

import pytest

from ingestion import config
from ingestion.indicators import load_catalog
from ingestion.workbook.extract import extract_facts
from ingestion.text.labels import label_key
from ingestion.workbook.reader import SheetGrid
from ingestion.text.values import parse_legend

KINDS = {"count", "percent", "money", "coded", "heading"}


@pytest.fixture(scope="module")
def rows() -> list[dict]:
    with open(config.INDICATOR_CATALOG, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def by_code(rows) -> dict[str, dict]:
    return {r["code"]: r for r in rows}


@pytest.fixture(scope="module")
def catalog():
    return load_catalog()


def split(value: str) -> list[str]:
    return [v.strip() for v in (value or "").split("|") if v.strip()]


def csv_legend(value: str) -> dict[int, str]:
    out = {}
    for item in value.split(";"):
        code, label = item.split("=", 1)
        out[int(code)] = label.strip()
    return out


# -- integrity ------------------------------------------------------------------------------------

def test_catalog_file_is_the_seed():
    assert config.INDICATOR_CATALOG.name == "indicator_catalog.csv"
    assert config.INDICATOR_CATALOG.parent.name == "seeds"


def test_codes_unique_and_snake_case(rows):
    codes = [r["code"] for r in rows]
    assert len(codes) == len(set(codes))
    bad = [c for c in codes if not re.fullmatch(r"[a-z][a-z0-9]*(_[a-z0-9]+)*", c)]
    assert bad == []


def test_kinds_and_flags(rows):
    assert {r["kind"] for r in rows} <= KINDS
    for r in rows:
        for flag in ("cumulative", "zscore", "additive"):
            assert r[flag] in ("0", "1"), (r["code"], flag)


def test_every_reference_exists(rows, by_code):
    missing = []
    for r in rows:
        for field in ("parent", "numerator", "denominator", "whole", "canonical"):
            if r[field].strip() and r[field].strip() not in by_code:
                missing.append((r["code"], field, r[field]))
        for part in split(r["parts"]):
            if part not in by_code:
                missing.append((r["code"], "parts", part))
    assert missing == []


def test_parents_have_no_cycles(by_code):
    for code in by_code:
        seen, cur = set(), code
        while by_code[cur]["parent"].strip():
            assert cur not in seen, f"cycle through {code}"
            seen.add(cur)
            cur = by_code[cur]["parent"].strip()


def test_rates_have_counted_numerator_and_denominator(rows, by_code):
    for r in rows:
        if r["numerator"].strip() or r["denominator"].strip():
            assert r["kind"] == "percent", r["code"]
        if r["kind"] == "percent" and r["numerator"].strip():
            assert r["denominator"].strip(), f"{r['code']} has a numerator but no denominator"
            for field in ("numerator", "denominator"):
                assert by_code[r[field].strip()]["kind"] in ("count", "money"), (r["code"], field)


def test_coded_indicators_have_consistent_legends(rows):
    coded = [r for r in rows if r["kind"] == "coded"]
    assert coded
    for r in coded:
        legend = csv_legend(r["legend"])
        items = r["legend"].split(";")
        assert len(legend) == len(items) >= 2, f"{r['code']}: codes must be distinct"
        # the unit text shown in the template reads back to the same codes and words
        assert parse_legend(r["unit_vi"]) == legend, r["code"]
    for r in rows:
        if r["kind"] != "coded":
            assert not r["legend"].strip(), r["code"]


def test_levels_and_required_letters(rows):
    for r in rows:
        assert set(r["levels"].strip()) <= set("psdc"), r["code"]
        assert set(r["required"].strip()) <= set("psdc"), r["code"]


def test_authority_only_with_canonical(rows):
    for r in rows:
        if r["authority"].strip():
            assert set(r["authority"].strip()) <= set("pdc"), r["code"]
            assert r["canonical"].strip(), f"{r['code']} has authority without canonical"


def test_history_flags_only_on_own_figures(rows):
    for r in rows:
        if r["canonical"].strip():
            assert r["cumulative"] == "0" and r["zscore"] == "0", r["code"]


def test_every_form_has_indicators(rows):
    per_form = defaultdict(int)
    for r in rows:
        per_form[int(r["form"])] += 1
    assert sorted(per_form) == [1, 2, 3, 4, 5, 6, 7]
    assert all(n >= 5 for n in per_form.values())


def test_labels_distinguishable_by_context(rows, by_code):
    # Same form + same normalised label is only tolerable under different parents.
    owners: dict[tuple[str, str], set[str]] = defaultdict(set)
    for r in rows:
        for text in [r["name_vi"], *split(r["aliases"])]:
            owners[(r["form"], label_key(text).full)].add(r["code"])
    clashes = []
    for (form, key), codes in owners.items():
        parents = [by_code[c]["parent"].strip() for c in codes]
        if len(parents) != len(set(parents)):
            clashes.append((form, key, sorted(codes)))
    assert clashes == []


def test_catalog_loader_agrees_with_csv(rows, catalog):
    assert len(catalog) == len(rows)
    assert catalog["dir_survey_method"].legend_map == {0: "Trực tuyến", 1: "Phát phiếu", 2: "Kết hợp"}
    assert catalog["egov_online_dossier_rate"].numerator == "egov_dossiers_online"
    assert catalog["egov_online_dossier_rate"].denominator == "egov_dossiers_received"


# -- matching -------------------------------------------------------------------------------------

@pytest.mark.parametrize("label, form, recent, expected", [
    ("Tổng số hồ sơ TTHC đã giải quyết xong", 3, ["tthc_ontime_rate_district"], "tthc_dossiers_resolved_district"),
    ("Tổng số hồ sơ TTHC đã giải quyết xong", 3, ["tthc_ontime_rate_commune"], "tthc_dossiers_resolved_commune"),
    # a sibling just above decides as well as the parent
    ("Tổng số hồ sơ TTHC đã giải quyết xong", 3, ["tthc_dossiers_ontime_commune", "tthc_ontime_rate_commune"],
     "tthc_dossiers_resolved_commune"),
    ("Tổng số TTHC đủ điều kiện", 7, ["egov_dvc_l4_rate"], "egov_dvc_l4_eligible"),
    ("Tổng số TTHC đủ điều kiện", 7, ["egov_dvc_l3_rate"], "egov_dvc_l3_eligible"),
    ("Cấp xã", 7, ["egov_work_files_rate_district"], "egov_work_files_rate_commune"),
    ("Số VBQPPL do HĐND, UBND cấp huyện đã ban hành (cấp xã)", 2, [], "inst_legal_docs_commune"),
    ("Số VBQPPL do HĐND, UBND cấp huyện đã ban hành", 2, [], "inst_legal_docs_district"),
    ("Xây dựng và vận hành Hệ thống họp trực tuyến Liên thông 2 cấp: Từ UBND tỉnh đến 100% UBND các huyện "
     "Liên thông 3 cấp: Từ UBND tỉnh đến 100% UBND cấp huyện, cấp xã", 7, [], "egov_video_conferencing"),
    ("TỔNG SỐ HỒ SƠ TTHC TIẾP NHẬN TRONG KỲ", 3, [], "tthc_dossiers_received_total"),
    ("Quá hạn", 3, ["tthc_dossiers_pending_within"], "tthc_dossiers_pending_overdue"),
    ("Quá hạn", 3, ["tthc_dossiers_resolved_ontime"], "tthc_dossiers_resolved_late"),
    # label variants of province, district and service-centre reports
    ("Giải quyết trước hạn, đúng hạn", 3, ["tthc_dossiers_resolved_total"], "tthc_dossiers_resolved_early_ontime"),
    ("Số ĐVSNCL thuộc UBND cấp tỉnh", 4, ["org_public_units_total"], "org_public_units_province"),
    ("Tỷ lệ hồ sơ TTHC được tiếp nhận trực tuyến", 7, [], "egov_online_dossier_rate"),
    ("Tỷ lệ hồ sơ tiếp nhận trực tuyến", 3, [], "egov_online_dossier_rate"),
    # terse rows of aggregate and service-centre reports, under their section
    ("Số hồ sơ tiếp nhận", 3, [], "tthc_dossiers_received_total"),
    ("Tiếp nhận", 3, ["tthc_dossiers"], "tthc_dossiers_received_total"),
    ("Số TTHC đang thực hiện tiếp nhận tại Trung tâm", 3, [], "tthc_one_stop_procedures"),
    ("Số TTHC thực hiện tiếp nhận tại Trung tâm Phục vụ hành chính công", 3, [], "tthc_one_stop_procedures"),
])
def test_match(catalog, label, form, recent, expected):
    assert catalog.match(label, form, recent).code == expected


@pytest.mark.parametrize("label, recent", [
    ("Cấp xã", []),
    ("Tổng số hồ sơ TTHC đã giải quyết xong", []),
    ("Quá hạn", []),
])
def test_ambiguous_without_context(catalog, label, recent):
    m = catalog.match(label, None, recent)
    assert (m.code, m.how) == (None, "ambiguous")


@pytest.mark.parametrize("label, form, recent", [
    ("Tiếp nhận", 3, []),  # a terse label away from its section says nothing
    ("Tiếp nhận", 5, ["tthc_dossiers"]),  # nor in another form's table
    ("Đã giải quyết", 1, []),
])
def test_terse_label_needs_its_section_and_form(catalog, label, form, recent):
    assert catalog.match(label, form, recent).code is None


def test_a_label_running_on_past_a_shorter_label_the_way_others_do_is_not_the_shorter_one(catalog):
    # "Số hồ sơ tiếp nhận" + "trực ...": the catalog parts there into online and in person, not the total
    assert catalog.match("Số hồ sơ tiếp nhận trực tiếp tại Bộ phận Một cửa", 3, []).code is None
    assert catalog.match("Số hồ sơ tiếp nhận trực tuyến toàn tỉnh", 3, []).code == "tthc_dossiers_received_online"


def test_unknown_label(catalog):
    m = catalog.match("Số cây xanh được trồng mới trên địa bàn", 7, [])
    assert (m.code, m.how) == (None, "unmatched")


def test_same_indicator_twice_in_one_match_set(catalog):
    label = "Tổng số biên chế được giao trong năm"
    first = catalog.match(label, 4, [])
    assert first.code == "org_cs_quota"
    second = catalog.match(label, 4, [], {("org_cs_quota", "unit")})
    assert (second.code, second.how) == (None, "duplicate")
    # the same indicator for one level of the unit is another figure
    assert catalog.match(label, 4, [], {("org_cs_quota", "unit")}, "district").code == "org_cs_quota"


def test_same_indicator_twice_in_one_workbook(catalog):
    header = ["STT", "Chỉ tiêu", "Đơn vị tính", "Số liệu", "Ghi chú"]
    grid = SheetGrid("Biểu mẫu 4", [
        (1, header),
        (2, ["1.", "Tổng số biên chế được giao trong năm", "Người", 25]),
        (3, ["2.", "Số văn bản chỉ đạo CCHC đã ban hành", "Văn bản", 3]),
        (4, ["3.", "Tổng số biên chế được giao trong năm", "Người", 26]),
    ])
    ex = extract_facts([grid], catalog)
    by_row = {f.row: f for f in ex.facts}
    assert by_row[2].indicator == "org_cs_quota"
    assert by_row[4].indicator is None and by_row[4].match == "duplicate"
    assert str(by_row[4].value) == "26"  # kept, just not attributed
