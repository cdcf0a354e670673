{{ config(materialized='incremental', incremental_strategy='delete+insert',
          unique_key=['rollup_scope', 'unit_code', 'year', 'quarter'], on_schema_change='fail',
          pre_hook=["set local enable_nestloop = off", "set local enable_sort = off", "set local work_mem = '32MB'"],
          post_hook=["reset enable_nestloop", "reset enable_sort", "reset work_mem", "{{ remove_withdrawn_rollups() }}"],
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
-- figures; their provinces are corrected by the difference those units make (see
-- previous_provinces), so a correction touches a handful of units, not every figure of its quarter
-- nor every unit of its province.
-- Nested loops are off while this model's query runs (its hooks): the planner cannot
-- see how many rows the materialized CTEs hold, guessed one submission where there were hundreds,
-- and joined the figures with themselves row by row (minutes on a national quarter). The figures
-- themselves are still read per submission through their key (enriched_facts' lateral join), and
-- the post-hook's delete, which needs them, runs with nested loops back on. Sorts are off too, for
-- the same misestimate: the planner sorted the kept rows of every changed province (hundreds of
-- thousands) to group them; hashing them is about twice as fast, whole build or increment (the
-- distinct counts still sort their own input).
-- Its sorts and hash tables get 32 MB (work_mem): at the default 4 MB the distinct counts and a rate's
-- pairs were sorted on disk, and hash tables sized for the same misestimate were split into batches on
-- disk (111 MB of temporary files on a 1 % rerun of a 55 k-file history).
with lineage as (
    select * from {{ ref('int_org_units_lineage') }}
),

indicators as (
    select * from {{ ref('stg_reference__indicators') }}
),

published as (
    select * from {{ ref('int_submissions_published') }}
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

-- Groups fed by a changed publication, or by a unit-quarter withdrawn on review (few); whether a
-- unit split within its province is among their changed sources (see previous_provinces).
changed_groups as (
    select lineage.current_unit_code, lineage.current_province_code, changed.year, changed.quarter,
           bool_or(changed.unit_code in (select split_units.unit_code from split_units)) as from_split_unit
    from (
        select unit_code, year, quarter from ({{ changed_publications() }}) as changed_publications
        union
        select unit_code, year, quarter from ({{ withdrawn_publications() }}) as withdrawn
    ) as changed
    join lineage on lineage.unit_code = changed.unit_code
    group by 1, 2, 3, 4
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

-- Every figure the groups above need, read once per file through the facts' key. Only the
-- columns summed (not the labels, notes and warnings BI reads): the figures are held once for the
-- joins below, and at their full width that copy spilled hundreds of MB to disk on a national quarter.
needed_publications as materialized (
    select * from published
    where file_id in (select source_submissions.file_id from source_submissions)
),

needed_facts as materialized (
    select facts.file_id, facts.unit_code, facts.year, facts.quarter, facts.period_key, facts.gate_seq,
           facts.indicator_code, facts.own_indicator_code, facts.scope, facts.value
    from ({{ enriched_facts('needed_publications', ['gate_seq', 'period_key']) }}) as facts
    where facts.value is not null
),

-- A unit's own figures, in its own scope; and the per-level figures it gives about its levels
-- (carried only to a today's unit of its own level). One pass over the figures.
own as (
    select source_submissions.current_unit_code, source_submissions.weight,
           facts.unit_code, facts.year, facts.quarter, facts.period_key,
           coalesce(facts.own_indicator_code, facts.indicator_code) as indicator_code,
           case when facts.own_indicator_code is not null then 'unit'::text else facts.scope end as scope,
           facts.value, facts.gate_seq
    from needed_facts as facts
    join source_submissions on source_submissions.file_id = facts.file_id
    where facts.own_indicator_code is not null
       or (facts.indicator_code is not null and facts.scope <> 'unit' and source_submissions.same_level)
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

-- The recomputed today's units' own-scope rows, each with its province: what provinces are summed from
-- (a full build) or corrected by (an incremental one).
recomputed_unit_rows as (
    select province_of_current_unit.province_code, current_units.year, current_units.quarter,
           current_units.period_key, current_units.indicator_code, current_units.value,
           current_units.numerator_value, current_units.denominator_value, current_units.source_units,
           current_units.gate_seq
    from current_units
    join province_of_current_unit on province_of_current_unit.current_unit_code = current_units.unit_code
    where current_units.scope = 'unit'
),

{%- if is_incremental() %}

-- A changed province is corrected by the difference its changed today's units make: its rows as built,
-- minus those units' rows as built, plus their recomputed rows. Summing every unit of every changed
-- province again (most of the history when a correction touches most provinces) cost seconds that grew
-- with the history; the difference costs what changed. Sums, numerators, denominators and unit counts
-- are exact under it. Two things are not, and such a province is summed again from all of its units'
-- rows (province_inputs), as a full build does: its latest gate decision (a max) when the replaced
-- rows held it and the recomputed ones do not (a figure dropped, an older version accepted on review),
-- and its split overlap when a unit split within the province changed.
previous_provinces as (
    select built.unit_code as province_code, built.year, built.quarter, built.period_key, built.indicator_code,
           built.value, built.numerator_value, built.denominator_value, built.source_units, built.gate_seq
    from {{ this }} as built
    join changed_provinces
        on changed_provinces.province_code = built.unit_code
       and changed_provinces.year = built.year
       and changed_provinces.quarter = built.quarter
    where built.rollup_scope = 'province'
      and built.unit_code = any(array(select provinces.province_code from changed_provinces as provinces))
),

replaced_rows as (
    select groups.current_province_code as province_code, built.year, built.quarter, built.period_key,
           built.indicator_code, built.value, built.numerator_value, built.denominator_value, built.source_units,
           built.gate_seq
    from (select distinct year, quarter from changed_groups where current_province_code is not null) as periods
    cross join lateral ({{ rollup_unit_rows('periods.year', 'periods.quarter',
                                            'select groups.current_unit_code from changed_groups as groups
                                             where groups.year = periods.year and groups.quarter = periods.quarter
                                               and groups.current_province_code is not null') }}) as built
    join changed_groups as groups
        on groups.current_unit_code = built.unit_code
       and groups.year = built.year
       and groups.quarter = built.quarter
),


resummed_provinces as (
    select current_province_code as province_code, year, quarter
    from changed_groups
    where current_province_code is not null and from_split_unit
    union
    select replaced.province_code, replaced.year, replaced.quarter
    from (select province_code, year, quarter, indicator_code, max(gate_seq) as gate_seq
          from replaced_rows group by 1, 2, 3, 4) as replaced
    left join previous_provinces as previous
        on previous.province_code = replaced.province_code
       and previous.year = replaced.year
       and previous.quarter = replaced.quarter
       and previous.indicator_code = replaced.indicator_code
    left join (select province_code, year, quarter, indicator_code, max(gate_seq) as gate_seq
               from recomputed_unit_rows group by 1, 2, 3, 4) as replacing
        on replacing.province_code = replaced.province_code
       and replacing.year = replaced.year
       and replacing.quarter = replaced.quarter
       and replacing.indicator_code = replaced.indicator_code
    where previous.gate_seq is null
       or (replaced.gate_seq >= previous.gate_seq
           and (replacing.gate_seq is null or replacing.gate_seq < previous.gate_seq))
),
{%- endif %}

-- Today's-unit rows a province is summed from (all of them on a full build; on an incremental one,
-- those of the changed provinces summed again: the recomputed rows and the rest as built).
province_inputs as (
    select recomputed.province_code, recomputed.year, recomputed.quarter, recomputed.period_key,
           recomputed.indicator_code, recomputed.value, recomputed.numerator_value, recomputed.denominator_value,
           recomputed.source_units, recomputed.gate_seq
    from recomputed_unit_rows as recomputed
    {%- if is_incremental() %}
    join resummed_provinces
        on resummed_provinces.province_code = recomputed.province_code
       and resummed_provinces.year = recomputed.year
       and resummed_provinces.quarter = recomputed.quarter
    {%- endif %}
    {%- if is_incremental() %}
    union all
    select resummed.province_code, kept.year, kept.quarter, kept.period_key, kept.indicator_code,
           kept.value, kept.numerator_value, kept.denominator_value, kept.source_units, kept.gate_seq
    from resummed_provinces as resummed
    cross join lateral ({{ rollup_unit_rows('resummed.year', 'resummed.quarter',
                                            'select units.current_unit_code from province_of_current_unit as units
                                             where units.province_code = resummed.province_code') }}) as kept
    where not exists (select 1 from changed_groups
                      where changed_groups.current_unit_code = kept.unit_code
                        and changed_groups.year = kept.year
                        and changed_groups.quarter = kept.quarter)
    {%- endif %}
),

-- The split units' figures of the provinces summed from their units' rows (all of them on a full
-- build): what their overlap is taken from.
split_submissions as (
    select split_units.province_code, split_units.extra_successors, published.file_id
    from split_units
    join published on published.unit_code = split_units.unit_code
    join {% if is_incremental() %}resummed_provinces{% else %}changed_provinces{% endif %} as provinces
        on provinces.province_code = split_units.province_code
       and provinces.year = published.year
       and provinces.quarter = published.quarter
),

split_publications as materialized (
    select * from published
    where file_id in (select split_submissions.file_id from split_submissions)
),

split_facts as (
    {{ enriched_facts('split_publications') }}
),

split_own as (
    select split_submissions.province_code, split_submissions.extra_successors,
           facts.unit_code, facts.year, facts.quarter, facts.own_indicator_code as indicator_code
    from split_facts as facts
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
    select inputs.province_code, inputs.year, inputs.quarter, inputs.period_key, inputs.indicator_code,
           sum(inputs.value)             as value,
           sum(inputs.numerator_value)   as numerator_value,
           sum(inputs.denominator_value) as denominator_value,
           sum(inputs.source_units)      as source_units,
           max(inputs.gate_seq)          as gate_seq
    from province_inputs as inputs
    group by 1, 2, 3, 4, 5
),

province_figures as (
    select sums.province_code, sums.year, sums.quarter, sums.period_key, sums.indicator_code,
           sums.value, sums.numerator_value, sums.denominator_value,
           sums.source_units - coalesce(split_overlap.extra_units, 0) as source_units, sums.gate_seq
    from province_sums as sums
    left join split_overlap
        on split_overlap.province_code = sums.province_code
       and split_overlap.year = sums.year
       and split_overlap.quarter = sums.quarter
       and split_overlap.indicator_code = sums.indicator_code
    {%- if is_incremental() %}
    union all
    -- The other changed provinces: as built, minus the replaced rows, plus the recomputed ones. Their
    -- unit counts are net of the split overlap already, which no change of theirs moved; an indicator
    -- none of their units gives any more is left with no unit and no row.
    select differences.province_code, differences.year, differences.quarter, differences.period_key,
           differences.indicator_code,
           sum(differences.value),
           sum(differences.numerator_value),
           sum(differences.denominator_value),
           sum(differences.source_units),
           max(differences.gate_seq)
    from (
        select province_code, year, quarter, period_key, indicator_code,
               value, numerator_value, denominator_value, source_units, gate_seq
        from previous_provinces
        union all
        select province_code, year, quarter, period_key, indicator_code,
               -value, -numerator_value, -denominator_value, -source_units, null
        from replaced_rows
        union all
        select province_code, year, quarter, period_key, indicator_code,
               value, numerator_value, denominator_value, source_units, gate_seq
        from recomputed_unit_rows
    ) as differences
    where not exists (select 1 from resummed_provinces
                      where resummed_provinces.province_code = differences.province_code
                        and resummed_provinces.year = differences.year
                        and resummed_provinces.quarter = differences.quarter)
    group by 1, 2, 3, 4, 5
    having sum(differences.source_units) > 0
    {%- endif %}
),

provinces as (
    select 'province'::text as rollup_scope, figures.province_code as unit_code, figures.year, figures.quarter,
           figures.period_key, figures.indicator_code, 'unit'::text as scope,
           -- trim_scale: a sum corrected by a difference keeps the decimals of rows it no longer holds
           -- (10.50 - 0.50 + 1 = 11.00); trimmed, it reads as the full sum does (11).
           case when indicators.is_additive then trim_scale(figures.value)
                else {{ recomputed_rate('figures.numerator_value', 'figures.denominator_value') }} end as value,
           trim_scale(figures.numerator_value) as numerator_value,
           trim_scale(figures.denominator_value) as denominator_value,
           figures.source_units::bigint as source_units,
           figures.gate_seq
    from province_figures as figures
    join indicators on indicators.indicator_code = figures.indicator_code
)

select * from current_units
union all
select * from provinces
