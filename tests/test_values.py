"""Reading one figure cell: every value format of the domain, as literal cases and as properties."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given, settings, strategies as st

from ingestion.text.values import format_vi, parse_figure, parse_legend, parse_number

D = Decimal


def value(cell, kind, **kw):
    parsed = parse_figure(cell, kind, **kw)
    assert parsed.error is None, parsed.error
    return parsed.value


# -- literal cases ---------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["count", "money"])
@pytest.mark.parametrize("text, expected", [("1.200", D(1200)), ("4.494.051", D(4494051))])
def test_dot_groups_thousands_in_count_and_money_rows(text, kind, expected):
    assert value(text, kind) == expected
    assert parse_number(text, kind) == expected


def test_decimal_comma_with_percent_sign():
    assert value("99,02%", "percent") == D("99.02")


@pytest.mark.parametrize("text, expected", [("12.16%", D("12.16")), ("76.1", D("76.1"))])
def test_decimal_point_in_a_percent_row(text, expected):
    assert value(text, "percent") == expected


def test_percent_formatted_cell_is_scaled():
    assert value(0.758, "percent", percent_format=True) == D("75.8")


def test_rate_with_its_fraction():
    parsed = parse_figure("100% (18/18)", "percent")
    assert (parsed.value, parsed.numerator, parsed.denominator, parsed.error) == (D(100), D(18), D(18), None)


def test_fraction_in_a_count_row():
    parsed = parse_figure("27/27", "count")
    assert (parsed.value, parsed.numerator, parsed.denominator, parsed.error) == (D(27), D(27), D(27), None)


def test_leading_zero():
    assert value("05", "count") == D(5)


@pytest.mark.parametrize("cell", ["-", "–", "", None])
@pytest.mark.parametrize("kind", ["count", "percent", "money"])
def test_dash_and_empty_mean_missing_not_zero(cell, kind):
    parsed = parse_figure(cell, kind)
    assert parsed.value is None
    assert parsed.error is None


def test_float_noise_is_removed():
    assert str(value(75.80000000000001, "percent")) == "75.8"


def test_unit_word_after_the_number():
    assert value("05 văn bản", "count") == D(5)


def test_coded_answer_in_words():
    assert value("Có", "coded", legend={0: "Không", 1: "Có"}) == D(1)


def test_coded_dropdown_answer():
    legend = {0: "Trực tuyến", 1: "Phát phiếu", 2: "Kết hợp"}
    assert value("Phát phiếu = 1", "coded", legend=legend) == D(1)


@pytest.mark.parametrize("text", ["khoảng 20", "đang cập nhật"])
def test_text_in_a_figure_cell_is_an_error(text):
    parsed = parse_figure(text, "count")
    assert parsed.value is None
    assert parsed.error and text in parsed.error


@pytest.mark.parametrize("cell", [dt.date(2024, 3, 14), dt.datetime(2023, 9, 15, 0, 0), dt.time(12, 30)])
def test_dates_in_a_figure_cell_are_errors(cell):
    parsed = parse_figure(cell, "count")
    assert parsed.value is None
    assert parsed.error and "ngày" in parsed.error


@pytest.mark.parametrize("cell", [True, False])
def test_booleans_are_errors(cell):
    parsed = parse_figure(cell, "count")
    assert parsed.value is None
    assert parsed.error


# -- legends --------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("Trực tuyến = 0 Phát phiếu = 1 Kết hợp = 2", {0: "Trực tuyến", 1: "Phát phiếu", 2: "Kết hợp"}),
    ("Chưa có = 0 2 cấp = 1 3 cấp = 2", {0: "Chưa có", 1: "2 cấp", 2: "3 cấp"}),
    ("Có = 1; Không = 0", {1: "Có", 0: "Không"}),
])
def test_parse_legend(text, expected):
    assert parse_legend(text) == expected


def test_no_legend_in_a_plain_unit():
    assert parse_legend("Hồ sơ") == {}
    assert parse_legend(None) == {}


# -- display --------------------------------------------------------------------------------------

def test_format_vi():
    assert format_vi(4494051) == "4.494.051"
    assert format_vi(72.7508) == "72,75"
    assert format_vi(D("5620"), 0) == "5.620"


# -- properties -----------------------------------------------------------------------------------

def vi_grouped(n: int) -> str:
    # Written independently of format_vi: dots every three digits from the right.
    digits = str(n)
    groups = []
    while digits:
        groups.insert(0, digits[-3:])
        digits = digits[:-3]
    return ".".join(groups)


two_decimals = st.integers(min_value=0, max_value=10_000).map(lambda n: D(n) / 100)


@settings(max_examples=300)
@given(n=st.integers(min_value=0, max_value=10**15), kind=st.sampled_from(["count", "money"]))
def test_grouped_integers_parse_back(n, kind):
    assert value(vi_grouped(n), kind) == n
    assert value(str(n), kind) == n


def comma_text(x: Decimal) -> str:
    return f"{x:f}".replace(".", ",")


@settings(max_examples=300)
@given(x=two_decimals, percent_sign=st.booleans())
def test_decimal_comma_percent_parses_back(x, percent_sign):
    text = comma_text(x) + ("%" if percent_sign else "")
    assert value(text, "percent") == x


@settings(max_examples=300)
@given(x=two_decimals, percent_sign=st.booleans())
def test_decimal_point_percent_parses_back(x, percent_sign):
    text = f"{x:f}" + ("%" if percent_sign else "")
    assert value(text, "percent") == x


@settings(max_examples=300)
@given(n=st.integers(min_value=1, max_value=10**12))
def test_negative_grouped_integers_in_count_rows(n):
    assert value("-" + vi_grouped(n), "count") == -n


def test_negative_literal():
    assert value("-1.234", "count") == D(-1234)


@settings(max_examples=500)
@given(x=two_decimals)
def test_percent_formatted_floats_parse_back(x):
    assert value(float(x) / 100, "percent", percent_format=True) == x
