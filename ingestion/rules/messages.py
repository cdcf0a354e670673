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
SCOPE_IN_MESSAGE_VI = {"department": "các sở, ngành", "district": "cấp huyện", "commune": "cấp xã"}
SCOPE_IN_MESSAGE_EN = {"department": "provincial departments", "district": "district level", "commune": "commune level"}


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


def render(ev: Evaluation, rules: RuleSet, catalog: Catalog, unit_name: str | None = None, lang: str = "vi") -> str:
    """The message for a failed (or passed) evaluation: Vietnamese, or English with lang="en"."""
    d = ev.detail
    en = lang == "en" and ev.indicator in catalog  # the label typed in the workbook is Vietnamese
    name = short_name(catalog, ev.indicator, lang) if en or not d.get("label") else _strip_remarks(d["label"])
    scope = d.get("scope")
    scope_names = SCOPE_IN_MESSAGE_EN if lang == "en" else SCOPE_IN_MESSAGE_VI
    if scope in scope_names and (en or label_scope(label_key(name).full) != scope):
        name = f"{name} ({scope_names[scope]})"  # "Số hồ sơ đã giải quyết" of the "Cấp huyện" block
    fields: dict[str, Any] = {
        "where": where_vi(ev.form, ev.sheet, ev.row, lang),
        "name": name,
        "observed": _num(ev.observed, lang),
        "expected": _num(ev.expected, lang),
        "tolerance": _num(rules.settings["rate_tolerance_pp"], lang),
        "threshold": _num(rules.settings["zscore_threshold"], lang),
        "numerator": _num(d.get("numerator"), lang),
        "denominator": _num(d.get("denominator"), lang),
        "parts": ", ".join(f"{short_name(catalog, c, lang)} {_num(v, lang)}" for c, v in d.get("parts", ())),
        "levels": ", ".join(f"{scope_names.get(sc, sc)} {_num(v, lang)}" for sc, v in d.get("levels", ())),
        "whole_name": short_name(catalog, d.get("whole"), lang),
        "legend": "",
        "left_names": "",
        "right_names": "",
        "previous_period": period_vi(d.get("previous_period"), lang),
        "z": _num(d.get("z"), lang),
        "children": d.get("children", ""),
        "missing": "; ".join(short_name(catalog, c, lang) for c in d.get("missing", ())),
        "unit": unit_name or d.get("unit_name") or ev.unit_code or "",
        "period": period_vi(ev.period, lang),
        "observed_period": period_vi(d.get("observed_period"), lang),
        "observed_unit": d.get("observed_unit", ""),
        "expected_period": period_vi(d.get("expected_period"), lang),
        "label": d.get("label", ""),
        # files and versions (ingestion/pipeline/versions.py)
        "n_files": len(d.get("files", ())),
        "files": ", ".join(f"“{name}”" for name in d.get("files", ())),
        "in_use": d.get("in_use", ""),
        "other_file": d.get("other_file", ""),
        "other_unit": d.get("other_unit", ""),
        "earlier_version": d.get("earlier_version", ""),
        "earlier_file": d.get("earlier_file", ""),
        "current_version": d.get("current_version", ""),
        "current_file": d.get("current_file", ""),
        # a Word report's narrative and its spreadsheet (ingestion/document/, ingestion/pairing.py)
        "paragraph": d.get("paragraph", ""),
        "sentence": _quote(d.get("sentence", "")),
        "file_name": d.get("file_name", ""),
        "other_where": where_vi(d.get("other_form"), d.get("other_sheet"), d.get("other_row"), lang),
    }
    if d.get("narrative_indicator"):
        name = short_name(catalog, d["narrative_indicator"], lang)
        fields["name"] = name[:1].lower() + name[1:]
    inst = next((i for i in rules.instances if i.rule_id == ev.rule_id), None)
    if inst is not None:
        if inst.codes and ev.indicator in catalog:
            legend = dict(catalog[ev.indicator].legend)
            fields["legend"] = ", ".join(f"{c} = {legend.get(c, '')}" for c in inst.codes)
        if inst.left:
            fields["left_names"] = " + ".join(short_name(catalog, c, lang) for c in inst.left)
            fields["right_names"] = " + ".join(short_name(catalog, c, lang) for c in inst.right)
    kind = rules.kinds[ev.kind]
    template = kind.get("message_en", kind["message_vi"]) if lang == "en" else kind["message_vi"]
    text = template.format(**fields)
    if not fields["where"]:
        text = text.lstrip(": ")
    return text


def expectation_vi(ev: Evaluation, rules: RuleSet, catalog: Catalog) -> str:
    """What the figures should satisfy, for feedback reports."""
    template = rules.kinds[ev.kind].get("expectation_vi", "")
    inst = next((i for i in rules.instances if i.rule_id == ev.rule_id), None)
    fields = {"tolerance": _num(rules.settings["rate_tolerance_pp"]),
              "threshold": _num(rules.settings["zscore_threshold"]),
              "legend": "", "left_names": "", "right_names": "", "children": ev.detail.get("children", ""),
              "expected": _num(ev.expected)}
    if inst is not None and inst.codes and ev.indicator in catalog:
        legend = dict(catalog[ev.indicator].legend)
        fields["legend"] = ", ".join(f"{c} = {legend.get(c, '')}" for c in inst.codes)
    if inst is not None and inst.left:
        fields["left_names"] = " + ".join(short_name(catalog, c) for c in inst.left)
        fields["right_names"] = " + ".join(short_name(catalog, c) for c in inst.right)
    return template.format(**fields)


def form_title(form: int | None) -> str:
    return f"Biểu mẫu {form}. {FORM_NAMES_VI[form]}" if form in FORM_NAMES_VI else "Không rõ biểu mẫu"
