"""levels_add_up: A figure for lower-level units must match the sum of their own submissions."""
from __future__ import annotations

from decimal import Decimal
from ...domain import LEVEL_LETTERS, quarter_end, sql_level_rank, sql_quarter_end, sql_valid_on
from ...indicators import Catalog
from ...text.scope import SCOPE_OF_LETTER, rule_scope
from ..model import Evaluation, Submission, LETTER_LEVEL, LEVEL_RANK
from ..offline import OfflineEngine, _ev, _value
from ..ruleset import RuleInstance, indicator_instances
from ..sql import SqlEngine, keyed_cte, _select, lit
from . import RuleKind


def instances(kind: str, rule: dict, catalog: Catalog) -> list[RuleInstance]:
    return indicator_instances(kind, rule, catalog,
                               lambda ind: ind.canonical and ind.authority and ind.kind == "count" and ind.additive,
                               canonical=lambda ind: ind.canonical, authority=lambda ind: ind.authority)


def offline(engine: OfflineEngine, inst: RuleInstance, s: Submission) -> list[Evaluation]:
    # The unit's figure for its lower level: the level variant, or the concept in that level's block.
    fact = s.by_key.get((inst.canonical, rule_scope(SCOPE_OF_LETTER[inst.authority], s.level)))
    if _value(fact) is None or engine.registry is None or not s.unit_code or not s.year:
        return []
    child_level = LETTER_LEVEL[inst.authority]
    if LEVEL_RANK.get(s.level or "", -1) <= LEVEL_RANK.get(child_level, -1):
        return []
    children = engine.registry.descendants(s.unit_code, child_level, quarter_end(s.year, s.quarter))
    if not children:
        return []
    values = []
    for child in children:
        b = engine.basis.get((child, s.year, s.quarter))
        own = b.own.get(inst.canonical) if b is not None else None
        if _value(own) is None:
            return []  # not every lower-level unit has reported yet
        values.append(own.value)
    expected = sum(values, Decimal(0))
    status = "fail" if fact.value != expected else "pass"
    return [_ev(inst, s, status, fact, rows=[fact.row], observed=fact.value, expected=expected, children=len(children))]


def sql(engine: SqlEngine, kind: str) -> str:
    insts = engine.rules.of_kind(kind)
    level_of = {letter: name for name, letter in LEVEL_LETTERS.items()}
    values = [(lit(i.rule_id), lit(i.severity), lit(i.subject), lit(i.canonical), lit(level_of[i.authority]),
               lit(SCOPE_OF_LETTER[i.authority])) for i in insts]
    return f"""
{engine._instances(('rule_id', 'severity', 'subject', 'canonical', 'child_level', 'child_scope'), values)},
{keyed_cte(i.canonical for i in insts)},
current_values as (
    -- the unit's figure for its lower level: the level variant, or the concept in that level's block
    select inst.rule_id, inst.severity, inst.canonical, inst.child_level, s.*,
           {sql_quarter_end('s.year', 's.quarter')} as quarter_end
    from inst join keyed as s on s.concept_code = inst.canonical and s.rule_scope = inst.child_scope
                             and s.value is not null
    where {sql_level_rank('s.unit_level')} > {sql_level_rank('inst.child_level')}
),
child_quarters as (
    select c.rule_id, c.file_id, c.year, c.quarter, c.canonical, d.descendant_code
    from current_values as c
    join {engine.rel.descendants} as d
      on d.unit_code = c.unit_code and d.descendant_level = c.child_level
     and {sql_valid_on('d', 'c.quarter_end')}
),
children_basis as materialized ({engine._basis_by("select distinct descendant_code, year, quarter from child_quarters",
                                     {"unit_code": "descendant_code", "year": "year", "quarter": "quarter"},
                                     (i.canonical for i in insts))}),
children as (
    select c.rule_id, c.file_id, c.descendant_code, b.value as child_value
    from child_quarters as c
    left join children_basis as b
      on b.unit_code = c.descendant_code and b.year = c.year and b.quarter = c.quarter
     and b.own_indicator_code = c.canonical
),
sums as (
    select rule_id, file_id, count(*) as n_children, count(child_value) as n_values, sum(child_value) as total
    from children group by rule_id, file_id
)
{_select(rule_id="s.rule_id", kind=lit(kind), severity="s.severity",
         status="case when s.value <> sums.total then 'fail' else 'pass' end",
         expected="sums.total", details="jsonb_build_object('label', s.label, 'children', sums.n_children)")}
from current_values as s
join sums on sums.rule_id = s.rule_id and sums.file_id = s.file_id
where sums.n_children > 0 and sums.n_values = sums.n_children"""


def message_fields(ev: Evaluation, inst: RuleInstance | None, catalog: Catalog, lang: str) -> dict:
    d = ev.detail
    return {"children": d.get("children", "")}


KIND = RuleKind(name='levels_add_up', instances=instances, offline=offline, sql=sql,
                message_fields=message_fields)
