"""whole_equals_levels: A whole-unit figure must equal the sum of its levels."""
from __future__ import annotations

from decimal import Decimal
from ...indicators import Catalog
from ...text.scope import LEVEL_PARTITIONS, UNIT, rule_scope
from ..model import Evaluation, Submission
from ..offline import OfflineEngine, _ev, _value
from ..ruleset import RuleInstance, indicator_instances
from ..sql import SqlEngine, keyed_cte, _select, lit, text_array
from ..messages import _num, scope_names
from . import RuleKind


def instances(kind: str, rule: dict, catalog: Catalog) -> list[RuleInstance]:
    # Figures a report can give for the whole unit and for each of its levels.
    return indicator_instances(kind, rule, catalog,
                               lambda ind: ind.kind == "count" and ind.additive and not ind.canonical and not ind.scope)


def offline(engine: OfflineEngine, inst: RuleInstance, s: Submission) -> list[Evaluation]:
    """Toàn tỉnh = cấp tỉnh + cấp huyện + cấp xã (or cấp tỉnh + "cấp huyện, cấp xã"), when the report gives them all."""
    whole = s.by_key.get((inst.subject, UNIT))
    if _value(whole) is None:
        return []
    for slices in LEVEL_PARTITIONS.get(s.level or "", ()):  # the first split the report gives in full
        levels = [s.by_key.get((inst.subject, rule_scope(scope, s.level))) for scope in slices]
        if all(_value(f) is not None for f in levels):
            break
    else:
        return []
    expected = sum((f.value for f in levels), Decimal(0))
    status = "fail" if whole.value != expected else "pass"
    return [_ev(inst, s, status, whole, rows=[whole.row, *(f.row for f in levels)], observed=whole.value,
                expected=expected, levels=tuple((scope, f.value) for scope, f in zip(slices, levels)))]


def sql(engine: SqlEngine, kind: str) -> str:
    insts = engine.rules.of_kind(kind)
    values = [(lit(i.rule_id), lit(i.severity), lit(i.subject)) for i in insts]
    partitions = ", ".join(f"({lit(level)}, {n}, {text_array(scopes)})" for level, splits in LEVEL_PARTITIONS.items()
                           for n, scopes in enumerate(splits))
    return f"""
{engine._instances(('rule_id', 'severity', 'concept'), values)},
{keyed_cte((i.subject for i in insts), levels=LEVEL_PARTITIONS)},
partitions (unit_level, n, slices) as (values {partitions}),
wholes as (
    select inst.rule_id, inst.severity, s.*
    from inst join keyed as s on s.concept_code = inst.concept and s.rule_scope = 'unit' and s.value is not null
    where s.unit_level in ({', '.join(lit(level) for level in LEVEL_PARTITIONS)})
),
splits as (
    select w.rule_id, w.file_id, p.n as partition, count(*) as n, cardinality(p.slices) as wanted,
           sum(l.value) as levels_sum,
           array_agg(l.row_number order by array_position(p.slices, l.rule_scope)) as level_rows,
           jsonb_agg(jsonb_build_array(l.rule_scope, l.value) order by array_position(p.slices, l.rule_scope)) as levels
    from wholes as w
    join partitions as p on p.unit_level = w.unit_level
    join keyed as l on l.file_id = w.file_id and l.concept_code = w.concept_code and l.value is not null
                   and l.rule_scope = any(p.slices)
    group by w.rule_id, w.file_id, p.n, p.slices
),
levels as materialized (  -- the first split the report gives in full (LEVEL_PARTITIONS order)
    select distinct on (rule_id, file_id) * from splits where n = wanted order by rule_id, file_id, partition
)
{_select(rule_id="s.rule_id", kind=lit(kind), severity="s.severity",
         status="case when s.value <> l.levels_sum then 'fail' else 'pass' end",
         rows="array[s.row_number] || l.level_rows", expected="l.levels_sum",
         details="jsonb_build_object('label', s.label, 'levels', l.levels)")}
from wholes as s
join levels as l on l.rule_id = s.rule_id and l.file_id = s.file_id"""


def message_fields(ev: Evaluation, inst: RuleInstance | None, catalog: Catalog, lang: str) -> dict:
    d = ev.detail
    return {"levels": ", ".join(f"{scope_names(lang).get(sc, sc)} {_num(v, lang)}" for sc, v in d.get("levels", ()))}


KIND = RuleKind(name='whole_equals_levels', instances=instances, offline=offline, sql=sql,
                message_fields=message_fields)
