"""version_not_reverted: A superseded version dropped again is held for review."""
from __future__ import annotations

from ...pipeline.versions import reverted_version
from ..model import Evaluation, Submission
from ..offline import OfflineEngine, _ev
from ..ruleset import RuleInstance, single_instance
from ..sql import SqlEngine
from ...indicators import Catalog
from . import RuleKind


def offline(engine: OfflineEngine, inst: RuleInstance, s: Submission) -> list[Evaluation]:
    if not s.unit_code or not s.year:
        return []
    found = reverted_version(engine._version(s), engine._versions(s))
    return [_ev(inst, s, "fail" if found else "pass", None, **(found or {}))]


def sql(engine: SqlEngine, kind: str) -> str:
    # The version in use before s: the latest earlier loaded version (of its format) not held back. s reverts
    # when it differs from that one but has the content of a version older than it.
    return f"""{engine._own_files()},
versions as (
    select s.file_id as for_file, s.content_hash as own_hash, v.file_id, v.content_hash, v.source_path,
           row_number() over (partition by s.file_id order by v.file_id) as number,
           coalesce(g.decision = 'held', false) as held
    from own as s
    join {engine.rel.files} as v
      on v.unit_code = s.unit_code and v.year = s.year and v.quarter = s.quarter and v.load_status = 'loaded'
     and v.source_format = s.source_format  -- versions are of one format (ingestion/pairing.py)
    left join {engine.rel.gate} as g on g.file_id = v.file_id
    where s.year is not null
),
-- The version in use is marked on each pending file's own versions by window functions, not found by
-- joining the versions to each other: PostgreSQL guesses one version in all, and that join compared every
-- pending file's versions with every other's (616 k pairs for a 1 % night's 545 files).
marked as (
    select v.*, max(v.file_id) filter (where v.file_id < v.for_file and not v.held)
                    over (partition by v.for_file) as current_id
    from versions as v
),
with_current as (
    select m.*, max(m.content_hash) filter (where m.file_id = m.current_id)
                    over (partition by m.for_file) as current_hash
    from marked as m
),
current_version as (
    select w.for_file as file_id, w.file_id as version_id, w.content_hash, w.number, w.source_path
    from with_current as w
    where w.file_id = w.current_id
),
reverted_to as (
    select distinct on (w.for_file) w.for_file as file_id, w.number, w.source_path
    from with_current as w
    where w.file_id < w.current_id and w.content_hash = w.own_hash and w.own_hash <> w.current_hash
    order by w.for_file, w.file_id desc
)
{engine._file_rule(kind, status="case when r.file_id is null then 'pass' else 'fail' end",
                 details=f"jsonb_build_object('earlier_version', r.number, 'earlier_file', {engine._file_name('r.source_path')}, "
                         f"'current_version', c.number, 'current_file', {engine._file_name('c.source_path')})",
                 joins="left join current_version as c on c.file_id = s.file_id "
                       "left join reverted_to as r on r.file_id = s.file_id",
                 where="s.year is not null")}"""


def message_fields(ev: Evaluation, inst: RuleInstance | None, catalog: Catalog, lang: str) -> dict:
    d = ev.detail
    return {"earlier_version": d.get("earlier_version", ""), "earlier_file": d.get("earlier_file", ""),
            "current_version": d.get("current_version", ""), "current_file": d.get("current_file", "")}


KIND = RuleKind(name='version_not_reverted', instances=single_instance, offline=offline, sql=sql,
                message_fields=message_fields)
