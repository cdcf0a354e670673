{{ config(materialized='incremental', incremental_strategy='delete+insert',
          unique_key=['unit_code', 'year', 'quarter'], on_schema_change='fail',
          post_hook="{{ remove_withdrawn_publications() }}",
          indexes=[{'columns': ['gate_seq']}]) }}

-- Public finance per unit-quarter: investment disbursement (million VND, rate recomputed
-- beside the reported one) and public service units by financial autonomy.
with changed as materialized (
    {{ changed_publications() }}
),

own as (
    {{ own_figures_by_unit_quarter('changed', {
        'investment_plan_mvnd': 'fin_investment_plan',
        'investment_disbursed_mvnd': 'fin_investment_disbursed',
        'disbursement_rate_reported': 'fin_disbursement_rate',
        'public_service_units': 'fin_units_total',
        'units_self_financed_incl_investment': 'fin_units_self_full',
        'units_self_financed_recurrent': 'fin_units_self_recurrent',
        'units_partly_self_financed': 'fin_units_partly',
        'units_partly_70_100': 'fin_units_partly_70_100',
        'units_partly_30_70': 'fin_units_partly_30_70',
        'units_partly_10_30': 'fin_units_partly_10_30',
        'units_state_financed': 'fin_units_state',
        'units_equitised': 'fin_units_equitised'
    }) }}
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
