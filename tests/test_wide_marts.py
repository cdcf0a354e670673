"""The wide marts' columns come from one mapping (seeds/mart_columns.csv) through one macro
(macros/wide_marts.sql): their contracts, which BI reads, must say exactly what the mapping and
the indicator catalog make of each column."""
from __future__ import annotations

import csv
import re

import pytest
import yaml

from ingestion import config

SEEDS = config.DBT_PROJECT_DIR / "seeds"
MARTS = config.DBT_PROJECT_DIR / "models" / "marts"
KEYS = ["unit_code", "year", "quarter", "period_key"]
PROVENANCE = ["file_id", "gate_seq"]
TYPE_OF = {"own": "numeric", "recomputed_rate": "numeric", "above_whole": "boolean"}


def _csv(name: str) -> list[dict[str, str]]:
    with open(SEEDS / name, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


MAPPING = _csv("mart_columns.csv")
CATALOG = {row["code"]: row for row in _csv("indicator_catalog.csv")}
WIDE_MARTS = sorted({row["mart"] for row in MAPPING})


def _contract(mart: str) -> list[tuple[str, str]]:
    spec = yaml.safe_load((MARTS / "_marts__models.yml").read_text(encoding="utf-8"))
    model = next(m for m in spec["models"] if m["name"] == mart)
    assert model["config"]["contract"]["enforced"] is True
    return [(c["name"], c["data_type"]) for c in model["columns"]]


def _mapped(mart: str) -> list[dict[str, str]]:
    rows = [row for row in MAPPING if row["mart"] == mart]
    positions = [int(row["position"]) for row in rows]
    assert positions == sorted(set(positions)), f"{mart}: positions must be distinct and in file order"
    return rows


def test_the_three_wide_marts_are_mapped():
    assert WIDE_MARTS == ["fct_finance", "fct_staffing", "fct_tthc_processing"]


@pytest.mark.parametrize("mart", WIDE_MARTS)
def test_contract_lists_exactly_the_mapped_columns_with_their_types(mart):
    expected = ([(c, "text" if c in ("unit_code", "period_key") else "integer") for c in KEYS]
                + [(row["column_name"], TYPE_OF[row["derivation"]]) for row in _mapped(mart)]
                + [(c, "bigint") for c in PROVENANCE])
    assert _contract(mart) == expected


@pytest.mark.parametrize("mart", WIDE_MARTS)
def test_every_mapped_indicator_is_in_the_catalog_with_what_its_derivation_needs(mart):
    for row in _mapped(mart):
        codes = row["indicator_code"].split("|")
        assert all(code in CATALOG for code in codes), row
        ind = CATALOG[codes[0]]
        if row["derivation"] == "recomputed_rate":
            assert ind["kind"] == "percent" and ind["numerator"] in CATALOG and ind["denominator"] in CATALOG, row
        elif row["derivation"] == "above_whole":
            assert len(codes) == 1 and ind["whole"] in CATALOG, row


@pytest.mark.parametrize("mart", WIDE_MARTS)
def test_every_rate_with_a_catalog_fraction_is_recomputed_beside_the_reported_one(mart):
    rows = _mapped(mart)
    recomputed = {row["indicator_code"] for row in rows if row["derivation"] == "recomputed_rate"}
    for row in rows:
        ind = CATALOG[row["indicator_code"].split("|")[0]]
        if row["derivation"] == "own" and ind["kind"] == "percent" and ind["numerator"]:
            assert row["indicator_code"] in recomputed, f"{mart}.{row['column_name']} is a rate never recomputed"


@pytest.mark.parametrize("mart", WIDE_MARTS)
def test_the_model_is_the_pivot_macro_over_its_own_mapping(mart):
    sql = (MARTS / f"{mart}.sql").read_text(encoding="utf-8")
    assert re.findall(r"wide_mart\('(\w+)'\)", sql) == [mart]
    assert "own_value(" not in sql and "max(value)" not in sql  # no column written by hand beside the mapping
