{{ config(materialized='incremental', incremental_strategy='delete+insert',
          unique_key=['unit_code', 'year', 'quarter'], on_schema_change='fail',
          post_hook="{{ remove_withdrawn_publications() }}",
          indexes=[{'columns': ['gate_seq']}]) }}

-- Administrative-procedure processing per unit-quarter (the unit's own figures), with the
-- on-time and online rates recomputed from counts beside the reported ones.
with changed as materialized (
    {{ changed_publications() }}
),

own as (
    {{ own_figures_by_unit_quarter('changed', {
        'procedures_in_force': 'tthc_in_force',
        'procedures_in_force_province_level': 'tthc_in_force_province',
        'procedures_in_force_district_level': 'tthc_in_force_district',
        'procedures_in_force_commune_level': 'tthc_in_force_commune',
        'procedures_simplified': 'tthc_simplified',
        'procedures_new': 'tthc_new',
        'procedures_abolished': 'tthc_abolished',
        'one_stop_linked_same_level': 'tthc_linked_same_level',
        'one_stop_linked_across_levels': 'tthc_linked_across_levels',
        'procedures_location_independent': 'tthc_location_independent',
        'online_l3_eligible': 'egov_dvc_l3_eligible',
        'online_l3_provided': 'egov_dvc_l3_provided',
        'online_l3_with_dossiers': 'egov_dvc_l3_with_dossiers',
        'online_l4_eligible': 'egov_dvc_l4_eligible',
        'online_l4_provided': 'egov_dvc_l4_provided',
        'online_l4_with_dossiers': 'egov_dvc_l4_with_dossiers',
        'dossiers_received': 'tthc_dossiers_received_total',
        'dossiers_received_new': 'tthc_dossiers_received_new',
        'dossiers_received_online': 'tthc_dossiers_received_online',
        'dossiers_received_direct': 'tthc_dossiers_received_direct',
        'dossiers_carried_over': 'tthc_dossiers_carried_over',
        'dossiers_received_l34': 'egov_dossiers_received',
        'dossiers_received_l34_online': 'egov_dossiers_online',
        'dossiers_resolved_detail': 'tthc_dossiers_resolved_total',
        'dossiers_resolved_early': 'tthc_dossiers_resolved_early',
        'dossiers_resolved_on_time': 'tthc_dossiers_resolved_ontime',
        'dossiers_resolved_late': 'tthc_dossiers_resolved_late',
        'dossiers_pending': 'tthc_dossiers_pending',
        'dossiers_pending_within_deadline': 'tthc_dossiers_pending_within',
        'dossiers_pending_overdue': 'tthc_dossiers_pending_overdue',
        'on_time_rate_reported': 'tthc_ontime_rate',
        'on_time_rate_numerator': 'tthc_dossiers_ontime',
        'on_time_rate_denominator': 'tthc_dossiers_resolved',
        'online_rate_reported': 'egov_online_dossier_rate',
        'feedback_received': 'tthc_feedback_received',
        'feedback_resolved': 'tthc_feedback_resolved',
        'feedback_rate_reported': 'tthc_feedback_rate'
    }) }}
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
    coalesce(on_time_rate_denominator, dossiers_resolved_detail) as dossiers_resolved,
    dossiers_resolved_early, dossiers_resolved_on_time, dossiers_resolved_late,
    on_time_rate_numerator as dossiers_resolved_by_deadline,
    dossiers_pending, dossiers_pending_within_deadline, dossiers_pending_overdue,
    on_time_rate_reported,
    {{ recomputed_rate('on_time_rate_numerator', 'on_time_rate_denominator') }} as on_time_rate_recomputed,
    online_rate_reported,
    {{ recomputed_rate('dossiers_received_l34_online', 'dossiers_received_l34') }} as online_rate_recomputed,
    feedback_received, feedback_resolved, feedback_rate_reported,
    {{ recomputed_rate('feedback_resolved', 'feedback_received') }} as feedback_rate_recomputed,
    file_id, gate_seq
from own
