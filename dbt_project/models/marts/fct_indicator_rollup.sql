{{ config(materialized='incremental', incremental_strategy='delete+insert',
          unique_key=['rollup_scope', 'unit_code', 'year', 'quarter'], on_schema_change='fail',
          pre_hook=["set local enable_nestloop = off", "set local enable_sort = off"],
          post_hook=["reset enable_nestloop", "reset enable_sort", "{{ remove_withdrawn_rollups() }}"],
          indexes=[{'columns': ['gate_seq']}]) }}

-- Figures rolled up to today's units (through the 2025 reorganisation) and to provinces.
-- Counts are summed (weighted where a unit was split); rates are recomputed from the summed
-- numerators and denominators of units that reported both, never averaged.
-- scope = 'unit': the units' own figures (they do not overlap, so they add up across levels).
-- Other scopes: the per-level figures a unit gives about its levels (a province's "cấp huyện"
-- block), carried to today's unit from predecessors of its own level only (two merged
-- provinces' blocks add up; a district's "cấp xã" rows would double a province's); they are
-- not summed into provinces.
-- Incremental per group: only today's units fed by a changed submission are recomputed from
-- figures; their provinces are re-summed from today's-unit rows, so a correction touches a
-- handful of units, not every figure of its quarter.
-- Nested loops are off while this model's query runs (its hooks): the planner cannot
-- see how many rows the materialized CTEs hold, guessed one submission where there were hundreds,
-- and joined the figures with themselves row by row (minutes on a national quarter). The figures
-- themselves are still read per submission through their key (enriched_facts' lateral join), and
-- the post-hook's delete, which needs them, runs with nested loops back on. Sorts are off too, for
-- the same misestimate: the planner sorted the kept rows of every changed province (hundreds of
-- thousands) to group them; hashing them is about twice as fast, whole build or increment (the
-- distinct counts still sort their own input).
with lineage as (
    select * from {{ ref('int_org_units_lineage') }}
),

indicators as (
    select * from {{ ref('stg_reference__indicators') }}
),

published as (
    select * from {{ ref('int_submissions_published') }}
),

-- Groups fed by a changed publication, or by a unit-quarter withdrawn on review (few).
changed_groups as (
    select distinct lineage.current_unit_code, lineage.current_province_code, changed.year, changed.quarter
    from (
        select unit_code, year, quarter from ({{ changed_publications() }}) as changed_publications
        union
        select unit_code, year, quarter from ({{ withdrawn_publications() }}) as withdrawn
    ) as changed
    join lineage on lineage.unit_code = changed.unit_code
),

-- Every unit that flows into a changed group, with its share. Materialized so its published
-- submission is then looked up on the whole key: joined on the quarter alone first, the
-- groups met every submission of their quarter (millions of rows).
group_sources as materialized (
    select groups.current_unit_code, groups.year, groups.quarter, lineage.unit_code, lineage.weight,
           lineage.current_unit_level
    from (select distinct current_unit_code, year, quarter from changed_groups) as groups
    join lineage on lineage.current_unit_code = groups.current_unit_code
),

source_submissions as (
    select group_sources.current_unit_code, group_sources.weight, published.file_id,
           published.unit_level = group_sources.current_unit_level as same_level
    from group_sources
    join published
        on published.unit_code = group_sources.unit_code
       and published.year = group_sources.year
       and published.quarter = group_sources.quarter
),

changed_provinces as (
    select distinct current_province_code as province_code, year, quarter
    from changed_groups
    where current_province_code is not null
),

-- A unit split between two of today's units in one province reaches the province twice;
-- count it once: subtract its extra successors wherever it contributed.
split_units as (
    select unit_code, current_province_code as province_code, count(*) - 1 as extra_successors
    from lineage
    where current_province_code is not null
    group by unit_code, current_province_code
    having count(*) > 1
),

split_submissions as (
    select split_units.province_code, split_units.extra_successors, published.file_id
    from split_units
    join published on published.unit_code = split_units.unit_code
    join changed_provinces
        on changed_provinces.province_code = split_units.province_code
       and changed_provinces.year = published.year
       and changed_provinces.quarter = published.quarter
),

-- Every figure the groups above need, read once per file through the facts' key.
needed_publications as materialized (
    select * from published
    where file_id in (select source_submissions.file_id from source_submissions
                      union all
                      select split_submissions.file_id from split_submissions)
),

needed_facts as (
    {{ published_facts('needed_publications', ['gate_seq', 'period_key']) }}
),

own as (
    select source_submissions.current_unit_code, source_submissions.weight,
           facts.unit_code, facts.year, facts.quarter, facts.period_key,
           facts.own_indicator_code as indicator_code, 'unit'::text as scope, facts.value, facts.gate_seq
    from needed_facts as facts
    join source_submissions on source_submissions.file_id = facts.file_id
    where facts.own_indicator_code is not null and facts.value is not null
    union all
    select source_submissions.current_unit_code, source_submissions.weight,
           facts.unit_code, facts.year, facts.quarter, facts.period_key,
           facts.indicator_code, facts.scope, facts.value, facts.gate_seq
    from needed_facts as facts
    join source_submissions on source_submissions.file_id = facts.file_id and source_submissions.same_level
    where facts.own_indicator_code is null and facts.indicator_code is not null and facts.value is not null
      and facts.scope <> 'unit'
),

counts as (
    select own.current_unit_code, own.year, own.quarter, own.period_key, own.indicator_code, own.scope,
           sum(own.value * own.weight) as value,
           null::numeric as numerator_value,
           null::numeric as denominator_value,
           count(distinct own.unit_code) as source_units,
           max(own.gate_seq) as gate_seq
    from own
    join indicators on indicators.indicator_code = own.indicator_code and indicators.is_additive
    group by 1, 2, 3, 4, 5, 6
),

rates as (
    select numerators.current_unit_code, numerators.year, numerators.quarter, numerators.period_key,
           indicators.indicator_code, numerators.scope,
           sum(numerators.value * numerators.weight)     as numerator_value,
           sum(denominators.value * denominators.weight) as denominator_value,
           count(distinct numerators.unit_code)          as source_units,
           max(numerators.gate_seq)                      as gate_seq
    {{ rate_pairs('indicators', 'own', 'current_unit_code', match_scope=true) }}
    group by 1, 2, 3, 4, 5, 6
),

current_units as (
    select 'current_unit'::text as rollup_scope, current_unit_code as unit_code, year, quarter, period_key,
           indicator_code, scope, value, numerator_value, denominator_value, source_units, gate_seq
    from counts
    union all
    select 'current_unit'::text, current_unit_code, year, quarter, period_key, indicator_code, scope,
           {{ recomputed_rate('numerator_value', 'denominator_value') }}, numerator_value, denominator_value,
           source_units, gate_seq
    from rates
),

province_of_current_unit as (
    select distinct current_unit_code, current_province_code as province_code
    from lineage
    where current_province_code is not null
),

-- Today's-unit rows a changed province is summed from: the recomputed ones (all in changed
-- provinces), and the rest of those provinces as built.
province_inputs as (
    select * from current_units where scope = 'unit'
    {% if is_incremental() %}
    union all
    select kept.rollup_scope, kept.unit_code, kept.year, kept.quarter, kept.period_key, kept.indicator_code,
           kept.scope, kept.value, kept.numerator_value, kept.denominator_value, kept.source_units, kept.gate_seq
    from {{ this }} as kept
    join province_of_current_unit on province_of_current_unit.current_unit_code = kept.unit_code
    join changed_provinces
        on changed_provinces.province_code = province_of_current_unit.province_code
       and changed_provinces.year = kept.year
       and changed_provinces.quarter = kept.quarter
    where kept.rollup_scope = 'current_unit' and kept.scope = 'unit'
      and not exists (select 1 from changed_groups
                      where changed_groups.current_unit_code = kept.unit_code
                        and changed_groups.year = kept.year
                        and changed_groups.quarter = kept.quarter)
    {% endif %}
),

