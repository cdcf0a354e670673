{{ config(materialized='incremental', incremental_strategy='delete+insert',
          unique_key=['unit_code', 'year', 'quarter'], on_schema_change='fail',
          post_hook="{{ remove_withdrawn_publications() }}",
          indexes=[{'columns': ['gate_seq']}, {'columns': ['indicator_code', 'year', 'quarter']}]) }}

-- Every accepted figure, one row each, with its lineage back to the file, sheet, row and column.
-- Figures whose label matched no catalog indicator are kept with an empty indicator_code:
-- `cchc catalog unmatched` lists them so the catalog can grow.
with changed as materialized (
    {{ changed_publications() }}
),

facts as (
    {{ published_facts('changed', ['gate_seq', 'period_key', 'content_hash', 'source_path']) }}
)

select
    facts.unit_code,
    facts.year,
    facts.quarter,
    facts.period_key,
    facts.indicator_code,
    facts.scope,
    facts.label,
    facts.form,
    facts.value,
    facts.cell_numerator,
    facts.cell_denominator,
    facts.kind,
    facts.unit_text                        as unit_of_measure,
    facts.own_indicator_code,
    (facts.own_indicator_code is not null) as is_own_figure,
    case when cardinality(facts.dq_warnings) > 0 then 'warning' else 'ok' end as dq_status,
    facts.dq_warnings,
    facts.file_id,
    facts.content_hash,
    facts.source_path,
    facts.sheet,
    facts.row_number,
    facts.col_number,
    facts.note,
    facts.gate_seq
from facts
