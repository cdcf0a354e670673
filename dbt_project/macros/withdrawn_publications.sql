{#- Unit-quarters the data team rejected on review that no longer have any accepted version:
    nothing replaces their rows in an incremental build, so this post-hook removes them.
    Rejections are few; the check runs on every build, so no watermark can miss one. -#}
{% macro withdrawn_publications() -%}
    select distinct reviews.unit_code, reviews.year, reviews.quarter
    from {{ ref('stg_audit__submission_review') }} as reviews
    where reviews.review_decision = 'reject'
      and not {{ accepted_version_exists('reviews') }}
{%- endmacro %}

{#- Whether the unit-quarter of `relation`'s row has a version that stands accepted. -#}
{% macro accepted_version_exists(relation) -%}
    exists (select 1 from {{ ref('int_submission_outcomes') }} as outcomes
            where outcomes.unit_code = {{ relation }}.unit_code
              and outcomes.year = {{ relation }}.year
              and outcomes.quarter = {{ relation }}.quarter
              and outcomes.decision = 'accepted')
{%- endmacro %}

{% macro remove_withdrawn_publications() -%}
    {%- call standby_removed() %}
    delete from {{ this }} as built
    using ({{ withdrawn_publications() }}) as withdrawn
    where built.unit_code = withdrawn.unit_code
      and built.year = withdrawn.year
      and built.quarter = withdrawn.quarter
    {%- endcall %}
{%- endmacro %}

{#- The roll-up's counterpart: a today's unit (or province) all of whose sources were withdrawn
    is recomputed to nothing, so its rows are removed here. -#}
{% macro remove_withdrawn_rollups() -%}
    {%- call standby_removed() %}
    delete from {{ this }} as built
    using (
        select distinct lineage.current_unit_code, lineage.current_province_code, withdrawn.year, withdrawn.quarter
        from ({{ withdrawn_publications() }}) as withdrawn
        join {{ ref('int_org_units_lineage') }} as lineage on lineage.unit_code = withdrawn.unit_code
    ) as touched
    where built.year = touched.year
      and built.quarter = touched.quarter
      and ((built.rollup_scope = 'current_unit' and built.unit_code = touched.current_unit_code)
           or (built.rollup_scope = 'province' and built.unit_code = touched.current_province_code))
      and not exists (
          select 1
          from {{ ref('int_org_units_lineage') }} as sources
          join {{ ref('int_submissions_published') }} as published
              on published.unit_code = sources.unit_code
             and published.year = built.year
             and published.quarter = built.quarter
          where (built.rollup_scope = 'current_unit' and sources.current_unit_code = built.unit_code)
             or (built.rollup_scope = 'province' and sources.current_province_code = built.unit_code)
      )
    {%- endcall %}
{%- endmacro %}

{#- int_submissions_published's post-hook: the unit-quarters tonight's decisions and reviews left with no
    accepted version (a review rejected the only one) lose their row, which no new row replaces. -#}
{% macro remove_unpublished_groups() -%}
    delete from {{ this }} as built
    where not {{ accepted_version_exists('built') }}
{%- endmacro %}
