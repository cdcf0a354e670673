"""`cchc check`: read workbooks and Word reports and evaluate every rule offline (no database, no Airflow).

Files given together are checked together, so rules across quarters and levels apply
between them (e.g. a district and its communes, or Q1 and Q2 of one unit).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from .indicators import Catalog, load_catalog
from .registry import Registry, title_names_unit
from .rules.ruleset import RuleSet, load_rules
from .rules.messages import render
from .rules.model import Evaluation, Submission
from .rules.offline import OfflineEngine
from .submission import FileSubmission, SubmissionSource, read_submissions


@dataclass
class FileResult:
    path: str
    unit: str | None
    period: str | None
    status: str = "ok"
    facts: int = 0
    violations: list[dict] = field(default_factory=list)
    errors: list[dict] = field(default_factory=list)
    submission: FileSubmission | None = None  # the file as read (None when it could not be)
    evaluations: list[Evaluation] = field(default_factory=list)
    details: list[str] = field(default_factory=list)  # technical causes of errors (shown with --verbose)

    def as_json(self) -> dict:
        return {"path": self.path, "unit": self.unit, "period": self.period, "status": self.status,
                "facts": self.facts, "violations": self.violations, "errors": self.errors}


@dataclass
class CheckResult:
    files: list[FileResult]
    completeness: list[dict] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        if any(f.status == "unreadable" for f in self.files):
            return 2
        if any(f.status == "error" for f in self.files):
            return 1
        return 0

    def as_json(self, with_completeness: bool = False) -> dict:
        doc = {"files": [f.as_json() for f in self.files]}
        if with_completeness:
            doc["completeness"] = self.completeness
        return doc


def _violation(ev: Evaluation, rules: RuleSet, catalog: Catalog, lang: str = "vi") -> dict:
    return {"rule": ev.rule_id, "severity": ev.severity, "sheet": ev.sheet, "rows": list(ev.rows),
            "message": render(ev, rules, catalog, lang=lang)}


def check_files(paths: list[Path], *, registry: Registry | None = None, engine: str = "calamine",
                completeness: bool = False, rules: RuleSet | None = None, catalog: Catalog | None = None,
                lang: str = "vi") -> CheckResult:
    rules, catalog = rules or load_rules(), catalog or load_catalog()
    results: list[FileResult] = []
    submissions: list[Submission] = []
    unreadable_sent: set[tuple[str, int, int]] = set()  # a broken file still counts as sent
    by_key: dict[str, FileResult] = {}
    reads = read_submissions([SubmissionSource.given(p) for p in paths], engine, catalog)
    for order, (path, read) in enumerate(zip(paths, reads)):
        unit, period = read.unit_code, read.period
        result = FileResult(path=str(path), unit=unit, period=str(period) if period else None)
        results.append(result)
        if read.unreadable is not None:
            result.status = "unreadable"
            result.errors.append({"message": f"{path}: {read.unreadable.message}"})
            result.details.append(read.unreadable.detail or read.unreadable.code)
            if period is not None and read.file.content_hash is not None:
                unreadable_sent.add((unit, period.year, period.quarter))
            continue
        result.submission = read
        result.facts = len(read.facts)
        result.errors = [{"message": f"{path}: {issue.message}"} for issue in read.errors]
        on_convention = period is not None
        if period is None and read.title_period:
            period = read.title_period  # off the inbox convention: the title says when
            result.period = str(period)
        level = registry.level_of(unit) if registry is not None else None
        registered = registry.get(unit) if registry is not None else None
        title_period = read.title_period if on_convention else None
        sub = Submission(key=str(path), unit_code=unit, level=level or read.level_hint,
                         year=period.year if period else None, quarter=period.quarter if period else None,
                         facts=read.facts,
                         title_period=(title_period.year, title_period.quarter) if title_period else None,
                         title_unit=read.title_unit,
                         title_unit_matches=title_names_unit(read.title_unit, registered.name if registered else None),
                         order=order, content_hash=read.file.content_hash, path=str(path),
                         source_format=read.source_format, narrative=read.narrative,
                         # A file with input errors is checked for feedback, but like a file the
                         # warehouse rejects it is nobody's history or lower-level figure.
                         held=bool(read.errors))
        submissions.append(sub)
        by_key[sub.key] = result
    evaluations = OfflineEngine(rules, catalog, registry).evaluate(submissions, completeness=completeness,
                                                                  reported=unreadable_sent)
    out = CheckResult(results)
    for ev in evaluations:
        if ev.submission is None:
            if ev.status == "fail":
                out.completeness.append({"rule": ev.rule_id, "severity": ev.severity, "unit": ev.unit_code,
                                         "period": ev.period, "message": render(ev, rules, catalog, lang=lang)})
            continue
        result = by_key[ev.submission]
        result.evaluations.append(ev)
        if ev.status == "fail":
            result.violations.append(_violation(ev, rules, catalog, lang))
    for result in results:
        if result.status == "unreadable":
            continue
        severities = {v["severity"] for v in result.violations}
        if result.errors:
            result.status = "unreadable"
        elif "error" in severities:
            result.status = "error"
        elif "warning" in severities:
            result.status = "warning"
    return out


def json_number(value: Decimal | None):
    if value is None:
        return None
    return int(value) if value == value.to_integral_value() else float(value)
