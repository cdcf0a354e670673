"""Provincial, district, department and commune reports as their units type them: every figure gets
its indicator and scope, and the rules flag the real breaks in the figures and nothing else."""
from __future__ import annotations

from decimal import Decimal

import pytest
from report_workbooks import (PROVINCE_BLOCKS,
                              REPORTS, build, build_inbox, expected, write_registry)

from ingestion.indicators import load_catalog
from ingestion.check import check_files
from ingestion.registry import read_registry
from ingestion.workbook.read import read_workbook


@pytest.fixture(scope="module")
def checked(tmp_path_factory):
    inbox = tmp_path_factory.mktemp("scoped") / "inbox"
    paths = build_inbox(inbox)
    registry_csv = write_registry(inbox / "_registry")
    registry = read_registry(registry_csv, registry_csv.with_name("unit_mapping.csv"))
    result = check_files(paths, registry=registry)
    return {report.name: (report, path, result.files[i]) for i, (report, path) in enumerate(zip(REPORTS, paths))}


@pytest.mark.parametrize("report", REPORTS, ids=lambda r: r.name)
@pytest.mark.parametrize("engine", ["calamine", "openpyxl"])
def test_every_figure_gets_its_indicator_scope_and_value(tmp_path, report, engine):
    path = build(report, tmp_path / f"{report.name}.xlsx")
    ex = read_workbook(path, engine)
    got = {(f.sheet, f.row): f for f in ex.facts}
    want = expected(report)
    assert set(got) == set(want)
    for where, row in want.items():
        fact = got[where]
        assert (fact.label, fact.indicator, fact.scope, fact.value) == (row.label, row.indicator, row.scope, row.value), where
    assert ex.errors == []


@pytest.mark.parametrize("report", REPORTS, ids=lambda r: r.name)
def test_only_real_breaks_are_flagged(checked, report):
    _, _, result = checked[report.name]
    assert result.errors == []
    failures = {(v["rule"], v["severity"]) for v in result.violations
                if v["severity"] != "info" and not v["rule"].startswith("required_present")}
    assert failures == report.breaks


@pytest.mark.parametrize("report", REPORTS, ids=lambda r: r.name)
def test_required_figures_reported_for_a_level_count_as_reported(checked, report):
    _, _, result = checked[report.name]
    catalog = load_catalog()
    reported = {catalog[r.indicator].concept for r in expected(report).values() if r.indicator and r.value is not None}
    for ev in result.evaluations:
        if ev.kind == "required_present" and ev.status == "fail":
            assert not set(ev.detail["missing"]) & reported


def _evaluations(checked, name, rule_id):
    return [ev for ev in checked[name][2].evaluations if ev.rule_id == rule_id]


def test_province_levels_add_up_to_the_whole(checked):
    levels = {ev.rule_id.split(":")[1]: ev for ev in checked["province_blocks"][2].evaluations
              if ev.kind == "whole_equals_levels"}
    assert {code: ev.status for code, ev in levels.items()} == {
        "tthc_dossiers_received_total": "pass", "tthc_dossiers_resolved_total": "pass",
        "tthc_dossiers_resolved_early_ontime": "fail", "tthc_dossiers_resolved_late": "pass",
        "tthc_dossiers_pending": "pass", "tthc_dossiers_pending_within": "pass", "tthc_dossiers_pending_overdue": "pass"}
    ev = levels["tthc_dossiers_resolved_early_ontime"]
    assert (ev.observed, ev.expected) == (Decimal(635593), Decimal(635595))
    message = next(v["message"] for v in checked["province_blocks"][2].violations if v["rule"] == ev.rule_id)
    assert message == ("Biểu mẫu 3, dòng 15: Giải quyết đúng hạn và trước hạn (toàn đơn vị) = 635.593 nhưng tổng các "
                       "cấp = 635.595 (các sở, ngành 51.072, cấp huyện 323.911, cấp xã 260.612)")


def test_province_rules_compare_figures_of_one_level(checked):
    totals = _evaluations(checked, "province_blocks", "total_equals_parts:tthc_dossiers_pending")
    assert sorted((ev.detail.get("scope", "unit"), ev.status, ev.observed) for ev in totals) == [
        ("commune", "pass", Decimal(967)), ("department", "pass", Decimal(2800)), ("district", "pass", Decimal(3405)),
        ("unit", "pass", Decimal(7172))]
    rates = _evaluations(checked, "province_blocks", "rate_matches_parts:tthc_dossiers_late_rate")
    assert sorted((ev.detail.get("scope", "unit"), ev.status) for ev in rates) == [
        ("commune", "pass"), ("department", "pass"), ("district", "pass"), ("unit", "pass")]
    # the real break is reported for the whole province only, and says so
    resolved = _evaluations(checked, "province_blocks", "total_equals_parts:tthc_dossiers_resolved_total")
    assert sorted((ev.detail.get("scope", "unit"), ev.status) for ev in resolved) == [
        ("commune", "pass"), ("department", "pass"), ("district", "pass"), ("unit", "fail")]


