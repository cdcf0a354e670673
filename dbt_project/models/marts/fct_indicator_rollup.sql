{{ config(materialized='incremental', incremental_strategy='delete+insert',
          unique_key=['year', 'quarter'], on_schema_change='fail',
          indexes=[{'columns': ['gate_seq']}, {'columns': ['rollup_scope', 'unit_code', 'year', 'quarter']}]) }}

-- Figures rolled up to today's units (through the 2025 reorganisation) and to provinces.
-- Counts are summed (weighted where a unit was split); rates are recomputed from the summed
-- numerators and denominators of units that reported both, never averaged.
with changed_quarters as (
    select distinct year, quarter from ({{ changed_publications() }}) as changed
),

own as (
    select facts.unit_code, facts.year, facts.quarter, facts.period_key, facts.own_indicator_code as indicator_code,
           facts.value, facts.gate_seq
    from {{ ref('int_facts_published') }} as facts
    join changed_quarters on changed_quarters.year = facts.year and changed_quarters.quarter = facts.quarter
    where facts.own_indicator_code is not null and facts.value is not null
),

scoped as (
    select 'current_unit'::text as rollup_scope, lineage.current_unit_code as rollup_unit_code, lineage.weight, own.*
    from own join {{ ref('int_org_units_lineage') }} as lineage on lineage.unit_code = own.unit_code
    union all
    select 'province'::text, lineage.current_province_code, lineage.weight, own.*
    from own join {{ ref('int_org_units_lineage') }} as lineage on lineage.unit_code = own.unit_code
    where lineage.current_province_code is not null
),

indicators as (
    select * from {{ ref('stg_reference__indicators') }}
),

counts as (
    select scoped.rollup_scope, scoped.rollup_unit_code, scoped.year, scoped.quarter, scoped.period_key,
           scoped.indicator_code,
           sum(scoped.value * scoped.weight) as value,
           null::numeric as numerator_value,
           null::numeric as denominator_value,
           count(distinct scoped.unit_code) as source_units,
           max(scoped.gate_seq) as gate_seq
    from scoped
    join indicators on indicators.indicator_code = scoped.indicator_code and indicators.is_additive
    group by 1, 2, 3, 4, 5, 6
),

rates as (
    select numerators.rollup_scope, numerators.rollup_unit_code, numerators.year, numerators.quarter,
           numerators.period_key, indicators.indicator_code,
           sum(numerators.value * numerators.weight)     as numerator_value,
           sum(denominators.value * denominators.weight) as denominator_value,
           count(distinct numerators.unit_code)          as source_units,
           max(numerators.gate_seq)                      as gate_seq
    from indicators
    join scoped as numerators on numerators.indicator_code = indicators.numerator_code
    -- Only denominator rows take part: the merge join then sorts a tenth of the scoped figures.
    join (select * from scoped
          where indicator_code in (select denominator_code from indicators
                                   where kind = 'percent' and canonical_code is null)) as denominators
        on denominators.indicator_code = indicators.denominator_code
       and denominators.unit_code = numerators.unit_code
       and denominators.year = numerators.year
       and denominators.quarter = numerators.quarter
       and denominators.rollup_scope = numerators.rollup_scope
       and denominators.rollup_unit_code = numerators.rollup_unit_code
    where indicators.kind = 'percent' and indicators.canonical_code is null
    group by 1, 2, 3, 4, 5, 6
)

select rollup_scope, rollup_unit_code as unit_code, year, quarter, period_key, indicator_code,
       value, numerator_value, denominator_value, source_units, gate_seq
from counts
union all
select rollup_scope, rollup_unit_code, year, quarter, period_key, indicator_code,
       {{ recomputed_rate('numerator_value', 'denominator_value') }}, numerator_value, denominator_value,
       source_units, gate_seq
from rates
