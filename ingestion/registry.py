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
import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from .domain import LEVEL_LETTERS, LEVELS, quarter_end, valid_on
from .errors import SetupError

ORG_UNIT_COLUMNS = ("unit_code", "name", "level", "unit_type", "parent_code", "valid_from", "valid_to")
MAPPING_COLUMNS = ("old_code", "new_code", "weight", "effective_date")


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
        return valid_on(self.valid_from, self.valid_to, day)

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


# Words that say what kind of unit the next words name ("xã Kim Phượng", "phường 7", "Sở Tư pháp"),
# matched with their diacritics so "xã Quan Sơn" keeps "Quan" in its name; their folded forms are
# recognised only where a name starts (titles typed without diacritics: "Xa Kim Phuong").
_UNIT_TYPES = {"thành phố": "thanh pho", "tp": "thanh pho", "thị xã": "thi xa", "tx": "thi xa",
               "thị trấn": "thi tran", "đặc khu": "dac khu", "tỉnh": "tinh", "huyện": "huyen", "quận": "quan",
               "xã": "xa", "phường": "phuong", "sở": "so", "ban": "ban", "ngành": "nganh"}
_FOLDED_TYPES = {"thanh pho", "thi xa", "thi tran", "dac khu", "tinh", "huyen", "quan", "xa", "phuong"}
_COMMITTEE = (("uy", "ban", "nhan", "dan"), ("hoi", "dong", "nhan", "dan"), ("ubnd",), ("hdnd",))
_SEPARATORS = {"cua"}  # "… của UBND xã X"


def _name_segments(name: str) -> list[tuple[str | None, str]]:
    """'UBND phường 07, quận 3' -> [('phuong', '7'), ('quan', '3')]: unit type and name, folded.

    Names keep every word and every number (leading zeros aside); only diacritics, case,
    punctuation and spacing are dropped, and spacing is dropped when names are compared.
    """
    import unicodedata

    from .text.labels import fold

    words = re.sub(r"[^\w]+", " ", unicodedata.normalize("NFC", name).lower()).split()
    folded = [fold(w) for w in words]
    segments: list[list] = [[None, []]]
    i = 0
    while i < len(words):
        committee = next((c for c in _COMMITTEE if tuple(folded[i:i + len(c)]) == c), None)
        if committee:
            i += len(committee)
            continue
        two, one = " ".join(words[i:i + 2]), words[i]
        if two in _UNIT_TYPES or one in _UNIT_TYPES:
            kind = _UNIT_TYPES[two] if two in _UNIT_TYPES else _UNIT_TYPES[one]
            segments.append([kind, []])
            i += 2 if two in _UNIT_TYPES else 1
            continue
        if folded[i] in _SEPARATORS:
            segments.append([None, []])
            i += 1
            continue
        current = segments[-1]
        if current[0] is None and not current[1]:  # a type typed without diacritics where a name starts
            two_f, one_f = " ".join(folded[i:i + 2]), folded[i]
            if two_f in _FOLDED_TYPES or (one_f in _FOLDED_TYPES and i + 1 < len(words)):
                current[0] = two_f if two_f in _FOLDED_TYPES else one_f
                i += 2 if two_f in _FOLDED_TYPES else 1
                continue
        current[1].append(str(int(folded[i])) if folded[i].isdigit() else folded[i])
        i += 1
    return [(kind, " ".join(parts)) for kind, parts in segments if parts]


def title_names_unit(title_unit: str | None, unit_name: str | None) -> bool | None:
    """Does the unit named in the workbook's title name the unit whose folder it is in?

    Names and numbers must be the same after normalisation: diacritics, case, punctuation and
    spacing may differ ("Xa Kim Phuong", "Tam  Quan Bắc", "phường 07"), nothing else —
    "UBND Phường 7" is not Phường 1, "xã An Bình" is not xã An Ninh. The title may name more
    than the unit ("UBND xã Kim Phượng, huyện Định Hóa"). None when there is nothing to compare.
    """
    if not title_unit or not unit_name:
        return None
    typed, registered = _name_segments(title_unit), _name_segments(unit_name)
    if not typed or not registered:
        return None  # "UBND huyện" alone names no particular unit
    kind, name = registered[0]
    compact = name.replace(" ", "")
    return any(name_typed.replace(" ", "") == compact and (kind is None or kind_typed is None or kind_typed == kind)
               for kind_typed, name_typed in typed)
