"""document_matches_spreadsheet: A Word report must agree with the spreadsheet sent with it."""
from __future__ import annotations

from decimal import Decimal
from ...text.values import PERCENT
from ..model import Evaluation, Submission
from ..offline import OfflineEngine, _ev, _value, _file_name
from ..ruleset import RuleInstance, single_instance
from ..sql import SqlEngine, _select, lit
from ..messages import where_vi
from ...indicators import Catalog
from . import RuleKind


def offline(engine: OfflineEngine, inst: RuleInstance, s: Submission) -> list[Evaluation]:
    other = engine.partners.get(s.key)
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
            agree = abs(fact.value - theirs.value) <= engine.tolerance
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


def sql(engine: SqlEngine, kind: str) -> str:
    inst = engine.rules.of_kind(kind)[0]
    file_name = "regexp_replace({}, '^.*/', '')"
    return f"""
submissions as (
    select p.file_id, min(p.unit_code) as unit_code, min(p.year) as year, min(p.quarter) as quarter
    from gate_batch as p group by p.file_id
),
mine as (
    select s.*, e.source_format, e.source_path
    from submissions as s join {engine.rel.submissions} as e on e.file_id = s.file_id
),
-- Materialized: inlined, the pair was looked up once per figure of the batch instead of once per submission.
pairs as materialized (
    select m.file_id, m.source_path, o.file_id as other_id, o.source_path as other_path
    from mine as m
    cross join lateral (
        select e.file_id, e.source_path from {engine.rel.submissions} as e
        where e.unit_code = m.unit_code and e.year = m.year and e.quarter = m.quarter
          and e.file_id <> m.file_id and e.source_format <> m.source_format
        order by e.file_id desc limit 1
    ) as o
    where m.source_format = 'docx' or not exists (select 1 from submissions as q where q.file_id = o.file_id)
),
compared as (
    select s.*, pr.source_path, pr.other_path, t.value as other_value, t.kind as other_kind,
           t.sheet as other_sheet, t.row_number as other_row, t.form as other_form
    from pairs as pr
    join gate_batch as s on s.file_id = pr.file_id and s.value is not null and s.indicator_code is not null
    join {engine.rel.facts} as t on t.file_id = pr.other_id and t.indicator_code = s.indicator_code
                              and t.scope = s.scope and t.value is not null  -- same indicator, same scope
),
bad as (
    select * from compared as c
    where case when c.kind = 'percent' or c.other_kind = 'percent' then abs(c.value - c.other_value) > {engine.tolerance}
               else c.value <> c.other_value end
)
{_select(rule_id=lit(inst.rule_id), kind=lit(kind), severity=lit(inst.severity), status="'fail'",
         expected="s.other_value",
         details="jsonb_build_object('label', s.label, 'file_name', " + file_name.format("s.source_path")
                 + ", 'other_file', " + file_name.format("s.other_path")
                 + ", 'other_sheet', s.other_sheet, 'other_row', s.other_row, 'other_form', s.other_form)")}
from bad as s
union all
{_select(rule_id=lit(inst.rule_id), kind=lit(kind), severity=lit(inst.severity), status="'pass'", file_id="s.file_id",
         unit="min(s.unit_code)", year="min(s.year)", quarter="min(s.quarter)", indicator="null", sheet="null",
         row="null", rows="array[]::integer[]", form="null", observed="count(*)",
         details="jsonb_build_object('file_name', " + file_name.format("min(s.source_path)")
                 + ", 'other_file', " + file_name.format("min(s.other_path)") + ")")}
from compared as s
where not exists (select 1 from bad where bad.file_id = s.file_id)
group by s.file_id"""


def message_fields(ev: Evaluation, inst: RuleInstance | None, catalog: Catalog, lang: str) -> dict:
    d = ev.detail
    return {"file_name": d.get("file_name", ""), "other_file": d.get("other_file", ""),
            "other_where": where_vi(d.get("other_form"), d.get("other_sheet"), d.get("other_row"), lang)}


KIND = RuleKind(name='document_matches_spreadsheet', instances=single_instance, offline=offline, sql=sql,
                message_fields=message_fields)
