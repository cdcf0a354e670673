"""period_matches_path: The quarter in the title must match the inbox folder."""
from __future__ import annotations

from ..model import Evaluation, Submission
from ..offline import OfflineEngine, _ev
from ..ruleset import RuleInstance, single_instance
from ..sql import SqlEngine
from ..messages import period_vi
from ...indicators import Catalog
from . import RuleKind


def offline(engine: OfflineEngine, inst: RuleInstance, s: Submission) -> list[Evaluation]:
    if s.title_period is None or not s.year:
        return []
    ok = tuple(s.title_period) == (s.year, s.quarter)
    return [_ev(inst, s, "pass" if ok else "fail", None,
                observed_period=f"{s.title_period[0]}-Q{s.title_period[1]}", expected_period=s.period)]


def sql(engine: SqlEngine, kind: str) -> str:
    return engine._submission_check(
        kind, status="case when (s.title_year, s.title_quarter) = (s.year, s.quarter) then 'pass' else 'fail' end",
        details="jsonb_build_object('observed_period', s.title_year || '-Q' || s.title_quarter, "
                "'expected_period', s.year || '-Q' || s.quarter)",
        where="s.title_year is not null and s.year is not null")


def message_fields(ev: Evaluation, inst: RuleInstance | None, catalog: Catalog, lang: str) -> dict:
    d = ev.detail
    return {"observed_period": period_vi(d.get("observed_period"), lang),
            "expected_period": period_vi(d.get("expected_period"), lang)}


KIND = RuleKind(name='period_matches_path', instances=single_instance, offline=offline, sql=sql,
                message_fields=message_fields)
