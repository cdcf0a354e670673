"""The offline engine: evaluates the rule catalog over submissions in memory (used by `cchc check`).

Its semantics are mirrored, kind by kind, by the SQL the warehouse runs
(ingestion/rules/sql.py); tests/test_rule_engines_agree.py holds them equal.
History rules (cumulative, jumps, levels) compare a pending submission with the
"basis": the latest submission of every other unit-quarter that was not held back.
"""
from __future__ import annotations

import statistics
from decimal import Decimal
from typing import Iterable

from ..domain import EXPECTED_LEVELS
from ..indicators import LEVEL_LETTERS, Catalog
from ..pipeline.versions import Version, reverted_version, same_content_elsewhere, several_files
from ..pairing import cross_checked, precedence_key
from ..registry import Registry, quarter_end
from ..workbook.extract import Fact
from ..text.scope import LEVEL_SCOPES, SCOPE_OF_LETTER, UNIT, rule_scope
from ..text.values import COUNT, MONEY, PERCENT
from .ruleset import RuleInstance, RuleSet
from .model import LETTER_LEVEL, LEVEL_RANK, Evaluation, Submission, round_expected
from .narrative import level_allows, targets_table
from .tree import partner_scope, sum_of, tree_codes


def _ev(inst: RuleInstance, s: Submission, status: str, fact: Fact | None = None, *, rows: Iterable[int] = (),
        observed: Decimal | None = None, expected: Decimal | None = None, **details) -> Evaluation:
    return Evaluation(
        rule_id=inst.rule_id, kind=inst.kind, severity=inst.severity, status=status, submission=s.key,
        unit_code=s.unit_code, year=s.year, quarter=s.quarter,
        indicator=fact.indicator if fact else inst.subject, sheet=fact.sheet if fact else None,
        row=fact.row if fact else None, rows=tuple(rows), form=fact.form if fact else None,
        observed=observed, expected=expected,
        details=tuple(sorted((({"label": fact.label} if fact else {}) | details).items())))


def _value(fact: Fact | None) -> Decimal | None:
    return fact.value if fact is not None else None


def _file_name(path: str) -> str:
    return path.replace("\\", "/").rsplit("/", 1)[-1]
def _scoped(scope: str) -> dict:
    """Evaluations within a level slice say which one (messages name it)."""
    return {} if scope == UNIT else {"scope": scope}


