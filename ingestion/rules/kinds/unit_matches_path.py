"""unit_matches_path: The unit named in the title must match the inbox folder."""
from __future__ import annotations

from ..model import Evaluation, Submission
from ..offline import OfflineEngine, _ev
from ..ruleset import RuleInstance, single_instance
from ..sql import SqlEngine
from ...indicators import Catalog
from . import RuleKind


def offline(engine: OfflineEngine, inst: RuleInstance, s: Submission) -> list[Evaluation]:
    if s.title_unit_matches is None:
        return []
    return [_ev(inst, s, "pass" if s.title_unit_matches else "fail", None, observed_unit=s.title_unit)]


def sql(engine: SqlEngine, kind: str) -> str:
    return engine._submission_check(
        kind, status="case when s.title_unit_matches then 'pass' else 'fail' end",
        details="jsonb_build_object('observed_unit', s.title_unit)",
        where="s.title_unit_matches is not null")


def message_fields(ev: Evaluation, inst: RuleInstance | None, catalog: Catalog, lang: str) -> dict:
    d = ev.detail
    return {"observed_unit": d.get("observed_unit", "")}


KIND = RuleKind(name='unit_matches_path', instances=single_instance, offline=offline, sql=sql,
                message_fields=message_fields)
