"""What both rule engines consume (submissions of figures) and produce (evaluations)."""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from ..domain import LETTER_LEVEL, LEVEL_LETTERS, LEVEL_RANK, RULE_DECIMALS  # noqa: F401  (LETTER_LEVEL, LEVEL_RANK: kinds/levels_add_up.py)
from ..indicators import Catalog
from ..workbook.extract import Fact
from ..text.scope import OWN_SCOPE, UNIT, rule_scope

EXPECTED_DECIMALS = Decimal(1).scaleb(-RULE_DECIMALS)


def round_expected(value: Decimal) -> Decimal:
    """Both engines round computed expectations the same way (half away from zero, RULE_DECIMALS)."""
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

    by_key: dict[tuple[str, str], Fact] = field(default_factory=dict, repr=False)
    own: dict[str, Fact] = field(default_factory=dict, repr=False)

    def index(self, catalog: Catalog) -> "Submission":
        """Facts by (concept, rule scope), and the unit's own figures.

        Rules compare figures of one scope: a level variant ("..._district") is its concept's
        figure for that level, a generic row in a "Cấp huyện" block is too. In a commune's or a
        department's report the unit's own level is the whole unit (scope.rule_scope); where a
        generic row and a level variant then meet, the generic row wins, as for own figures.

        Own figures (history rules, marts): the unit-scope figure of a concept; else the figure
        of the unit's own level (a district's "cấp huyện" rows, a province's "cấp tỉnh" ones);
        a level-specific indicator without a concept of its own ("Số TTHC cấp huyện") is always own.
        """
        letter = LEVEL_LETTERS.get(self.level or "")
        self.by_key = {}
        for f in self.facts:
            if not f.indicator:
                continue
            key = (catalog[f.indicator].concept, rule_scope(f.scope, self.level))
            held = self.by_key.get(key)
            if held is None or (f.scope == UNIT and held.scope != UNIT):
                self.by_key[key] = f
        unit_codes = {f.indicator for f in self.facts if f.indicator and rule_scope(f.scope, self.level) == UNIT}
        raw_unit_codes = {f.indicator for f in self.facts if f.indicator and f.scope == UNIT}
        own_scope = OWN_SCOPE.get(self.level or "")
        self.own = {}
        for f in self.facts:
            if not f.indicator:
                continue
            ind = catalog[f.indicator]
            code = None
            if ind.canonical:
                if ind.authority == letter and ind.canonical not in unit_codes:
                    code = ind.canonical
            elif ind.scope:
                code = f.indicator
            elif rule_scope(f.scope, self.level) == UNIT:
                if f.scope == UNIT or f.indicator not in raw_unit_codes:
                    code = f.indicator
            elif f.scope == own_scope and f.indicator not in unit_codes:
                code = f.indicator
            if code is not None and code not in self.own:
                self.own[code] = f
        return self

    def scope_of(self, fact: Fact) -> str:
        return rule_scope(fact.scope, self.level)

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
