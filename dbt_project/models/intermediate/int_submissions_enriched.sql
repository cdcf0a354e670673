{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='file_id',
          on_schema_change='fail', tags=['pre_gate'],
          post_hook="{{ record_inputs(registry_inputs()) }}",
          indexes=[{'columns': ['file_id'], 'unique': True}, {'columns': ['unit_code', 'year', 'quarter']}]) }}

-- Incremental: a night adds its newly loaded files (raw.files only gains rows). Every file is enriched
-- again when the registry or the level letters, or this model, changed since the table was last built
-- (macros/relations_kept.sql): made again whole it took a second of every night's critical path.
{%- set appending = is_incremental() and inputs_as_recorded(registry_inputs()) %}

with loaded as (
    select * from {{ ref('stg_raw__files') }}
    where load_status = 'loaded'
    {%- if appending %}
      and file_id > {{ incremental_watermark('file_id') }}
    {%- endif %}
),

units as (
    select * from {{ ref('stg_raw__org_units') }}
),

levels as (
    select * from {{ ref('org_levels') }}
)

select
    loaded.file_id,
    loaded.source_path,
    loaded.content_hash,
    loaded.unit_code,
    loaded.year,
    loaded.quarter,
    loaded.year || '-Q' || loaded.quarter as period_key,
    loaded.title_year,
    loaded.title_quarter,
    loaded.title_unit,
    loaded.title_unit_matches,
    loaded.loaded_in_run,
    loaded.loaded_at,
    loaded.modified_at,
    loaded.n_facts,
    loaded.source_format,
    units.unit_name,
    units.unit_level,
    units.parent_code,
    levels.letter as level_letter
from loaded
left join units on units.unit_code = loaded.unit_code
left join levels on levels.level = units.unit_level
