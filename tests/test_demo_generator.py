"""The generator's promise: every injected fault is found with exactly the listed rules, nothing
else is flagged, every broken file is rejected for the stated cause, and the country looks real."""
from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path

import pytest

from ingestion import config
from ingestion.check import check_files
from cchc_tools.demo.generator import DEMO_SEED, DEMO_UNITS, generate
from cchc_tools.demo.hierarchy import build_country
from ingestion.registry import read_registry


@pytest.fixture(scope="module")
def country(tmp_path_factory):
    out = tmp_path_factory.mktemp("gen") / "inbox"
    manifest = generate(out, units=60, quarters=6, error_rate=0.25, seed=31, end=(2026, 2))
    return out, manifest


def test_every_injected_fault_is_found_and_nothing_else(country):
    out, manifest = country
    files = sorted(p for p in out.rglob("*.xlsx") if "_registry" not in p.parts)
    registry = read_registry(out / "_registry" / "org_units.csv", out / "_registry" / "unit_mapping.csv")
    result = check_files(files, registry=registry, completeness=True)
    injected = {i["path"]: i for i in manifest["injected"]}
    assert len(injected) > 40
    for f in result.files:
        rel = Path(f.path).relative_to(out).as_posix()
        fault = injected.get(rel)
        if fault and fault["reject_code"]:
            assert f.status == "unreadable", rel
            continue
        assert f.errors == [], rel
        flagged = sorted({v["rule"] for v in f.violations if v["severity"] != "info"})
        assert flagged == sorted(fault["rules"] if fault else []), (rel, fault and fault["kind"])
        assert not [v for v in f.violations if v["severity"] == "info"], rel  # every label matched the catalog
    assert result.completeness == []  # a broken file still counts as sent


def test_rejections_name_the_cause(country):
    out, manifest = country
    bad = [i for i in manifest["injected"] if i["reject_code"]]
    assert len({i["kind"] for i in bad}) >= 5
    from ingestion.workbook.package import WorkbookError
    from ingestion.workbook.read import read_workbook

    for fault in bad:
        try:
            ex = read_workbook(out / fault["path"])
        except WorkbookError as exc:
            assert exc.code == fault["reject_code"], fault
        else:
            assert fault["reject_code"] in {i.code for i in ex.errors}, fault


def test_country_has_the_shape_of_the_2025_reform():
    country = build_country(4000, seed=1)
    before = Counter(u.level for u in country.units if u.valid_to is not None or u.valid_from is None
                     if u.active_on(__import__("datetime").date(2025, 6, 30)))
    after = Counter(u.level for u in country.units if u.active_on(__import__("datetime").date(2025, 7, 1)))
    assert after["province"] == 34 and before["province"] == 63
    assert before["district"] > 0 and after["district"] == 0
    assert 3300 <= after["commune"] <= 3500 and before["commune"] > 2.5 * after["commune"]
    assert 3900 <= sum(after.values()) <= 4100
    weights = {}
    for old, _new, weight, _ in country.mappings:
        weights[old] = weights.get(old, 0) + float(weight)
    assert all(abs(w - 1) < 1e-9 for w in weights.values())  # counts roll up exactly


def test_shipped_demo_registry_is_the_generators(tmp_path):
    generate(tmp_path / "demo", units=DEMO_UNITS, quarters=1, error_rate=0, seed=DEMO_SEED, end=(2026, 3))
    for name in ("org_units.csv", "unit_mapping.csv"):
        shipped = list(csv.reader(open(config.DEMO_DIR / "registry" / name, encoding="utf-8")))
        made = list(csv.reader(open(tmp_path / "demo" / "_registry" / name, encoding="utf-8")))
        assert shipped == made, name


def test_generation_is_deterministic(tmp_path):
    a = generate(tmp_path / "a", units=15, quarters=2, error_rate=0.3, seed=5, end=(2026, 1))
    b = generate(tmp_path / "b", units=15, quarters=2, error_rate=0.3, seed=5, end=(2026, 1))
    assert a == b
    for p in (tmp_path / "a").rglob("*.xlsx"):
        assert p.read_bytes() == (tmp_path / "b" / p.relative_to(tmp_path / "a")).read_bytes()
    assert json.loads((tmp_path / "a" / "_manifest.json").read_text())["files"] == a["files"]
