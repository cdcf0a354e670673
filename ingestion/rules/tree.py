"""Sums through the catalog's relation tree, shared by both engines (total_equals_parts, same_figure).

A missing figure is never 0. A part that is not reported is replaced by the sum of its own
parts when all of those can be had (recursively: "Số hồ sơ mới tiếp nhận" by online + in
person); a sum that cannot be completed is not evaluated. Two kinds of absence are not
missing figures, and count 0:

- a part that does not apply to the unit's level (the catalog's ``levels``: a commune has no
  district-level procedures);
- a level-specific part outside the slice being summed ("Số TTHC cấp tỉnh" under a total
  given for the district level of a provincial report).

Figures are looked up by (concept, rule scope) within a frame scope: the scope of the total
being checked, or of the pair of sides being compared.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from ..indicators import LEVEL_LETTERS, Catalog
from ..workbook.extract import Fact
from ..text.scope import SINGLE_LEVEL, UNIT, rule_scope
from .model import Submission

LEVELS = tuple(LEVEL_LETTERS)


def partner_scope(catalog: Catalog, code: str, frame: str, level: str | None) -> str | None:
    """Where `code` is looked up in a frame scope; None when it lies outside the frame's slice."""
    fixed = catalog[code].scope
    if fixed is None:
        return frame
    own = rule_scope(fixed, level)
    if frame != UNIT and own != frame:
        return None
    return own


def not_applicable(catalog: Catalog, code: str, level: str | None) -> bool:
    levels = catalog[code].levels
    return bool(levels) and level is not None and LEVEL_LETTERS[level] not in levels


@dataclass
class Completed:
    value: Decimal | None  # None: the sum cannot be completed
    used: list[tuple[str, Fact]]  # the reported figures it was made of, in catalog order


def complete(catalog: Catalog, s: Submission, code: str, frame: str) -> Completed:
    """The value of `code` in a frame: reported, else the sum of its parts, else 0 if absent by design."""
    where = partner_scope(catalog, code, frame, s.level)
    fact = s.by_key.get((catalog[code].concept, where)) if where is not None else None
    if fact is not None and fact.value is not None:
        return Completed(fact.value, [(code, fact)])
    if where is None or not_applicable(catalog, code, s.level):
        return Completed(Decimal(0), [])
    parts = catalog[code].parts
    if not parts:
        return Completed(None, [])
    return sum_of(catalog, s, parts, frame)


def sum_of(catalog: Catalog, s: Submission, codes, frame: str) -> Completed:
    total, used = Decimal(0), []
    for code in codes:
        part = complete(catalog, s, code, frame)
        if part.value is None:
            return Completed(None, [])
        total += part.value
        used += part.used
    return Completed(total, used)


def tree_codes(catalog: Catalog, codes) -> list[str]:
    """Every code a sum of `codes` may read, parents before their parts, without repeats."""
    out: list[str] = []

    def walk(code: str) -> None:
        if code not in out:
            out.append(code)
        for part in catalog[code].parts:
            walk(part)
    for code in codes:
        walk(code)
    return out


# -- the same semantics as SQL expressions over one pivot row per (file, frame scope) ----------------
# The pivot (built by the SQL engine) has, for each code c of the tree, "v_c" (its value in the
# frame, null when not reported) and "r_c" (its row); the frame columns are pv.rule_scope and
# pv.unit_level.

def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def sql_rule_scope(scope: str, level: str) -> str:
    """scope.rule_scope() in SQL."""
    singles = " or ".join(f"({level} = {_lit(lv)} and {scope} = {_lit(lv)})" for lv in SINGLE_LEVEL)
    return f"(case when {singles} then 'unit' else coalesce({scope}, 'unit') end)"


def sql_lookup_scope(catalog: Catalog, code: str, frame: str = "fr.rule_scope", level: str = "fr.unit_level") -> str:
    """partner_scope() in SQL: the rule scope `code` is read at, or null outside the frame's slice."""
    fixed = catalog[code].scope
    if fixed is None:
        return frame
    own = sql_rule_scope(_lit(fixed), level)
    return f"(case when {frame} = 'unit' or {own} = {frame} then {own} end)"


def _absent_by_design(catalog: Catalog, code: str, pv: str) -> str:
    conditions = []
    if catalog[code].scope is not None:
        conditions.append(f"{sql_lookup_scope(catalog, code, f'{pv}.rule_scope', f'{pv}.unit_level')} is null")
    levels = catalog[code].levels
    if levels:
        outside = [lv for lv in LEVELS if LEVEL_LETTERS[lv] not in levels]
        if outside:
            conditions.append(f"{pv}.unit_level in ({', '.join(_lit(lv) for lv in outside)})")
    return " or ".join(conditions) if conditions else "false"


def sql_value(catalog: Catalog, code: str, pv: str = "pv") -> str:
    parts = catalog[code].parts
    rest = "(" + " + ".join(sql_value(catalog, p, pv) for p in parts) + ")" if parts else "null::numeric"
    return f"coalesce({pv}.\"v_{code}\", case when {_absent_by_design(catalog, code, pv)} then 0 else {rest} end)"


def sql_sum(catalog: Catalog, codes, pv: str = "pv") -> str:
    return "(" + " + ".join(sql_value(catalog, c, pv) for c in codes) + ")"


def sql_rows(catalog: Catalog, code: str, pv: str = "pv") -> str:
    parts = catalog[code].parts
    rest = " || ".join(sql_rows(catalog, p, pv) for p in parts) if parts else "array[]::integer[]"
    return (f"(case when {pv}.\"v_{code}\" is not null then array[{pv}.\"r_{code}\"]::integer[] "
            f"when {_absent_by_design(catalog, code, pv)} then array[]::integer[] else {rest} end)")


def sql_used_codes(catalog: Catalog, code: str, pv: str = "pv") -> str:
    parts = catalog[code].parts
    rest = " || ".join(sql_used_codes(catalog, p, pv) for p in parts) if parts else "array[]::text[]"
    return (f"(case when {pv}.\"v_{code}\" is not null then array[{_lit(code)}]::text[] "
            f"when {_absent_by_design(catalog, code, pv)} then array[]::text[] else {rest} end)")


def sql_parts(catalog: Catalog, code: str, pv: str = "pv") -> str:
    parts = catalog[code].parts
    rest = " || ".join(sql_parts(catalog, p, pv) for p in parts) if parts else "jsonb_build_array()"
    return (f"(case when {pv}.\"v_{code}\" is not null then jsonb_build_array(jsonb_build_array({_lit(code)}, "
            f"{pv}.\"v_{code}\")) when {_absent_by_design(catalog, code, pv)} then jsonb_build_array() else {rest} end)")


def sql_pivot_columns(catalog: Catalog, codes, keyed: str = "k") -> list[str]:
    """The "v_c", "r_c", "s_c" and "c_c" (value, row, sheet, column) aggregate columns of a pivot over `keyed` facts grouped by frame `fr`."""
    cols = []
    for code in codes:
        cond = (f"{keyed}.concept_code = {_lit(catalog[code].concept)} "
                f"and {keyed}.rule_scope = {sql_lookup_scope(catalog, code)} and {keyed}.value is not null")
        cols.append(f"max({keyed}.value) filter (where {cond}) as \"v_{code}\"")
        cols.append(f"max({keyed}.row_number) filter (where {cond}) as \"r_{code}\"")
        cols.append(f"max({keyed}.sheet) filter (where {cond}) as \"s_{code}\"")
        cols.append(f"max({keyed}.col_number) filter (where {cond}) as \"c_{code}\"")
    return cols
