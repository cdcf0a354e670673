{{ config(meta={'keep_when_unchanged': true}) }}
-- Made again only when its SQL or what it reads changed (macros/relations_kept.sql).

-- The data team's reviews of gate decisions, as auditors read them beside the DQ history:
-- who accepted a held submission or rejected an accepted one, when, why, for which file
-- version, and which rules had failed at that moment.
with reviews as (
    select * from {{ ref('stg_audit__submission_review') }}
),

latest as (
    select distinct on (unit_code, year, quarter, content_hash) review_id
    from reviews
    order by unit_code asc, year asc, quarter asc, content_hash asc, review_id desc
)

select
    reviews.review_id,
    reviews.unit_code,
    reviews.year,
    reviews.quarter,
    (reviews.year || '-Q' || reviews.quarter)::text as period_key,
    reviews.reviewed_file_id                        as file_id,
    reviews.content_hash,
    reviews.review_decision,
    reviews.review_reason,
    reviews.reviewed_by,
    reviews.reviewed_at,
    reviews.state_before,
    jsonb_array_length(reviews.rule_results)::integer as failed_rules_at_review,
    reviews.rule_results,
    (latest.review_id is not null)                  as is_standing,
    reviews.decision_seq
from reviews
left join latest on latest.review_id = reviews.review_id
