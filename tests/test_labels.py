"""Normalised label keys: rows are matched by meaning, not by how the label was typed."""
from __future__ import annotations

import pytest

from ingestion.text.labels import fold, is_parenthetical, label_key


def same(a: str, b: str) -> bool:
    ka, kb = label_key(a), label_key(b)
    return ka.full == kb.full and ka.short == kb.short


def test_diacritics_case_and_punctuation_are_ignored():
    assert same("Tổng số TTHC", "TONG SO TTHC")
    assert same("Tổng số TTHC", "tổng  số, TTHC.")
    assert label_key("Tổng số TTHC").full == "tong so tthc"


def test_different_labels_stay_different():
    assert not same("Tổng số TTHC", "Tổng số hồ sơ")


def test_parenthetical_remark_dropped_in_short_kept_in_full():
    key = label_key("Số VBQPPL do HĐND, UBND cấp huyện đã ban hành (cấp xã)")
    plain = label_key("Số VBQPPL do HĐND, UBND cấp huyện đã ban hành")
    assert key.short == plain.short
    assert key.full != plain.full
    assert key.full.endswith("cap xa")
    assert "cap xa" not in key.short


def test_nested_parentheses_are_dropped_in_short():
    assert label_key("Số hồ sơ (ghi chú (lũy kế) năm)").short == "so ho so"


@pytest.mark.parametrize("prefix", ["Trong đó:", "Trong đó", "trong đó,", "TRONG ĐÓ:"])
def test_leading_of_which_is_ignored(prefix):
    assert same(f"{prefix} Số hồ sơ giải quyết đúng hạn", "Số hồ sơ giải quyết đúng hạn")


@pytest.mark.parametrize("marked", ["Số VBQPPL¹ đã ban hành", "Số VBQPPL<sup>7</sup> đã ban hành",
                                    "Số VBQPPL²³ đã ban hành"])
def test_footnote_markers_are_ignored(marked):
    assert same(marked, "Số VBQPPL đã ban hành")


@pytest.mark.parametrize("long, short", [
    ("Tổng số thủ tục hành chính", "Tổng số TTHC"),
    ("Tổng số đơn vị sự nghiệp công lập (ĐVSNCL)", "Tổng số ĐVSNCL"),
    ("Số phản ánh, kiến nghị (PAKN) đã tiếp nhận", "Số PAKN đã tiếp nhận"),
    ("Số văn bản quy phạm pháp luật đã ban hành", "Số VBQPPL đã ban hành"),
])
def test_long_forms_equal_abbreviations(long, short):
    assert same(long, short)


def test_d_with_stroke_folds_to_d():
    assert fold("Đơn vị tính") == "don vi tinh"
    assert fold("đ") == "d"
    assert label_key("Đã giải quyết").full == "da giai quyet"


def test_decomposed_unicode_folds_like_composed():
    import unicodedata

    text = "Số hồ sơ đã tiếp nhận"
    assert same(unicodedata.normalize("NFD", text), text)


def test_parenthetical_row():
    assert is_parenthetical("(Chỉ thống kê đối với các TTHC mức độ 3 và 4 có phát sinh hồ sơ)")
    assert not is_parenthetical("Tỷ lệ hồ sơ (Chỉ thống kê)")
