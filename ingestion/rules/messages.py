"""Vietnamese (or English) sentences for evaluations, from the templates in expectations/rules.yml.

Both engines' results go through ``render``, so a failure reads the same in
`cchc check`, in audit.dq_results and in the feedback report sent to the unit.
"""
from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from ..indicators import Catalog
from ..workbook.extract import FORM_NAMES_VI
from ..text.labels import label_key
from ..text.scope import label_scope
from ..text.values import format_vi
from .ruleset import RuleSet
from .model import Evaluation

_ROMAN = {1: "I", 2: "II", 3: "III", 4: "IV"}
# How a message names the level slice a figure is about (when its own label does not).
SCOPE_IN_MESSAGE_VI = {"department": "các sở, ngành", "district": "cấp huyện", "commune": "cấp xã",
                       "department_district": "cấp tỉnh và cấp huyện", "district_commune": "cấp huyện và cấp xã",
                       "department_commune": "cấp tỉnh và cấp xã"}
SCOPE_IN_MESSAGE_EN = {"department": "provincial departments", "district": "district level", "commune": "commune level",
                       "department_district": "provincial and district levels",
                       "district_commune": "district and commune levels",
                       "department_commune": "provincial and commune levels"}


def _strip_remarks(text: str) -> str:
    return re.sub(r"\s*\([^)]*\)", "", text).strip().rstrip(".")


def short_name(catalog: Catalog, code: str | None, lang: str = "vi") -> str:
    if not code or code not in catalog:
        return code or ""
    entry = catalog[code]
    return _strip_remarks(entry.name_en if lang == "en" and entry.name_en else entry.name_vi)


def period_vi(period: str | None, lang: str = "vi") -> str:
    """'2024-Q1' -> 'I/2024' (English: 'Q1 2024')."""
    if not period or "-Q" not in period:
        return period or ""
    year, quarter = period.split("-Q")
    return f"Q{quarter} {year}" if lang == "en" else f"{_ROMAN.get(int(quarter), quarter)}/{year}"


def where_vi(form: int | None, sheet: str | None, row: int | None, lang: str = "vi") -> str:
    if row is None:
        return ""
    if sheet and sheet.startswith("Bảng "):  # a Word table: rows are counted within the table
        return f"Table {sheet.split()[-1]}, row {row}" if lang == "en" else f"{sheet}, dòng {row}"
    if lang == "en":
        return f"Form {form}, row {row}" if form else f"Sheet “{sheet}”, row {row}"
    if form:
        return f"Biểu mẫu {form}, dòng {row}"
    return f"Trang “{sheet}”, dòng {row}"


def _num(value: Any, lang: str = "vi") -> str:
    if value is None:
        return "(empty)" if lang == "en" else "(trống)"
    d = Decimal(str(value))
    text = format_vi(d, 0) if d == d.to_integral_value() else format_vi(d, 2)
    if lang == "en":  # 1.234,5 -> 1,234.5
        text = text.replace(".", "\x00").replace(",", ".").replace("\x00", ",")
    return text


def _quote(sentence: str, limit: int = 180) -> str:
    sentence = " ".join(sentence.split()).lstrip("-+• ")
    return sentence if len(sentence) <= limit else sentence[:limit].rsplit(" ", 1)[0] + " …"


def scope_names(lang: str) -> dict[str, str]:
    return SCOPE_IN_MESSAGE_EN if lang == "en" else SCOPE_IN_MESSAGE_VI


def _fields(ev: Evaluation, rules: RuleSet, catalog: Catalog, unit_name: str | None, lang: str) -> dict[str, Any]:
    """The placeholders every kind's sentences may use, then the kind's own (ingestion/rules/kinds)."""
    from .kinds import kind_of  # the kind modules build on this module

    d = ev.detail
    en = lang == "en" and ev.indicator in catalog  # the label typed in the workbook is Vietnamese
    name = short_name(catalog, ev.indicator, lang) if en or not d.get("label") else _strip_remarks(d["label"])
    scope = d.get("scope")
    if scope in scope_names(lang) and (en or label_scope(label_key(name).full) != scope):
        name = f"{name} ({scope_names(lang)[scope]})"  # "Số hồ sơ đã giải quyết" of the "Cấp huyện" block
    fields: dict[str, Any] = {
        "where": where_vi(ev.form, ev.sheet, ev.row, lang),
        "name": name,
        "observed": _num(ev.observed, lang),
        "expected": _num(ev.expected, lang),
        "tolerance": _num(rules.settings["rate_tolerance_pp"], lang),
        "threshold": _num(rules.settings["zscore_threshold"], lang),
        "unit": unit_name or d.get("unit_name") or ev.unit_code or "",
        "period": period_vi(ev.period, lang),
        "label": d.get("label", ""),
    }
    inst = next((i for i in rules.instances if i.rule_id == ev.rule_id), None)
    return fields | kind_of(ev.kind).message_fields(ev, inst, catalog, lang)


def render(ev: Evaluation, rules: RuleSet, catalog: Catalog, unit_name: str | None = None, lang: str = "vi") -> str:
    """The message for a failed (or passed) evaluation: Vietnamese, or English with lang="en"."""
    fields = _fields(ev, rules, catalog, unit_name, lang)
    kind = rules.kinds[ev.kind]
    template = kind.get("message_en", kind["message_vi"]) if lang == "en" else kind["message_vi"]
    text = template.format(**fields)
    if not fields["where"]:
        text = text.lstrip(": ")
    return text


def expectation_vi(ev: Evaluation, rules: RuleSet, catalog: Catalog) -> str:
    """What the figures should satisfy, for feedback reports."""
    template = rules.kinds[ev.kind].get("expectation_vi", "")
    return template.format(**_fields(ev, rules, catalog, None, "vi"))


def form_title(form: int | None) -> str:
    return f"Biểu mẫu {form}. {FORM_NAMES_VI[form]}" if form in FORM_NAMES_VI else "Không rõ biểu mẫu"
