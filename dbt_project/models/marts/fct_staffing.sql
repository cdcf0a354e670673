{{ config(materialized='incremental', incremental_strategy='delete+insert',
          unique_key=['unit_code', 'year', 'quarter'], on_schema_change='fail',
          indexes=[{'columns': ['gate_seq']}]) }}

-- Staffing per unit-quarter: civil servants (biên chế công chức) and public-service employees.
with changed as (
    {{ changed_publications() }}
),

own as (
    select
        facts.unit_code, facts.year, facts.quarter, facts.period_key, facts.file_id, facts.gate_seq,
        {{ own_value('org_cs_quota') }}                   as civil_servant_quota,
        {{ own_value('org_cs_present') }}                 as civil_servants_present,
        {{ own_value('org_cs_contracts') }}               as labour_contracts,
        {{ own_value('org_cs_streamlined') }}             as civil_servants_streamlined,
        {{ own_value('org_cs_streamlined_rate_2015') }}   as civil_servant_streamlining_rate_vs_2015,
        {{ own_value('org_pse_quota') }}                  as public_employee_quota,
        {{ own_value('org_pse_present') }}                as public_employees_present,
        {{ own_value('org_pse_streamlined') }}            as public_employees_streamlined,
        {{ own_value('org_pse_streamlined_rate_2015') }}  as public_employee_streamlining_rate_vs_2015,
        {{ own_value('org_public_units_total') }}         as public_service_units
    from {{ ref('int_facts_published') }} as facts
    where facts.file_id in (select file_id from changed)
    group by facts.unit_code, facts.year, facts.quarter, facts.period_key, facts.file_id, facts.gate_seq
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