split_own as (
    select split_submissions.province_code, split_submissions.extra_successors,
           facts.unit_code, facts.year, facts.quarter, facts.own_indicator_code as indicator_code
    from needed_facts as facts
    join split_submissions on split_submissions.file_id = facts.file_id
    where facts.own_indicator_code is not null and facts.value is not null
),

split_overlap as (
    select split_own.province_code, split_own.year, split_own.quarter, split_own.indicator_code,
           sum(split_own.extra_successors) as extra_units
    from split_own
    join indicators on indicators.indicator_code = split_own.indicator_code and indicators.is_additive
    group by 1, 2, 3, 4
    union all
    select numerators.province_code, numerators.year, numerators.quarter, indicators.indicator_code,
           sum(numerators.extra_successors)
    {{ rate_pairs('indicators', 'split_own', 'province_code') }}
    group by 1, 2, 3, 4
),

province_sums as (
    select province_of_current_unit.province_code, inputs.year, inputs.quarter, inputs.period_key,
           inputs.indicator_code,
           sum(inputs.value)             as value,
           sum(inputs.numerator_value)   as numerator_value,
           sum(inputs.denominator_value) as denominator_value,
           sum(inputs.source_units)      as source_units,
           max(inputs.gate_seq)          as gate_seq
    from province_inputs as inputs
    join province_of_current_unit on province_of_current_unit.current_unit_code = inputs.unit_code
    group by 1, 2, 3, 4, 5
),

provinces as (
    select 'province'::text as rollup_scope, sums.province_code as unit_code, sums.year, sums.quarter,
           sums.period_key, sums.indicator_code, 'unit'::text as scope,
           case when indicators.is_additive then sums.value
                else {{ recomputed_rate('sums.numerator_value', 'sums.denominator_value') }} end as value,
           sums.numerator_value, sums.denominator_value,
           (sums.source_units - coalesce(split_overlap.extra_units, 0))::bigint as source_units,
           sums.gate_seq
    from province_sums as sums
    join indicators on indicators.indicator_code = sums.indicator_code
    left join split_overlap
        on split_overlap.province_code = sums.province_code
       and split_overlap.year = sums.year
       and split_overlap.quarter = sums.quarter
       and split_overlap.indicator_code = sums.indicator_code
)

select * from current_units
union all
select * from provinces
