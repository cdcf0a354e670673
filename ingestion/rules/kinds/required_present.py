"""required_present: Required indicators must be reported."""
from __future__ import annotations

from decimal import Decimal
from ...indicators import LEVEL_LETTERS
from ..model import Evaluation, Submission
from ..offline import OfflineEngine, _ev
from ..ruleset import RuleInstance, single_instance
from ..sql import SqlEngine, _select, lit, text_array
from ..messages import short_name
from ...indicators import Catalog
from . import RuleKind


def offline(engine: OfflineEngine, inst: RuleInstance, s: Submission) -> list[Evaluation]:
    if not s.level:
        return []
    letter = LEVEL_LETTERS[s.level]
    required = [ind.code for ind in engine.catalog if letter in ind.required]
    # Reported for the whole unit or for any of its levels.
    present = {engine.catalog[f.indicator].concept for f in s.facts if f.indicator and f.value is not None}
    same = engine.rules.equivalents()
    missing = tuple(code for code in required if code not in present and not same.get(code, set()) & present)
    return [_ev(inst, s, "fail" if missing else "pass", None, observed=Decimal(len(missing)), missing=missing)]


def sql(engine: SqlEngine, kind: str) -> str:
    inst = engine.rules.of_kind(kind)[0]
    same = engine.rules.equivalents()
    values, wanted = [], set()
    for level, letter in LEVEL_LETTERS.items():
        for position, ind in enumerate(ind for ind in engine.catalog if letter in ind.required):
            alternatives = [ind.code, *sorted(same.get(ind.code, ()))]
            wanted.update(alternatives)
            values.append((lit(level), lit(ind.code), str(position), text_array(alternatives)))
    return f"""
{engine._instances(('unit_level', 'code', 'position', 'alternatives'), values)},
submissions as ({engine._submissions()}),
present as (
    -- reported for the whole unit or for any of its levels, here or as its one-to-one same figure;
    -- only the codes some level requires are gathered (every figure's code: 0.8 s of a national quarter)
    select file_id, array_agg(concept_code) as codes
    from gate_batch where concept_code = any({text_array(sorted(wanted))}) and value is not null group by file_id
),
-- Materialized: `missing` is read three times below, and inlined, its subquery ran once for each.
gaps as materialized (
    select s.*, array(
        select inst.code from inst
        where inst.unit_level = s.unit_level
          and not inst.alternatives && coalesce(present.codes, array[]::text[])
        order by inst.position) as missing
    from submissions as s
    left join present on present.file_id = s.file_id
    where s.unit_level is not null
)
{_select(rule_id=lit(inst.rule_id), kind=lit(kind), severity=lit(inst.severity),
         status="case when cardinality(s.missing) > 0 then 'fail' else 'pass' end",
         indicator="null", sheet="null", row="null", rows="array[]::integer[]", form="null",
         observed="cardinality(s.missing)", details="jsonb_build_object('missing', to_jsonb(s.missing))")}
from gaps as s"""


def message_fields(ev: Evaluation, inst: RuleInstance | None, catalog: Catalog, lang: str) -> dict:
    d = ev.detail
    return {"missing": "; ".join(short_name(catalog, c, lang) for c in d.get("missing", ()))}


KIND = RuleKind(name='required_present', instances=single_instance, offline=offline, sql=sql,
                message_fields=message_fields)
