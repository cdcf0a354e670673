"""The unit named in a workbook's title against the registry's name for the folder's unit
(ingestion/registry.py title_names_unit): only diacritics, case, punctuation and spacing may differ."""
from __future__ import annotations

import pytest

from ingestion.registry import title_names_unit

SAME = [
    ("Ủy ban nhân dân xã Kim Phượng", "Xã Kim Phượng"),
    ("UBND xa Kim Phuong", "Xã Kim Phượng"),  # typed without diacritics
    ("UBND XÃ KIM PHƯỢNG", "Xã Kim Phượng"),
    ("UBND phường 07, quận 3", "Phường 7"),  # a leading zero, and the district named after it
    ("UBND phường Tam QuanBắc", "Phường Tam Quan Bắc"),  # spacing
    ("UBND xã Quan Sơn", "Xã Quan Sơn"),  # "Quan" is a name here, not "quận"
    ("UBND xã Kim Phượng, huyện Định Hóa", "Xã Kim Phượng"),
    ("UBND TP Hà Tĩnh", "Thành phố Hà Tĩnh"),
    ("Sở Văn hóa, Thể thao và Du lịch", "Sở Văn hóa, Thể thao và Du lịch"),
    ("Văn phòng UBND tỉnh", "Văn phòng UBND tỉnh"),
    ("UBND xã Đông Hòa", "Xã Dong Hoa"),
]
NEIGHBOURS = [
    ("UBND Phường 7", "Phường 1"),
    ("UBND phường 10", "Phường 1"),
    ("UBND Phường 7 Quận 1", "Phường 1"),
    ("xã An Bình", "Xã An Ninh"),
    ("UBND xã Hòa", "Xã Hòa An"),
    ("UBND xã Tam Quan Bắc", "Phường Tam Quan Bắc"),  # the same name, another kind of unit
    ("Ủy ban nhân dân xã Kim Phụng", "Xã Kim Phượng"),  # a letter more than diacritics
    ("Sở Văn hóa và Thể thao", "Sở Văn hóa, Thể thao và Du lịch"),
]


@pytest.mark.parametrize("typed, registered", SAME)
def test_the_same_unit_is_recognised(typed, registered):
    assert title_names_unit(typed, registered) is True


@pytest.mark.parametrize("typed, registered", NEIGHBOURS)
def test_a_neighbour_is_not_the_unit(typed, registered):
    assert title_names_unit(typed, registered) is False


@pytest.mark.parametrize("typed, registered", [("UBND huyện", "Huyện Lâm Thao"), (None, "Xã A"), ("UBND xã A", None)])
def test_nothing_to_compare(typed, registered):
    assert title_names_unit(typed, registered) is None
