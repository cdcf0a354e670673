"""The three real reports, laid out as workbooks, read back against the hand-reviewed golden files."""
from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from ingestion.workbook.read import read_workbook
from seed_workbooks import build

GOLDEN = Path(__file__).parent / "fixtures" / "golden"
SEEDS = ("000", "002", "003")
ENGINES = ("calamine", "openpyxl")
KEYS = ("sheet", "row", "stt", "label", "unit", "value", "indicator", "scope")


@pytest.fixture(scope="module")
def workbooks(tmp_path_factory):
    cache: dict[tuple[str, bool], Path] = {}

    def get(seed: str, typed: bool) -> Path:
        if (seed, typed) not in cache:
            path = tmp_path_factory.mktemp("seeds") / f"seed_{seed}_{'typed' if typed else 'text'}.xlsx"
            cache[(seed, typed)] = build(seed, path, typed=typed)
        return cache[(seed, typed)]

    return get


@pytest.fixture(scope="module")
def read(workbooks):
    cache = {}

    def get(seed: str, typed: bool = False, engine: str = "calamine"):
        if (seed, typed, engine) not in cache:
            cache[(seed, typed, engine)] = read_workbook(workbooks(seed, typed), engine)
        return cache[(seed, typed, engine)]

    return get


def golden(seed: str) -> dict:
    return json.loads((GOLDEN / f"seed_{seed}.json").read_text(encoding="utf-8"))


def as_row(fact, keys) -> dict:
    row = {k: getattr(fact, k) for k in keys}
    if "value" in row and row["value"] is not None:
        row["value"] = Decimal(row["value"])
    return row


def golden_row(g: dict, keys) -> dict:
    row = {k: g[k] for k in keys}
    if "value" in row and row["value"] is not None:
        row["value"] = Decimal(row["value"])
    return row


def by_row(ex) -> dict[tuple[str, int], object]:
    return {(f.sheet, f.row): f for f in ex.facts}


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("typed", [False, True], ids=["text", "typed"])
@pytest.mark.parametrize("seed", SEEDS)
def test_facts_equal_golden(read, seed, typed, engine):
    ex = read(seed, typed, engine)
    keys = KEYS if typed else KEYS + ("raw",)
    expected = [golden_row(g, keys) for g in golden(seed)["facts"]]
    got = [as_row(f, keys) for f in ex.facts]
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        assert g == e
    assert ex.errors == []


@pytest.mark.parametrize("seed, period", [("000", (2024, 1)), ("002", (2023, 3)), ("003", None)])
def test_title_period(read, seed, period):
    assert read(seed).title_period == period
    assert golden(seed)["title_period"] == (list(period) if period else None)


# -- spot checks, written out from the reports -----------------------------------------------------

@pytest.mark.parametrize("typed", [False, True], ids=["text", "typed"])
def test_lam_thao_resolved_dossiers_by_level(read, typed):
    facts = [f for f in read("002", typed).facts if f.label == "Tổng số hồ sơ TTHC đã giải quyết xong"]
    assert [(f.value, f.indicator) for f in facts] == [
        (Decimal(2967), "tthc_dossiers_resolved_district"),
        (Decimal(4078), "tthc_dossiers_resolved_commune"),
    ]


@pytest.mark.parametrize("typed", [False, True], ids=["text", "typed"])
def test_lam_thao_online_dossier_rate(read, typed):
    ex = read("002", typed)
    facts = {f.indicator: f for f in ex.facts if f.indicator}
    rate = facts["egov_online_dossier_rate"]
    assert rate.value == Decimal("76.74")
    assert rate.row == 179
    assert (facts["egov_dossiers_received"].value, facts["egov_dossiers_received"].row) == (Decimal(7725), 180)
    assert (facts["egov_dossiers_online"].value, facts["egov_dossiers_online"].row) == (Decimal(5620), 181)


def test_kim_phuong_survey_header_row(read):
    fact = next(f for f in read("000").facts if f.indicator == "dir_survey_conducted")
    assert fact.label == "Khảo sát sự hài lòng của người dân, tổ chức"
    assert fact.value == Decimal(25)


@pytest.mark.parametrize("engine", ENGINES)
def test_kim_phuong_lgsp_legend_spilled_over_two_rows(read, engine):
    fact = next(f for f in read("000", False, engine).facts if f.indicator == "egov_lgsp")
    assert fact.unit == "Chưa = 0 Đang làm = 1"
    assert fact.value == Decimal(1)
    assert "Hoàn thành = 2" in fact.legend
    assert "Chưa = 0" in fact.legend


def test_kim_phuong_remark_row_is_not_a_fact(read):
    facts = read("000").facts
    assert not [f for f in facts if f.label.startswith("(")]
    rate = next(f for f in facts if f.indicator == "egov_online_dossier_rate")
    assert rate.label.endswith("(Chỉ thống kê đối với các TTHC mức độ 3 và 4 có phát sinh hồ sơ)")
    assert rate.value == Decimal(100)


@pytest.mark.parametrize("typed", [False, True], ids=["text", "typed"])
def test_tam_quan_bac_commune_work_files(read, typed):
    facts = [f for f in read("003", typed).facts if f.label == "Cấp xã"]
    assert len(facts) == 1
    assert facts[0].sheet == "Biểu mẫu 7"
    assert facts[0].value == Decimal(100)
    assert facts[0].indicator == "egov_work_files_rate_commune"


@pytest.mark.parametrize("typed", [False, True], ids=["text", "typed"])
@pytest.mark.parametrize("seed", SEEDS)
def test_engines_agree_fact_by_fact(read, seed, typed):
    a, b = read(seed, typed, "calamine"), read(seed, typed, "openpyxl")
    assert len(a.facts) == len(b.facts) > 50
    for fa, fb in zip(a.facts, b.facts):
        assert fa == fb
    assert (a.title_period, a.title_unit, a.level_hint) == (b.title_period, b.title_unit, b.level_hint)


@pytest.mark.parametrize("seed", SEEDS)
def test_typed_and_text_workbooks_give_the_same_values(read, seed):
    text = {(f.sheet, f.row): (f.indicator, f.value) for f in read(seed, False).facts}
    typed = {(f.sheet, f.row): (f.indicator, f.value) for f in read(seed, True).facts}
    assert text == typed
