"""`cchc template`: blank official workbooks that read back cleanly and guard their inputs."""
from __future__ import annotations

import openpyxl
import pytest

from ingestion.indicators import LEVEL_LETTERS, load_catalog
from ingestion.cli import main
from ingestion.workbook.writer import workbook_bytes
from ingestion.template import template_sheets
from ingestion.workbook.read import read_workbook, read_workbook_bytes


@pytest.mark.parametrize("level", ["province", "district", "commune"])
def test_template_reads_back_with_every_indicator_of_its_level(level, tmp_path):
    path = tmp_path / f"{level}.xlsx"
    assert main(["template", "--level", level, "-o", str(path)]) == 0
    catalog = load_catalog()
    wanted = {i.code for i in catalog if LEVEL_LETTERS[level] in i.levels and i.kind != "heading"}
    for engine in ("calamine", "openpyxl"):
        ex = read_workbook(path, engine)
        got = {f.indicator for f in ex.facts}
        assert None not in got  # no row the catalog does not know
        assert got == wanted
        assert all(f.value is None for f in ex.facts) and ex.errors == []


def test_figure_cells_are_validated_and_coded_answers_are_drop_downs(tmp_path):
    path = tmp_path / "commune.xlsx"
    main(["template", "--level", "commune", "-o", str(path)])
    wb = openpyxl.load_workbook(path)
    validations = [v for ws in wb.worksheets for v in ws.data_validations.dataValidation]
    kinds = {v.type for v in validations}
    assert kinds == {"whole", "decimal", "list"}
    percent = [v for v in validations if v.type == "decimal" and v.operator == "between"]
    assert percent and all((v.formula1, v.formula2) == ("0", "100") for v in percent)
    survey = next(v for v in validations if v.type == "list" and "Phát phiếu = 1" in v.formula1)
    assert survey.formula1 == '"Trực tuyến = 0,Phát phiếu = 1,Kết hợp = 2"'


def test_a_unit_filling_the_template_with_drop_down_answers_is_read_exactly():
    sheets = template_sheets("district")
    filled = {"Hình thức khảo sát": "Phát phiếu = 1", "Tổng số biên chế được giao trong năm": 67,
              "Tổng số biên chế có mặt tại thời điểm báo cáo": 62}
    for sheet in sheets:
        for row in sheet.rows:
            if len(row) > 3 and getattr(row[1], "value", None) in filled:
                row[3].value = filled[row[1].value]
    ex = read_workbook_bytes(workbook_bytes(sheets))
    values = {f.indicator: f.value for f in ex.facts if f.value is not None}
    assert values == {"dir_survey_method": 1, "org_cs_quota": 67, "org_cs_present": 62}
