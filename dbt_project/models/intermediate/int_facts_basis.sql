{{ config(tags=['pre_gate']) }}

{{ enriched_facts(ref('int_submissions_basis')) }}
