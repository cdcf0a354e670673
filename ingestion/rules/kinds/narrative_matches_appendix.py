"""narrative_matches_appendix: A figure the narrative states must match the appendix."""
from __future__ import annotations

from ...indicators import LEVEL_LETTERS, Catalog
from ...text.values import PERCENT
from ..model import Evaluation, Submission
from ..narrative import level_allows, targets_table
from ..offline import OfflineEngine, _ev, _value
from ..ruleset import RuleInstance, severity_of
from ..sql import SqlEngine, _select, lit, text_array
from ..messages import _quote, short_name
from . import RuleKind


def instances(kind: str, rule: dict, catalog: Catalog) -> list[RuleInstance]:
    """One instance per indicator a narrative pattern compares (dbt_project/seeds/narrative_patterns.csv)."""
    from ...document.narrative import load_patterns

    out = []
    for code in dict.fromkeys(p.indicator for p in load_patterns() if p.compare):
        if code not in catalog:
            raise ValueError(f"narrative_patterns.csv names unknown indicator {code!r}")
        out.append(RuleInstance(f"{kind}:{code}", kind, severity_of(rule, code), code))
    return out


def offline(engine: OfflineEngine, inst: RuleInstance, s: Submission) -> list[Evaluation]:
    out = []
    for n in s.narrative:
        if n.indicator != inst.subject or not n.compare or not level_allows(n.levels, s.level):
            continue
        for target in engine.targets.get((n.indicator, n.scope, s.level), ()):
            how, code = target.split(":", 1)
            if how == "own":
                fact = s.own.get(code)
            else:  # "row:<concept>@<rule scope>": the appendix's figure of that concept for that level
                concept, scope = code.split("@", 1)
                fact = s.by_key.get((concept, scope))
            if _value(fact) is None:
                continue
            if fact.kind == PERCENT or engine.catalog[n.indicator].kind == PERCENT:
                agree = abs(n.value - fact.value) <= engine.tolerance
            else:
                agree = n.value == fact.value
            out.append(_ev(inst, s, "pass" if agree else "fail", fact, rows=(fact.row,), observed=n.value,
                           expected=fact.value, paragraph=n.paragraph, position=n.position, sentence=n.sentence,
                           narrative_indicator=n.indicator, scope=n.scope))
            break
    return out


def _level_letter(column: str) -> str:
    return "case " + column + "".join(f" when {lit(level)} then {lit(letter)}" for level, letter in LEVEL_LETTERS.items()) + " end"


def sql(engine: SqlEngine, kind: str) -> str:
    rule = {i.subject: i for i in engine.rules.of_kind(kind)}
    values = [(lit(rule[code].rule_id), lit(rule[code].severity), lit(code), lit(scope), lit(level), text_array(targets))
              for (code, scope, level), targets in targets_table(engine.catalog, engine.rules).items() if targets]
    return f"""
{engine._instances(('rule_id', 'severity', 'subject', 'scope', 'unit_level', 'targets'), values)},
submissions as (select file_id, min(unit_level) as unit_level from gate_batch group by file_id),
narrative as (
    select n.*, s.unit_level
    from {engine.rel.narrative} as n
    join submissions as s on s.file_id = n.file_id
    where n.comparable and (n.levels = '' or strpos(n.levels, coalesce({_level_letter('s.unit_level')}, '?')) > 0)
),
candidates as (
    select inst.rule_id, inst.severity, n.paragraph_number, n.position as narrative_position, n.sentence,
           n.indicator_code as narrative_indicator, n.scope as narrative_scope, n.value as narrative_value,
           n.kind as narrative_kind,
           t.ordinal, f.*
    from narrative as n
    join inst on inst.subject = n.indicator_code and inst.scope = n.scope
              and inst.unit_level is not distinct from n.unit_level
    cross join lateral unnest(inst.targets) with ordinality as t(target, ordinal)
    join gate_batch as f
      on f.file_id = n.file_id and f.value is not null
     and case split_part(t.target, ':', 1)
             when 'own' then f.own_indicator_code = split_part(t.target, ':', 2)
             -- "row:<concept>@<rule scope>": that concept's figure for that level (narrative.py)
             else f.concept_code = split_part(split_part(t.target, ':', 2), '@', 1)
                  and f.rule_scope = split_part(t.target, '@', 2)
         end
),
picked as (
    select distinct on (file_id, paragraph_number, narrative_position) *
    -- as Submission.by_key: of two rows of one concept and scope, the generic (unit-scope) row, then the first
    from candidates order by file_id, paragraph_number, narrative_position, ordinal, (scope = 'unit') desc, sheet,
                             row_number
)
{_select(rule_id="s.rule_id", kind=lit(kind), severity="s.severity",
         status=f"case when (s.kind = 'percent' or s.narrative_kind = 'percent') "
                f"then case when abs(s.narrative_value - s.value) > {engine.tolerance} then 'fail' else 'pass' end "
                f"when s.narrative_value <> s.value then 'fail' else 'pass' end",
         observed="s.narrative_value", expected="s.value",
         details="jsonb_build_object('label', s.label, 'paragraph', s.paragraph_number, 'position', "
                 "s.narrative_position, 'sentence', s.sentence, 'narrative_indicator', s.narrative_indicator, "
                 "'scope', s.narrative_scope)")}
from picked as s"""


def message_fields(ev: Evaluation, inst: RuleInstance | None, catalog: Catalog, lang: str) -> dict:
    d = ev.detail
    fields = {"paragraph": d.get("paragraph", ""), "sentence": _quote(d.get("sentence", ""))}
    if d.get("narrative_indicator"):  # "đã tiếp nhận 1.234 hồ sơ": the narrative's indicator, in lower case
        name = short_name(catalog, d["narrative_indicator"], lang)
        fields["name"] = name[:1].lower() + name[1:]
    return fields


KIND = RuleKind(name='narrative_matches_appendix', instances=instances, offline=offline, sql=sql,
                message_fields=message_fields)
