"""What both rule engines consume (submissions of figures) and produce (evaluations)."""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from ..catalog import LEVEL_LETTERS, Catalog
from ..workbook.extract import Fact

LEVEL_RANK = {"commune": 0, "district": 1, "province": 2}  # departments stand beside, not above
LETTER_LEVEL = {"p": "province", "s": "department", "d": "district", "c": "commune"}

EXPECTED_DECIMALS = Decimal("0.0001")


def round_expected(value: Decimal) -> Decimal:
    """Both engines round computed expectations the same way (half away from zero, 4 decimals)."""
    return value.quantize(EXPECTED_DECIMALS, rounding=ROUND_HALF_UP)


@dataclass
class Submission:
    key: str  # the file path offline, the file_id in the warehouse
    unit_code: str | None
    level: str | None  # province | department | district | commune
    year: int | None
    quarter: int | None
    facts: list[Fact]
    title_period: tuple[int, int] | None = None
    title_unit: str | None = None
    title_unit_matches: bool | None = None  # registry.title_names_unit, computed once where the file is read
    pending: bool = True  # being evaluated now
    held: bool = False  # an earlier submission held back by the gate
    order: int = 0  # later submissions of a unit-quarter supersede earlier ones
    content_hash: str | None = None
    path: str | None = None
    source_format: str = "xlsx"  # xlsx | docx (see ingestion/pairing.py)
    narrative: list = field(default_factory=list)  # NarrativeFigure of a Word report

    by_indicator: dict[str, Fact] = field(default_factory=dict, repr=False)
    own: dict[str, Fact] = field(default_factory=dict, repr=False)

    def index(self, catalog: Catalog) -> "Submission":
        """Facts by indicator, and the unit's own figures (a commune's 'cấp xã' rows are its own)."""
        letter = LEVEL_LETTERS.get(self.level or "")
        self.by_indicator = {f.indicator: f for f in self.facts if f.indicator}
        self.own = {}
        for code, fact in self.by_indicator.items():
            ind = catalog[code]
            if ind.canonical is None:
                self.own[code] = fact
        for code, fact in self.by_indicator.items():
            ind = catalog[code]
            if ind.canonical and ind.authority == letter and ind.canonical not in self.own:
                self.own[ind.canonical] = fact
        return self

    @property
    def period(self) -> str | None:
        return f"{self.year}-Q{self.quarter}" if self.year else None


@dataclass(frozen=True)
class Evaluation:
    rule_id: str
    kind: str
    severity: str
    status: str  # pass | fail
    submission: str | None
    unit_code: str | None
    year: int | None
    quarter: int | None
    indicator: str | None = None
    sheet: str | None = None
    row: int | None = None  # the checked figure's row
    rows: tuple[int, ...] = ()  # the checked figure first, then the figures it was checked against
    form: int | None = None
    observed: Decimal | None = None
    expected: Decimal | None = None
    details: tuple[tuple[str, Any], ...] = ()

    @property
    def detail(self) -> dict[str, Any]:
        return dict(self.details)

    @property
    def period(self) -> str | None:
        return f"{self.year}-Q{self.quarter}" if self.year else None
