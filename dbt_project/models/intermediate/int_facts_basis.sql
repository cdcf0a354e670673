{{ config(tags=['pre_gate', 'publish']) }}

-- Built after the gate too: rebuilding int_submission_outcomes there drops this view (cascade).

{{ enriched_facts(ref('int_submissions_basis')) }}
