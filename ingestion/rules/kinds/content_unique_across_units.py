"""content_unique_across_units: A workbook belongs to one unit only."""
from __future__ import annotations

from ...pipeline.versions import same_content_elsewhere
from ..model import Evaluation, Submission
from ..offline import OfflineEngine, _ev
from ..ruleset import RuleInstance, single_instance
from ..sql import SqlEngine
from ...indicators import Catalog
from . import RuleKind


def offline(engine: OfflineEngine, inst: RuleInstance, s: Submission) -> list[Evaluation]:
    if not s.unit_code or not s.content_hash:
        return []
    found = same_content_elsewhere(engine._version(s), engine._versions(s, same_quarter=False))
    return [_ev(inst, s, "fail" if found else "pass", None, **(found or {}))]


def sql(engine: SqlEngine, kind: str) -> str:
    return f"""{engine._own_files()},
twins as (
    select s.file_id, other.unit_code as other_unit, other.source_path as other_path,
           row_number() over (partition by s.file_id order by other.unit_code, other.file_id) as rank
    from own as s
    join {engine.rel.files} as other
      on other.content_hash = s.content_hash and other.load_status = 'loaded'
     and other.unit_code is not null and other.unit_code <> s.unit_code
)
{engine._file_rule(kind, status="case when t.file_id is null then 'pass' else 'fail' end",
                 details=f"jsonb_build_object('other_unit', t.other_unit, 'other_file', {engine._file_name('t.other_path')})",
                 joins="left join twins as t on t.file_id = s.file_id and t.rank = 1")}"""


def message_fields(ev: Evaluation, inst: RuleInstance | None, catalog: Catalog, lang: str) -> dict:
    d = ev.detail
    return {"other_file": d.get("other_file", ""), "other_unit": d.get("other_unit", "")}


KIND = RuleKind(name='content_unique_across_units', instances=single_instance, offline=offline, sql=sql,
                message_fields=message_fields)
