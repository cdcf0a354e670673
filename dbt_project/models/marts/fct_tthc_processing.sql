{{ config(materialized='incremental', incremental_strategy='delete+insert',
          unique_key=['unit_code', 'year', 'quarter'], on_schema_change='fail',
          indexes=[{'columns': ['gate_seq']}]) }}

-- Administrative-procedure processing per unit-quarter (the unit's own figures), with the
-- on-time and online rates recomputed from counts beside the reported ones.
with changed as (
    {{ changed_publications() }}
),

own as (
    select
        facts.unit_code, facts.year, facts.quarter, facts.period_key, facts.file_id, facts.gate_seq,
        {{ own_value('tthc_in_force') }}                  as procedures_in_force,
        {{ own_value('tthc_in_force_province') }}         as procedures_in_force_province_level,
        {{ own_value('tthc_in_force_district') }}         as procedures_in_force_district_level,
        {{ own_value('tthc_in_force_commune') }}          as procedures_in_force_commune_level,
        {{ own_value('tthc_simplified') }}                as procedures_simplified,
        {{ own_value('tthc_new') }}                       as procedures_new,
        {{ own_value('tthc_abolished') }}                 as procedures_abolished,
        {{ own_value('tthc_linked_same_level') }}         as one_stop_linked_same_level,
        {{ own_value('tthc_linked_across_levels') }}      as one_stop_linked_across_levels,
        {{ own_value('tthc_location_independent') }}      as procedures_location_independent,
        {{ own_value('egov_dvc_l3_eligible') }}           as online_l3_eligible,
        {{ own_value('egov_dvc_l3_provided') }}           as online_l3_provided,
        {{ own_value('egov_dvc_l3_with_dossiers') }}      as online_l3_with_dossiers,
        {{ own_value('egov_dvc_l4_eligible') }}           as online_l4_eligible,
        {{ own_value('egov_dvc_l4_provided') }}           as online_l4_provided,
        {{ own_value('egov_dvc_l4_with_dossiers') }}      as online_l4_with_dossiers,
        {{ own_value('tthc_dossiers_received_total') }}   as dossiers_received,
        {{ own_value('tthc_dossiers_received_new') }}     as dossiers_received_new,
        {{ own_value('tthc_dossiers_received_online') }}  as dossiers_received_online,
        {{ own_value('tthc_dossiers_received_direct') }}  as dossiers_received_direct,
        {{ own_value('tthc_dossiers_carried_over') }}     as dossiers_carried_over,
        {{ own_value('egov_dossiers_received') }}         as dossiers_received_l34,
        {{ own_value('egov_dossiers_online') }}           as dossiers_received_l34_online,
        coalesce({{ own_value('tthc_dossiers_resolved') }}, {{ own_value('tthc_dossiers_resolved_total') }}) as dossiers_resolved,
        {{ own_value('tthc_dossiers_resolved_early') }}   as dossiers_resolved_early,
        coalesce({{ own_value('tthc_dossiers_resolved_ontime') }}, {{ own_value('tthc_dossiers_ontime') }}) as dossiers_resolved_on_time,
        {{ own_value('tthc_dossiers_resolved_late') }}    as dossiers_resolved_late,
        {{ own_value('tthc_dossiers_pending') }}          as dossiers_pending,
        {{ own_value('tthc_dossiers_pending_within') }}   as dossiers_pending_within_deadline,
        {{ own_value('tthc_dossiers_pending_overdue') }}  as dossiers_pending_overdue,
        {{ own_value('tthc_ontime_rate') }}               as on_time_rate_reported,
        {{ own_value('tthc_dossiers_ontime') }}           as on_time_rate_numerator,
        {{ own_value('tthc_dossiers_resolved') }}         as on_time_rate_denominator,
        {{ own_value('egov_online_dossier_rate') }}       as online_rate_reported,
        {{ own_value('tthc_feedback_received') }}         as feedback_received,
        {{ own_value('tthc_feedback_resolved') }}         as feedback_resolved,
        {{ own_value('tthc_feedback_rate') }}             as feedback_rate_reported
    from {{ ref('int_facts_published') }} as facts
    where facts.file_id in (select file_id from changed)
    group by facts.unit_code, facts.year, facts.quarter, facts.period_key, facts.file_id, facts.gate_seq
)

select
    unit_code, year, quarter, period_key,
    procedures_in_force, procedures_in_force_province_level, procedures_in_force_district_level,
    procedures_in_force_commune_level, procedures_simplified, procedures_new, procedures_abolished,
    one_stop_linked_same_level, one_stop_linked_across_levels, procedures_location_independent,
    online_l3_eligible, online_l3_provided, online_l3_with_dossiers,
    online_l4_eligible, online_l4_provided, online_l4_with_dossiers,
    dossiers_received, dossiers_received_new, dossiers_received_online, dossiers_received_direct,
    dossiers_carried_over, dossiers_received_l34, dossiers_received_l34_online,
    dossiers_resolved, dossiers_resolved_early, dossiers_resolved_on_time, dossiers_resolved_late,
    dossiers_pending, dossiers_pending_within_deadline, dossiers_pending_overdue,
    on_time_rate_reported,
    {{ recomputed_rate('on_time_rate_numerator', 'on_time_rate_denominator') }} as on_time_rate_recomputed,
    online_rate_reported,
    {{ recomputed_rate('dossiers_received_l34_online', 'dossiers_received_l34') }} as online_rate_recomputed,
    feedback_received, feedback_resolved, feedback_rate_reported,
    {{ recomputed_rate('feedback_resolved', 'feedback_received') }} as feedback_rate_recomputed,
    file_id, gate_seq
from own
