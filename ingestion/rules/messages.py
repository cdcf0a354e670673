"""Vietnamese sentences for evaluations, from the templates in expectations/rules.yml.

Both engines' results go through ``render``, so a failure reads the same in
`cchc check`, in audit.dq_results and in the feedback report sent to the unit.
"""
from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from ..catalog import Catalog
from ..workbook.extract import FORM_NAMES_VI
from ..workbook.labels import label_key
from ..workbook.scope import label_scope
from ..workbook.values import format_vi
from .catalog import RuleSet
from .model import Evaluation

_ROMAN = {1: "I", 2: "II", 3: "III", 4: "IV"}
# How a message names the level slice a figure is about (when its own label does not).
SCOPE_IN_MESSAGE_VI = {"department": "các sở, ngành", "district": "cấp huyện", "commune": "cấp xã"}


def _strip_remarks(text: str) -> str:
    return re.sub(r"\s*\([^)]*\)", "", text).strip().rstrip(".")


def short_name(catalog: Catalog, code: str | None) -> str:
    if not code or code not in catalog:
        return code or ""
    return _strip_remarks(catalog[code].name_vi)


def period_vi(period: str | None) -> str:
    """'2024-Q1' -> 'I/2024'."""
    if not period or "-Q" not in period:
        return period or ""
    year, quarter = period.split("-Q")
    return f"{_ROMAN.get(int(quarter), quarter)}/{year}"


def where_vi(form: int | None, sheet: str | None, row: int | None) -> str:
    if row is None:
        return ""
    if form:
        return f"Biểu mẫu {form}, dòng {row}"
    return f"Trang “{sheet}”, dòng {row}"


def _num(value: Any) -> str:
    if value is None:
        return "(trống)"
    d = Decimal(str(value))
    return format_vi(d, 0) if d == d.to_integral_value() else format_vi(d, 2)


def render(ev: Evaluation, rules: RuleSet, catalog: Catalog, unit_name: str | None = None) -> str:
    """The Vietnamese message for a failed (or passed) evaluation."""
    d = ev.detail
    name = _strip_remarks(d["label"]) if d.get("label") else short_name(catalog, ev.indicator)
    scope = d.get("scope")
    if scope in SCOPE_IN_MESSAGE_VI and label_scope(label_key(name).full) != scope:
        name = f"{name} ({SCOPE_IN_MESSAGE_VI[scope]})"  # "Số hồ sơ đã giải quyết" of the "Cấp huyện" block
    fields: dict[str, Any] = {
        "where": where_vi(ev.form, ev.sheet, ev.row),
        "name": name,
        "observed": _num(ev.observed),
        "expected": _num(ev.expected),
        "tolerance": _num(rules.settings.get("rate_tolerance_pp", 1)),
        "threshold": _num(rules.settings.get("zscore_threshold", 3.5)),
        "numerator": _num(d.get("numerator")),
        "denominator": _num(d.get("denominator")),
        "parts": ", ".join(f"{short_name(catalog, c)} {_num(v)}" for c, v in d.get("parts", ())),
        "levels": ", ".join(f"{SCOPE_IN_MESSAGE_VI.get(sc, sc)} {_num(v)}" for sc, v in d.get("levels", ())),
        "whole_name": short_name(catalog, d.get("whole")),
        "legend": "",
        "left_names": "",
        "right_names": "",
        "previous_period": period_vi(d.get("previous_period")),
        "z": _num(d.get("z")),
        "children": d.get("children", ""),
        "missing": "; ".join(short_name(catalog, c) for c in d.get("missing", ())),
        "unit": unit_name or d.get("unit_name") or ev.unit_code or "",
        "period": period_vi(ev.period),
        "observed_period": period_vi(d.get("observed_period")),
        "observed_unit": d.get("observed_unit", ""),
        "expected_period": period_vi(d.get("expected_period")),
        "label": d.get("label", ""),
    }
    inst = next((i for i in rules.instances if i.rule_id == ev.rule_id), None)
    if inst is not None:
        if inst.codes and ev.indicator in catalog:
            legend = dict(catalog[ev.indicator].legend)
            fields["legend"] = ", ".join(f"{c} = {legend.get(c, '')}" for c in inst.codes)
        if inst.left:
            fields["left_names"] = " + ".join(short_name(catalog, c) for c in inst.left)
            fields["right_names"] = " + ".join(short_name(catalog, c) for c in inst.right)
    template = rules.kinds[ev.kind]["message_vi"]
    text = template.format(**fields)
    if not fields["where"]:
        text = text.lstrip(": ")
    return text


def expectation_vi(ev: Evaluation, rules: RuleSet, catalog: Catalog) -> str:
    """What the figures should satisfy, for feedback reports."""
    template = rules.kinds[ev.kind].get("expectation_vi", "")
    inst = next((i for i in rules.instances if i.rule_id == ev.rule_id), None)
    fields = {"tolerance": _num(rules.settings.get("rate_tolerance_pp", 1)),
              "threshold": _num(rules.settings.get("zscore_threshold", 3.5)),
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
