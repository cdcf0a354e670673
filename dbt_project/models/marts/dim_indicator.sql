{{ config(meta={'keep_when_unchanged': true}) }}
-- Made again only when its SQL or what it reads changed (macros/relations_kept.sql).
select
    indicator_code,
    form,
    ('Biểu mẫu ' || form)::text as form_label_vi,
    parent_code,
    kind,
    unit_vi,
    name_vi,
    name_en,
    legend,
    numerator_code,
    denominator_code,
    part_codes,
    whole_code,
    is_cumulative,
    is_additive,
    canonical_code,
    authority_level,
    fixed_scope as level_scope
from {{ ref('stg_reference__indicators') }}
