"""one_file_per_quarter: One workbook per unit-quarter folder."""
from __future__ import annotations

from ...pipeline.versions import several_files
from ..model import Evaluation, Submission
from ..offline import OfflineEngine, _ev
from ..ruleset import RuleInstance, single_instance
from ..sql import SqlEngine
from ...indicators import Catalog
from . import RuleKind


def offline(engine: OfflineEngine, inst: RuleInstance, s: Submission) -> list[Evaluation]:
    if not s.unit_code or not s.year:
        return []
    found = several_files(engine._version(s), engine._versions(s))
    return [_ev(inst, s, "fail" if found else "pass", None, **(found or {}))]


def sql(engine: SqlEngine, kind: str) -> str:
    # Files present in the folder at discovery whose latest version is loaded (the warehouse's
    # readable reports) and of the same format (a Word report beside its spreadsheet is a pair,
    # ingestion/pairing.py); the one loaded last is in use.
    return f"""{engine._own_files()},
folder as (
    select s.file_id, sibling.file_id as sibling_id, sibling.source_path
    from own as s
    cross join lateral unnest(coalesce(s.folder_files, array[s.source_path])) as listed(path)
    cross join lateral (
        select f.file_id, f.source_path, f.load_status, f.source_format from {engine.rel.files} as f
        where f.source_path = listed.path order by f.file_id desc limit 1
    ) as sibling
    where sibling.load_status = 'loaded' and sibling.source_format = s.source_format
),
grouped as (
    select file_id, count(*) as n_files,
           array_agg({engine._file_name('source_path')} order by {engine._file_name('source_path')}) as names,
           (array_agg({engine._file_name('source_path')} order by sibling_id desc))[1] as in_use
    from folder group by file_id
)
{engine._file_rule(kind, status="case when coalesce(g.n_files, 1) > 1 then 'fail' else 'pass' end",
                 details="jsonb_build_object('files', to_jsonb(g.names), 'in_use', g.in_use)",
                 joins="left join grouped as g on g.file_id = s.file_id", where="s.year is not null")}"""


def message_fields(ev: Evaluation, inst: RuleInstance | None, catalog: Catalog, lang: str) -> dict:
    d = ev.detail
    return {"n_files": len(d.get("files", ())), "files": ", ".join(f"“{name}”" for name in d.get("files", ())),
            "in_use": d.get("in_use", "")}


KIND = RuleKind(name='one_file_per_quarter', instances=single_instance, offline=offline, sql=sql,
                message_fields=message_fields)
