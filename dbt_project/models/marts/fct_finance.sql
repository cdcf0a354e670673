{{ config(materialized='incremental', incremental_strategy='delete+insert',
          unique_key=['unit_code', 'year', 'quarter'], on_schema_change='fail',
          indexes=[{'columns': ['gate_seq']}]) }}

-- Public finance per unit-quarter: investment disbursement (million VND, rate recomputed
-- beside the reported one) and public service units by financial autonomy.
with changed as (
    {{ changed_publications() }}
),

own as (
    select
        facts.unit_code, facts.year, facts.quarter, facts.period_key, facts.file_id, facts.gate_seq,
        {{ own_value('fin_investment_plan') }}       as investment_plan_mvnd,
        {{ own_value('fin_investment_disbursed') }}  as investment_disbursed_mvnd,
        {{ own_value('fin_disbursement_rate') }}     as disbursement_rate_reported,
        {{ own_value('fin_units_total') }}           as public_service_units,
        {{ own_value('fin_units_self_full') }}       as units_self_financed_incl_investment,
        {{ own_value('fin_units_self_recurrent') }}  as units_self_financed_recurrent,
        {{ own_value('fin_units_partly') }}          as units_partly_self_financed,
        {{ own_value('fin_units_partly_70_100') }}   as units_partly_70_100,
        {{ own_value('fin_units_partly_30_70') }}    as units_partly_30_70,
        {{ own_value('fin_units_partly_10_30') }}    as units_partly_10_30,
        {{ own_value('fin_units_state') }}           as units_state_financed,
        {{ own_value('fin_units_equitised') }}       as units_equitised
    from {{ ref('int_facts_published') }} as facts
    where facts.file_id in (select file_id from changed)
    group by facts.unit_code, facts.year, facts.quarter, facts.period_key, facts.file_id, facts.gate_seq
)

select
    unit_code, year, quarter, period_key,
    investment_plan_mvnd, investment_disbursed_mvnd, disbursement_rate_reported,
    {{ recomputed_rate('investment_disbursed_mvnd', 'investment_plan_mvnd') }} as disbursement_rate_recomputed,
    public_service_units, units_self_financed_incl_investment, units_self_financed_recurrent,
    units_partly_self_financed, units_partly_70_100, units_partly_30_70, units_partly_10_30,
    units_state_financed, units_equitised,
    file_id, gate_seq
from own