def test_messages_name_the_level_a_block_figure_is_about(tmp_path):
    from report_workbooks import Report, row
    report = Report("one_bad_level", "LD", "2020-Q1", PROVINCE_BLOCKS.title, [("Biểu mẫu 3", [
        row("1", "Cấp huyện"),
        row("1.1", "Số hồ sơ đang giải quyết", "Hồ sơ", "3.405", "tthc_dossiers_pending", "district"),
        row("Trong đó", "Chưa đến hạn", "Hồ sơ", "2.436", "tthc_dossiers_pending_within", "district"),
        row(None, "Đã quá hạn", "Hồ sơ", "970", "tthc_dossiers_pending_overdue", "district"),
    ])])
    path = build(report, tmp_path / "LD" / "2020-Q1" / "x.xlsx")
    registry_csv = write_registry(tmp_path / "_registry")
    result = check_files([path], registry=read_registry(registry_csv, registry_csv.with_name("unit_mapping.csv")))
    errors = [v["message"] for v in result.files[0].violations if v["severity"] == "error"]
    assert errors == ["Biểu mẫu 3, dòng 8: Số hồ sơ đang giải quyết (cấp huyện) = 3.405 nhưng tổng các thành phần "
                      "= 3.406 (Số hồ sơ đang giải quyết trong hạn 2.436, Số hồ sơ đang giải quyết quá hạn 970)"]


def test_district_total_without_its_level_parts_is_not_guessed(checked):
    received = _evaluations(checked, "district_blocks", "total_equals_parts:tthc_dossiers_received_total")
    # the whole district is checked (and is wrong: 7.725 ≠ 7.323 + 358); its levels give no carried-over figure
    assert [(ev.detail.get("scope", "unit"), ev.status, ev.observed, ev.expected) for ev in received] == [
        ("unit", "fail", Decimal(7725), Decimal(7681))]
    assert not _evaluations(checked, "district_blocks", "total_equals_parts:tthc_dossiers_pending")


def test_total_with_leaves_but_no_subtotal(checked):
    [received] = _evaluations(checked, "leaves_no_subtotal", "total_equals_parts:tthc_dossiers_received_total")
    assert (received.status, received.observed, received.expected) == ("pass", Decimal(412), Decimal(412))
    assert [code for code, _ in received.detail["parts"]] == [
        "tthc_dossiers_received_online", "tthc_dossiers_received_direct", "tthc_dossiers_carried_over"]
    # resolved = (early + on time) + late: late is not reported, so the sum is not made up
    assert not _evaluations(checked, "leaves_no_subtotal", "total_equals_parts:tthc_dossiers_resolved_total")


def test_combined_by_deadline_figure(checked):
    [resolved] = _evaluations(checked, "combined_labels", "total_equals_parts:tthc_dossiers_resolved_total")
    assert resolved.status == "pass"
    assert [code for code, _ in resolved.detail["parts"]] == [
        "tthc_dossiers_resolved_early_ontime", "tthc_dossiers_resolved_late"]
    [rate] = _evaluations(checked, "combined_labels", "rate_matches_parts:tthc_ontime_rate_commune")
    assert rate.status == "pass"


def test_form_4_and_form_6_totals_keep_their_own_indicators(checked):
    [same] = _evaluations(checked, "forms_4_and_6", "same_figure:public_units_form4_vs_form6")
    assert (same.status, same.observed, same.expected) == ("pass", Decimal(53), Decimal(53))
    statuses = {ev.rule_id: ev.status for ev in checked["forms_4_and_6"][2].evaluations if ev.kind == "total_equals_parts"}
    assert statuses == {"total_equals_parts:org_public_units_total": "pass", "total_equals_parts:fin_units_total": "pass"}


def test_service_centre_figure_without_a_national_indicator_is_kept(checked):
    report, path, result = checked["service_centre"]
    facts = read_workbook(path, "calamine").facts
    [kept] = [f for f in facts if f.indicator is None]
    assert (kept.label, kept.value) == ("Số hồ sơ chậm hạn và quá hạn chưa có kết quả", Decimal(37))
    [total] = _evaluations(checked, "service_centre", "total_equals_parts:tthc_dossiers_received_total")
    assert (total.status, total.observed) == ("pass", Decimal(16234))


def test_sums_the_report_cannot_complete_are_not_checked(checked):
    # "đúng hạn" without "trước hạn": resolved = (early + on time) + late cannot be made up
    assert not _evaluations(checked, "district_year", "total_equals_parts:tthc_dossiers_resolved_total")
    [received] = _evaluations(checked, "district_year", "total_equals_parts:tthc_dossiers_received_total")
    assert (received.status, received.observed) == ("pass", Decimal(59010))
    # new dossiers split in person / online / post: the catalog's "in person or by post" is not there
    assert not _evaluations(checked, "centre_month", "total_equals_parts:tthc_dossiers_received_total")
    [resolved] = _evaluations(checked, "centre_month", "total_equals_parts:tthc_dossiers_resolved_total")
    assert (resolved.status, resolved.observed, resolved.expected) == ("pass", Decimal(4561), Decimal(4561))


def test_a_level_heading_with_a_remark_keeps_its_level(checked):
    resolved = _evaluations(checked, "centre_and_districts", "total_equals_parts:tthc_dossiers_resolved_total")
    assert sorted((ev.detail.get("scope"), ev.status, ev.observed, ev.expected) for ev in resolved) == [
        ("department", "pass", Decimal(15641), Decimal(15641)), ("district", "fail", Decimal(17651), Decimal(17655))]
