{{ config(materialized='incremental', incremental_strategy='delete+insert',
          unique_key=['unit_code', 'year', 'quarter'], on_schema_change='fail',
          post_hook="{{ remove_withdrawn_publications() }}",
          indexes=[{'columns': ['gate_seq']}]) }}

-- Staffing per unit-quarter: civil servants (biên chế công chức) and public-service employees.
with changed as materialized (
    {{ changed_publications() }}
),

own as (
    {{ own_figures_by_unit_quarter('changed', {
        'civil_servant_quota': 'org_cs_quota',
        'civil_servants_present': 'org_cs_present',
        'labour_contracts': 'org_cs_contracts',
        'civil_servants_streamlined': 'org_cs_streamlined',
        'civil_servant_streamlining_rate_vs_2015': 'org_cs_streamlined_rate_2015',
        'public_employee_quota': 'org_pse_quota',
        'public_employees_present': 'org_pse_present',
        'public_employees_streamlined': 'org_pse_streamlined',
        'public_employee_streamlining_rate_vs_2015': 'org_pse_streamlined_rate_2015',
        'public_service_units': 'org_public_units_total'
    }) }}
)

select
    unit_code, year, quarter, period_key,
    civil_servant_quota, civil_servants_present,
    (civil_servants_present > civil_servant_quota) as civil_servants_above_quota,
    labour_contracts, civil_servants_streamlined, civil_servant_streamlining_rate_vs_2015,
    public_employee_quota, public_employees_present,
    (public_employees_present > public_employee_quota) as public_employees_above_quota,
    public_employees_streamlined, public_employee_streamlining_rate_vs_2015,
    public_service_units,
    file_id, gate_seq
from own
