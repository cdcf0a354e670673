"""The rule kinds: one module each, registered here.

A kind module (``ingestion/rules/kinds/<kind>.py``) holds everything about one kind of rule:
how its instances come from expectations/rules.yml and the indicator catalog (``instances``),
its evaluation in the offline engine (``offline``, `cchc check`), its set-based SQL in the
warehouse engine (``sql``, run by Great Expectations) and the message fields its sentences use
(``message_fields``). It ends with ``KIND = RuleKind(...)``; every module of this package is
registered. A kind without either engine, or a module without ``KIND``, fails here, at import.
What several kinds share stays in the engines (ingestion/rules/offline.py, sql.py) and in
ingestion/rules/tree.py.
"""
from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from typing import Any, Callable


def no_message_fields(ev, inst, catalog, lang: str) -> dict[str, Any]:
    return {}


@dataclass(frozen=True)
class RuleKind:
    name: str
    # (kind, its entry in rules.yml, catalog) -> [RuleInstance]
    instances: Callable
    # (OfflineEngine, RuleInstance, Submission) -> [Evaluation]
    offline: Callable
    # (SqlEngine, kind) -> the evaluation query after the CTE of the pending batch (ingestion/rules/batch.py)
    sql: Callable
    # (Evaluation, RuleInstance | None, catalog, lang) -> placeholders of its messages beyond the common ones
    message_fields: Callable = no_message_fields
    # Offline evaluations that are not about one submission (expected units): (OfflineEngine, submissions, reported)
    offline_expected: Callable | None = None

    def __post_init__(self):
        for engine in ("instances", "offline", "sql", "message_fields"):
            if not callable(getattr(self, engine)):
                raise TypeError(f"rule kind {self.name!r}: {engine} is not callable")


def _discover() -> dict[str, RuleKind]:
    found: dict[str, RuleKind] = {}
    for module in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        kind = getattr(importlib.import_module(f"{__name__}.{module.name}"), "KIND", None)
        if not isinstance(kind, RuleKind):
            raise ImportError(f"{__name__}.{module.name} declares no KIND = RuleKind(...)")
        if kind.name != module.name:
            raise ImportError(f"{__name__}.{module.name} declares the kind {kind.name!r}: name the module after it")
        found[kind.name] = kind
    return found


KINDS: dict[str, RuleKind] = _discover()


def kind_of(name: str) -> RuleKind:
    try:
        return KINDS[name]
    except KeyError:
        raise ValueError(f"unknown rule kind {name!r} (no module ingestion/rules/kinds/{name}.py)") from None
