"""Layouts and typing habits nobody hand-picked: generated workbooks read back against the generator's truth."""
from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from cchc_tools.demo.generator import generate
from ingestion.indicators import load_catalog
from ingestion.workbook.read import read_workbook

SEEDS = (3, 17)
ENGINES = ("calamine", "openpyxl")


@pytest.fixture(scope="module", params=SEEDS, ids=lambda s: f"seed{s}")
def inbox(request, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp(f"gen{request.param}") / "inbox"
    generate(out, units=60, quarters=3, error_rate=0.0, seed=request.param, end=(2026, 3), truth=True)
    return out


def truths(inbox: Path) -> list[dict]:
    files = sorted((inbox / "_truth").rglob("*.json"))
    return [json.loads(p.read_text(encoding="utf-8")) for p in files]


def test_every_workbook_has_a_truth_file(inbox):
    workbooks = {p.relative_to(inbox).as_posix() for p in inbox.rglob("*.xlsx")}
    assert len(workbooks) >= 60
    assert {t["path"] for t in truths(inbox)} == workbooks


@pytest.mark.parametrize("engine", ENGINES)
def test_values_match_truth(inbox, engine):
    catalog = load_catalog()
    problems = []
    for truth in truths(inbox):
        ex = read_workbook(inbox / truth["path"], engine)
        if ex.errors:
            problems.append((truth["path"], "errors", [e.message for e in ex.errors][:3]))
        found: dict[str, list] = {}
        for f in ex.facts:
            if f.indicator:  # a province's per-level blocks: the truth names the scope of generic rows
                scoped = f.scope != "unit" and catalog[f.indicator].scope is None
                found.setdefault(f"{f.indicator}@{f.scope}" if scoped else f.indicator, []).append(f.value)
        for code, expected in truth["facts"].items():
            want = None if expected is None else Decimal(expected)
            if code not in found:
                problems.append((truth["path"], code, "not found"))
            elif found[code] != [want]:
                problems.append((truth["path"], code, expected, [str(v) for v in found[code]]))
        extra = sorted(set(found) - set(truth["facts"]))
        if extra:
            problems.append((truth["path"], "matched outside the truth", extra))
    assert problems == []


def test_generated_set_covers_the_variety(inbox):
    habits = [t["habits"] for t in truths(inbox)]
    assert {h["layout"] for h in habits} >= {"sheet_per_form", "stacked", "single_table"}
    assert {h["two_row_header"] for h in habits} == {True, False}
    assert {h["typing"] for h in habits} >= {"numbers", "text"}
    assert any(h["percent_cells"] for h in habits)
    assert any(h["legend_spill"] for h in habits)
    assert any(h["col_offset"] for h in habits)
    # figures a careless reader would turn into zeros are really there: not-reported values
    assert any(v is None for t in truths(inbox) for v in t["facts"].values())
    # provinces give their dossiers per level too (communes only: districts were abolished in 2025)
    assert any(code.endswith("@commune") for t in truths(inbox) for code in t["facts"])