class OfflineEngine:
    def __init__(self, rules: RuleSet, catalog: Catalog, registry: Registry | None = None):
        self.rules, self.catalog, self.registry = rules, catalog, registry
        self.tolerance = Decimal(str(rules.settings["rate_tolerance_pp"]))
        self.z_threshold = float(rules.settings["zscore_threshold"])
        self.z_min = int(rules.settings["zscore_min_history"])

    def evaluate(self, submissions: list[Submission], *, completeness: bool = False,
                 reported: set[tuple[str, int, int]] | None = None) -> list[Evaluation]:
        for s in submissions:
            s.index(self.catalog)
        basis: dict[tuple[str, int, int], Submission] = {}
        for s in sorted(submissions, key=lambda x: precedence_key(x.source_format, x.order)):
            if s.unit_code and s.year and not s.held:
                basis[(s.unit_code, s.year, s.quarter)] = s
        self.basis = basis
        self.submissions = submissions
        self.partners = self._partners(submissions)
        self.targets = targets_table(self.catalog, self.rules)
        out: list[Evaluation] = []
        for s in submissions:
            if s.pending:
                for inst in self.rules.instances:
                    out.extend(self._evaluate(inst, s))
        if completeness and self.registry is not None:
            out.extend(self._reporting_completeness(submissions, reported))
        return out

    # -- dispatch ---------------------------------------------------------------------------
    def _evaluate(self, inst: RuleInstance, s: Submission) -> list[Evaluation]:
        handler = getattr(self, f"_{inst.kind}", None)
        return handler(inst, s) if handler else []

    def _cell_rule(self, inst: RuleInstance, s: Submission, facts: list[Fact], failing) -> list[Evaluation]:
        bad = [f for f in facts if failing(f)]
        if bad:
            return [_ev(inst, s, "fail", f, rows=(f.row,), observed=f.value) for f in bad]
        return [_ev(inst, s, "pass", None, observed=Decimal(len(facts)))] if facts else []

    def _percent_in_range(self, inst, s):
        facts = [f for f in s.facts if f.kind == PERCENT and f.value is not None]
        return self._cell_rule(inst, s, facts, lambda f: f.value < 0 or f.value > 100)

    def _count_not_negative(self, inst, s):
        facts = [f for f in s.facts if f.kind in (COUNT, MONEY) and f.value is not None]
        return self._cell_rule(inst, s, facts, lambda f: f.value < 0)

    def _count_is_whole(self, inst, s):
        facts = [f for f in s.facts if f.kind == COUNT and f.value is not None]
        return self._cell_rule(inst, s, facts, lambda f: f.value != f.value.to_integral_value())

    def _row_in_catalog(self, inst, s):
        return self._cell_rule(inst, s, list(s.facts), lambda f: f.indicator is None)

    # -- relations within one submission: figures of one scope ------------------------------------
    def _subjects(self, s: Submission, code: str | None) -> list[Fact]:
        return [f for f in s.facts if f.indicator == code and f.value is not None]

    def _partner(self, s: Submission, code: str | None, scope: str) -> Fact | None:
        if not code:
            return None
        where = partner_scope(self.catalog, code, scope, s.level)
        return s.by_key.get((self.catalog[code].concept, where)) if where is not None else None

    def _rate_matches_parts(self, inst, s):
        out = []
        for rate in self._subjects(s, inst.subject):
            scope = s.scope_of(rate)
            num_f, den_f = self._partner(s, inst.numerator, scope), self._partner(s, inst.denominator, scope)
            num, den = _value(num_f), _value(den_f)
            rows = [rate.row]
            if num is not None and den is not None:
                rows += [num_f.row, den_f.row]
            else:
                num, den = rate.numerator, rate.denominator  # "100% (18/18)": the fraction typed in the cell
            if num is None or den is None:
                continue
            if den == 0:
                out.append(_ev(inst, s, "pass", rate, rows=rows, observed=rate.value, numerator=num, denominator=den,
                               **_scoped(scope)))
                continue
            expected = round_expected(num * 100 / den)
            status = "fail" if abs(rate.value - expected) > self.tolerance else "pass"
            out.append(_ev(inst, s, status, rate, rows=rows, observed=rate.value, expected=expected, numerator=num,
                           denominator=den, **_scoped(scope)))
        return out

    def _total_equals_parts(self, inst, s):
        out = []
        for total in self._subjects(s, inst.subject):
            scope = s.scope_of(total)
            parts = sum_of(self.catalog, s, inst.parts, scope)
            if parts.value is None or not parts.used:
                continue  # a part is missing and cannot be made of its own parts: nothing to compare
            status = "fail" if total.value != parts.value else "pass"
            out.append(_ev(inst, s, status, total, rows=[total.row, *(f.row for _, f in parts.used)],
                           observed=total.value, expected=parts.value,
                           parts=tuple((code, f.value) for code, f in parts.used), **_scoped(scope)))
        return out

    def _part_not_above_whole(self, inst, s):
        out = []
        for part in self._subjects(s, inst.subject):
            scope = s.scope_of(part)
            whole = self._partner(s, inst.whole, scope)
            if _value(whole) is None:
                continue
            status = "fail" if part.value > whole.value else "pass"
            out.append(_ev(inst, s, status, part, rows=[part.row, whole.row], observed=part.value, expected=whole.value,
                           whole=inst.whole, **_scoped(scope)))
        return out

    def _coded_in_legend(self, inst, s):
        out = []
        for fact in self._subjects(s, inst.subject):
            status = "pass" if fact.value in {Decimal(c) for c in inst.codes} else "fail"
            out.append(_ev(inst, s, status, fact, rows=[fact.row], observed=fact.value))
        return out

    def _same_figure(self, inst, s):
        codes = tree_codes(self.catalog, (*inst.left, *inst.right))
        concepts = {self.catalog[c].concept for c in codes if self.catalog[c].scope is None}
        frames = sorted({scope for (concept, scope), f in s.by_key.items() if concept in concepts and f.value is not None})
        out = []
        for scope in frames:
            left, right = sum_of(self.catalog, s, inst.left, scope), sum_of(self.catalog, s, inst.right, scope)
            if left.value is None or right.value is None or not left.used or not right.used:
                continue
            status = "fail" if left.value != right.value else "pass"
            first = left.used[0][1]
            out.append(_ev(inst, s, status, first, rows=[f.row for _, f in left.used + right.used],
                           observed=left.value, expected=right.value, **_scoped(scope)))
        return out

    def _whole_equals_levels(self, inst, s):
        """Toàn tỉnh = cấp tỉnh + cấp huyện + cấp xã, when the report gives them all."""
        slices = LEVEL_SCOPES.get(s.level or "")
        whole = s.by_key.get((inst.subject, UNIT))
        if not slices or _value(whole) is None:
            return []
        levels = [s.by_key.get((inst.subject, rule_scope(scope, s.level))) for scope in slices]
        if any(_value(f) is None for f in levels):
            return []
        expected = sum((f.value for f in levels), Decimal(0))
        status = "fail" if whole.value != expected else "pass"
        return [_ev(inst, s, status, whole, rows=[whole.row, *(f.row for f in levels)], observed=whole.value,
                    expected=expected, levels=tuple((scope, f.value) for scope, f in zip(slices, levels)))]

    # -- a Word report against its own appendix and against the unit's spreadsheet ---------------
    def _narrative_matches_appendix(self, inst, s):
        out = []
        for n in s.narrative:
            if n.indicator != inst.subject or not n.compare or not level_allows(n.levels, s.level):
                continue
            for target in self.targets.get((n.indicator, n.scope, s.level), ()):
                how, code = target.split(":", 1)
                if how == "own":
                    fact = s.own.get(code)
                else:  # "row:<concept>@<rule scope>": the appendix's figure of that concept for that level
                    concept, scope = code.split("@", 1)
                    fact = s.by_key.get((concept, scope))
                if _value(fact) is None:
                    continue
                if fact.kind == PERCENT or self.catalog[n.indicator].kind == PERCENT:
                    agree = abs(n.value - fact.value) <= self.tolerance
                else:
                    agree = n.value == fact.value
                out.append(_ev(inst, s, "pass" if agree else "fail", fact, rows=(fact.row,), observed=n.value,
                               expected=fact.value, paragraph=n.paragraph, position=n.position, sentence=n.sentence,
                               narrative_indicator=n.indicator, scope=n.scope))
                break
        return out

    def _partners(self, submissions: list[Submission]) -> dict[str, Submission]:
        """For each pending submission, the latest readable file of the other format for its unit-quarter."""
        latest: dict[tuple, Submission] = {}
        for s in sorted(submissions, key=lambda x: x.order):
            if s.unit_code and s.year and not s.held:
                latest[(s.unit_code, s.year, s.quarter, s.source_format)] = s
        out = {}
        for s in submissions:
            if not (s.pending and s.unit_code and s.year):
                continue
            for other in latest.values():
                if (other.unit_code, other.year, other.quarter) == (s.unit_code, s.year, s.quarter) \
                        and other.key != s.key and other.source_format != s.source_format \
                        and cross_checked(s.source_format, other.source_format, other.pending):
                    out[s.key] = other
        return out

    def _document_matches_spreadsheet(self, inst, s):
        other = self.partners.get(s.key)
        if other is None:
            return []
        compared, bad = 0, []
        # the same indicator for the same scope (a district's "cấp xã" row is not its "cấp huyện" row)
        figures = {(f.indicator, f.scope): f for f in other.facts if f.indicator}
        for fact in s.facts:
            theirs = figures.get((fact.indicator, fact.scope)) if fact.indicator else None
            if _value(fact) is None or _value(theirs) is None:
                continue
            compared += 1
            if fact.kind == PERCENT or theirs.kind == PERCENT:
                agree = abs(fact.value - theirs.value) <= self.tolerance
            else:
                agree = fact.value == theirs.value
            if not agree:
                bad.append(_ev(inst, s, "fail", fact, rows=(fact.row,), observed=fact.value, expected=theirs.value,
                               file_name=_file_name(s.path or s.key), other_file=_file_name(other.path or other.key),
                               other_sheet=theirs.sheet, other_row=theirs.row, other_form=theirs.form))
        if bad or not compared:
            return bad
        return [_ev(inst, s, "pass", None, observed=Decimal(compared), file_name=_file_name(s.path or s.key),
                    other_file=_file_name(other.path or other.key))]

    # -- history and other units ---------------------------------------------------------------
    def _history(self, s: Submission) -> list[Submission]:
        return sorted((b for (unit, year, quarter), b in self.basis.items()
                       if unit == s.unit_code and (year, quarter) < (s.year, s.quarter)),
                      key=lambda b: (b.year, b.quarter))

    def _cumulative_not_decreasing(self, inst, s):
        fact = s.own.get(inst.subject)
        if _value(fact) is None or not s.unit_code or not s.year:
            return []
        earlier = [b for b in self._history(s) if b.year == s.year and _value(b.own.get(inst.subject)) is not None]
        if not earlier:
            return []
        prev = earlier[-1]
        prev_value = prev.own[inst.subject].value
        status = "fail" if fact.value < prev_value else "pass"
        return [_ev(inst, s, status, fact, rows=[fact.row], observed=fact.value, expected=prev_value,
                    previous_period=prev.period)]

    def _jump_within_history(self, inst, s):
        fact = s.own.get(inst.subject)
        if _value(fact) is None or not s.unit_code or not s.year:
            return []
        series = [float(b.own[inst.subject].value) for b in self._history(s) if _value(b.own.get(inst.subject)) is not None]
        if len(series) < self.z_min:
            return []
        median = statistics.median(series)
        mad = statistics.median([abs(x - median) for x in series])
        if mad == 0:
            return []
        z = 0.6745 * (float(fact.value) - median) / mad
        status = "fail" if abs(z) > self.z_threshold else "pass"
        return [_ev(inst, s, status, fact, rows=[fact.row], observed=fact.value,
                    expected=round_expected(Decimal(repr(median))), z=round_expected(Decimal(repr(z))))]

    def _levels_add_up(self, inst, s):
        # The unit's figure for its lower level: the level variant, or the concept in that level's block.
        fact = s.by_key.get((inst.canonical, rule_scope(SCOPE_OF_LETTER[inst.authority], s.level)))
        if _value(fact) is None or self.registry is None or not s.unit_code or not s.year:
            return []
        child_level = LETTER_LEVEL[inst.authority]
        if LEVEL_RANK.get(s.level or "", -1) <= LEVEL_RANK.get(child_level, -1):
            return []
        children = self.registry.descendants(s.unit_code, child_level, quarter_end(s.year, s.quarter))
        if not children:
            return []
        values = []
        for child in children:
            b = self.basis.get((child, s.year, s.quarter))
            own = b.own.get(inst.canonical) if b is not None else None
            if _value(own) is None:
                return []  # not every lower-level unit has reported yet
            values.append(own.value)
        expected = sum(values, Decimal(0))
        status = "fail" if fact.value != expected else "pass"
        return [_ev(inst, s, status, fact, rows=[fact.row], observed=fact.value, expected=expected, children=len(children))]

    # -- whole submissions ------------------------------------------------------------------------
    def _required_present(self, inst, s):
        if not s.level:
            return []
        letter = LEVEL_LETTERS[s.level]
        required = [ind.code for ind in self.catalog if letter in ind.required]
        # Reported for the whole unit or for any of its levels.
        present = {self.catalog[f.indicator].concept for f in s.facts if f.indicator and f.value is not None}
        same = self.rules.equivalents()
        missing = tuple(code for code in required if code not in present and not same.get(code, set()) & present)
        return [_ev(inst, s, "fail" if missing else "pass", None, observed=Decimal(len(missing)), missing=missing)]

    def _period_matches_path(self, inst, s):
        if s.title_period is None or not s.year:
            return []
        ok = tuple(s.title_period) == (s.year, s.quarter)
        return [_ev(inst, s, "pass" if ok else "fail", None,
                    observed_period=f"{s.title_period[0]}-Q{s.title_period[1]}", expected_period=s.period)]

    def _unit_matches_path(self, inst, s):
        if s.title_unit_matches is None:
            return []
        return [_ev(inst, s, "pass" if s.title_unit_matches else "fail", None, observed_unit=s.title_unit)]

    # -- files and versions (the convention is in ingestion/pipeline/versions.py) -----------------
    def _versions(self, s: Submission, same_quarter: bool = True) -> list[Version]:
        """Readable submissions (the warehouse's loaded files), ``s`` always among them."""
        return [Version(x.key, x.order, x.path or x.key, x.content_hash, x.unit_code, source_format=x.source_format)
                for x in self.submissions
                if (x is s or not x.held)
                and (not same_quarter or (x.unit_code, x.year, x.quarter) == (s.unit_code, s.year, s.quarter))]

    @staticmethod
    def _version(s: Submission) -> Version:
        return Version(s.key, s.order, s.path or s.key, s.content_hash, s.unit_code, source_format=s.source_format)

    def _one_file_per_quarter(self, inst, s):
        if not s.unit_code or not s.year:
            return []
        found = several_files(self._version(s), self._versions(s))
        return [_ev(inst, s, "fail" if found else "pass", None, **(found or {}))]

    def _content_unique_across_units(self, inst, s):
        if not s.unit_code or not s.content_hash:
            return []
        found = same_content_elsewhere(self._version(s), self._versions(s, same_quarter=False))
        return [_ev(inst, s, "fail" if found else "pass", None, **(found or {}))]

    def _version_not_reverted(self, inst, s):
        if not s.unit_code or not s.year:
            return []
        found = reverted_version(self._version(s), self._versions(s))
        return [_ev(inst, s, "fail" if found else "pass", None, **(found or {}))]

    def _reporting_completeness(self, submissions: list[Submission], reported: set[tuple[str, int, int]] | None):
        inst = self.rules.of_kind("unit_reported")[0]
        sent = {(s.unit_code, s.year, s.quarter) for s in submissions if s.unit_code and s.year} | (reported or set())
        quarters = sorted({(s.year, s.quarter) for s in submissions if s.pending and s.year})
        levels = EXPECTED_LEVELS
        out = []
        for year, quarter in quarters:
            for unit in sorted(self.registry.expected(year, quarter, levels), key=lambda u: u.code):
                status = "pass" if (unit.code, year, quarter) in sent else "fail"
                out.append(Evaluation(rule_id=inst.rule_id, kind=inst.kind, severity=inst.severity, status=status,
                                      submission=None, unit_code=unit.code, year=year, quarter=quarter,
                                      details=(("unit_name", unit.name),)))
        return out
