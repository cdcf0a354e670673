"""The org-unit registry the data team maintains, and the 2025 reorganisation mapping.

org_units.csv: unit_code, name, level (province | department | district | commune),
unit_type (tỉnh, sở, huyện, thị xã, xã, phường, thị trấn, đặc khu ...), parent_code,
valid_from, valid_to (ISO dates; empty = open).

unit_mapping.csv: old_code, new_code, weight, effective_date — an old unit's
figures go to its successor(s) from that date; weights of one old unit sum to 1
(a split gives fractions), so counts roll up exactly and rates are recomputed.
"""
from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from .catalog import LEVEL_LETTERS

LEVELS = ("province", "department", "district", "commune")
ORG_UNIT_COLUMNS = ("unit_code", "name", "level", "unit_type", "parent_code", "valid_from", "valid_to")
MAPPING_COLUMNS = ("old_code", "new_code", "weight", "effective_date")


def quarter_end(year: int, quarter: int) -> dt.date:
    month = quarter * 3
    next_month = dt.date(year + (month == 12), 1 if month == 12 else month + 1, 1)
    return next_month - dt.timedelta(days=1)


def _date(text: str) -> dt.date | None:
    text = (text or "").strip()
    return dt.date.fromisoformat(text) if text else None


@dataclass(frozen=True)
class OrgUnit:
    code: str
    name: str
    level: str
    unit_type: str
    parent: str | None
    valid_from: dt.date | None
    valid_to: dt.date | None

    def active_on(self, day: dt.date) -> bool:
        return (self.valid_from is None or self.valid_from <= day) and (self.valid_to is None or day <= self.valid_to)

    @property
    def level_letter(self) -> str:
        return LEVEL_LETTERS[self.level]


@dataclass(frozen=True)
class UnitMapping:
    old_code: str
    new_code: str
    weight: Decimal
    effective_date: dt.date


class Registry:
    def __init__(self, units: list[OrgUnit], mappings: list[UnitMapping] | None = None):
        self.units = {u.code: u for u in units}
        self.mappings = list(mappings or [])
        self._children: dict[str, list[str]] = {}
        for u in units:
            if u.parent:
                self._children.setdefault(u.parent, []).append(u.code)

    def __contains__(self, code: object) -> bool:
        return code in self.units

    def get(self, code: str | None) -> OrgUnit | None:
        return self.units.get(code) if code else None

    def level_of(self, code: str | None) -> str | None:
        unit = self.get(code)
        return unit.level if unit else None

    def descendants(self, code: str, level: str, on: dt.date) -> list[str]:
        """Units of ``level`` under ``code`` (at any depth) that exist on ``on``."""
        found, stack = [], list(self._children.get(code, []))
        while stack:
            child = self.units[stack.pop()]
            if child.level == level and child.active_on(on):
                found.append(child.code)
            stack.extend(self._children.get(child.code, []))
        return sorted(found)

    def expected(self, year: int, quarter: int, levels: tuple[str, ...] | list[str] = LEVELS) -> list[OrgUnit]:
        """Units that must report for a quarter: those that exist on its last day."""
        day = quarter_end(year, quarter)
        return [u for u in self.units.values() if u.level in levels and u.active_on(day)]


def read_registry(units_csv: Path, mapping_csv: Path | None = None) -> Registry:
    with open(units_csv, newline="", encoding="utf-8") as fh:
        units = [
            OrgUnit(code=r["unit_code"].strip(), name=r["name"].strip(), level=r["level"].strip(),
                    unit_type=r.get("unit_type", "").strip(), parent=(r.get("parent_code") or "").strip() or None,
                    valid_from=_date(r.get("valid_from", "")), valid_to=_date(r.get("valid_to", "")))
            for r in csv.DictReader(fh)
        ]
    for u in units:
        if u.level not in LEVELS:
            raise ValueError(f"{units_csv}: unit {u.code} has unknown level {u.level!r}; expected one of {LEVELS}")
    mappings = []
    if mapping_csv is not None and mapping_csv.is_file():
        with open(mapping_csv, newline="", encoding="utf-8") as fh:
            mappings = [UnitMapping(r["old_code"].strip(), r["new_code"].strip(), Decimal(r["weight"]),
                                    dt.date.fromisoformat(r["effective_date"].strip()))
                        for r in csv.DictReader(fh)]
    return Registry(units, mappings)


_ADMIN_WORDS = ("uy ban nhan dan", "ubnd", "tinh", "thanh pho", "thi xa", "thi tran", "huyen", "quan", "xa", "phuong",
                "dac khu", "so", "ban", "nganh", "cua")


def _name_words(name: str) -> str:
    from .workbook.labels import fold

    words = " ".join(fold(name).replace(",", " ").split())
    for w in sorted(_ADMIN_WORDS, key=len, reverse=True):
        words = f" {words} ".replace(f" {w} ", " ").strip()
    return words


def _edit_distance(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def title_names_unit(title_unit: str | None, unit_name: str | None) -> bool | None:
    """Does the unit named in the workbook's title look like the unit whose folder it is in?

    Titles are typed by hand ("Ủy ban nhân dân xã Kim Phụng" for Xã Kim Phượng), so a letter or
    two of difference is a typo, not another unit. None when there is nothing to compare.
    """
    if not title_unit or not unit_name:
        return None
    typed, registered = _name_words(title_unit), _name_words(unit_name)
    if not typed or not registered:
        return None  # "UBND huyện" alone names no particular unit
    return typed == registered or registered in typed or _edit_distance(typed, registered) <= 2
