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
from .errors import SetupError

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
        found, stack, seen = [], list(self._children.get(code, [])), {code}
        while stack:
            child_code = stack.pop()
            if child_code in seen or child_code not in self.units:
                continue  # read_registry refuses cycles; a registry built by hand must not loop either
            seen.add(child_code)
            child = self.units[child_code]
            if child.level == level and child.active_on(on):
                found.append(child.code)
            stack.extend(self._children.get(child.code, []))
        return sorted(found)

    def expected(self, year: int, quarter: int, levels: tuple[str, ...] | list[str] = LEVELS) -> list[OrgUnit]:
        """Units that must report for a quarter: those that exist on its last day."""
        day = quarter_end(year, quarter)
        return [u for u in self.units.values() if u.level in levels and u.active_on(day)]


class RegistryError(SetupError):
    """The registry or the mapping cannot be used as written: one line naming the file, row and fix."""


def _csv_rows(path: Path, required: tuple[str, ...], columns: tuple[str, ...]) -> list[tuple[int, dict[str, str]]]:
    """(line number, row) for every data row; the header checked first."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:  # -sig: Excel's "CSV UTF-8" starts with a BOM
            reader = csv.DictReader(fh)
            header = [(h or "").strip() for h in reader.fieldnames or []]
            missing = [c for c in required if c not in header]
            if missing:
                raise RegistryError(f"{path}, dòng 1 (tiêu đề): thiếu cột {', '.join(missing)}; dòng tiêu đề cần các "
                                    f"cột {','.join(columns)}.")
            reader.fieldnames = header
            rows = []
            for row in reader:
                rows.append((reader.line_num, {k: (v or "").strip() for k, v in row.items() if k}))
            return rows
    except FileNotFoundError:
        raise RegistryError(f"Không tìm thấy tệp danh mục {path}: kiểm tra đường dẫn (CCHC_REGISTRY, "
                            "CCHC_UNIT_MAPPING hoặc thư mục _registry của thư mục nhận báo cáo).") from None
    except UnicodeDecodeError:
        raise RegistryError(f"{path}: không phải tệp CSV mã UTF-8; mở bằng Excel rồi lưu lại dạng “CSV UTF-8”.") from None
    except csv.Error as exc:
        raise RegistryError(f"{path}: không đọc được dạng CSV ({exc}); lưu lại dạng “CSV UTF-8”.") from None


def _row_date(path: Path, line: int, row: dict, column: str) -> dt.date | None:
    try:
        return _date(row.get(column, ""))
    except ValueError:
        raise RegistryError(f"{path}, dòng {line}: ngày {column} “{row.get(column)}” không đúng dạng NĂM-THÁNG-NGÀY "
                            "(ví dụ 2025-07-01).") from None


def _check_parents(path: Path, units: list[OrgUnit], lines: dict[str, int]) -> None:
    """No unit may be its own ancestor (the roll-ups would never end)."""
    parent = {u.code: u.parent for u in units}
    done: set[str] = set()
    for unit in units:
        chain, code = [], unit.code
        while code is not None and code in parent and code not in done:
            if code in chain:
                loop = chain[chain.index(code):] + [code]
                raise RegistryError(f"{path}, dòng {lines[loop[0]]}: cột parent_code tạo vòng lặp {' → '.join(loop)}; "
                                    "sửa parent_code để mỗi đơn vị thuộc về một đơn vị cấp trên thật.")
            chain.append(code)
            code = parent[code]
        done.update(chain)


def read_registry(units_csv: Path, mapping_csv: Path | None = None) -> Registry:
    """Read and check the registry and the mapping; RegistryError names the file, row and fix."""
    units, lines = [], {}
    for line, r in _csv_rows(units_csv, ("unit_code", "name", "level"), ORG_UNIT_COLUMNS):
        code = r.get("unit_code", "")
        if not code:
            raise RegistryError(f"{units_csv}, dòng {line}: thiếu mã đơn vị (cột unit_code); điền mã hoặc xóa dòng.")
        if code in lines:
            raise RegistryError(f"{units_csv}, dòng {line}: mã đơn vị “{code}” đã có ở dòng {lines[code]}; mỗi mã chỉ "
                                "khai một dòng — xóa hoặc sửa một trong hai dòng.")
        if r.get("level") not in LEVELS:
            raise RegistryError(f"{units_csv}, dòng {line}: cấp “{r.get('level')}” của đơn vị {code} không hợp lệ; "
                                f"cột level nhận một trong {', '.join(LEVELS)}.")
        if not r.get("name"):
            raise RegistryError(f"{units_csv}, dòng {line}: đơn vị {code} chưa có tên (cột name); điền tên đơn vị.")
        lines[code] = line
        units.append(OrgUnit(code=code, name=r["name"], level=r["level"], unit_type=r.get("unit_type", ""),
                             parent=r.get("parent_code") or None, valid_from=_row_date(units_csv, line, r, "valid_from"),
                             valid_to=_row_date(units_csv, line, r, "valid_to")))
    _check_parents(units_csv, units, lines)
    mappings, pairs = [], {}
    if mapping_csv is not None and mapping_csv.is_file():
        for line, r in _csv_rows(mapping_csv, MAPPING_COLUMNS, MAPPING_COLUMNS):
            old, new = r.get("old_code", ""), r.get("new_code", "")
            if not old or not new:
                raise RegistryError(f"{mapping_csv}, dòng {line}: thiếu old_code hoặc new_code; điền đủ hai mã hoặc "
                                    "xóa dòng.")
            if (old, new) in pairs:
                raise RegistryError(f"{mapping_csv}, dòng {line}: cặp {old} → {new} đã có ở dòng {pairs[(old, new)]}; "
                                    "mỗi cặp chỉ khai một dòng.")
            try:
                weight = Decimal(r.get("weight", ""))
            except ArithmeticError:
                raise RegistryError(f"{mapping_csv}, dòng {line}: trọng số weight “{r.get('weight')}” không phải là số "
                                    "(ví dụ 1 hoặc 0.5).") from None
            effective = _row_date(mapping_csv, line, r, "effective_date")
            if effective is None:
                raise RegistryError(f"{mapping_csv}, dòng {line}: thiếu ngày hiệu lực effective_date (ví dụ 2025-07-01).")
            pairs[(old, new)] = line
            mappings.append(UnitMapping(old, new, weight, effective))
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
