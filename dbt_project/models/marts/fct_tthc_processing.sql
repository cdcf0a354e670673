{{ config(**wide_mart_config()) }}

-- Administrative-procedure processing per unit-quarter (the unit's own figures), with the
-- on-time, online and feedback rates recomputed from counts beside the reported ones.
-- Columns: seeds/mart_columns.csv (macros/wide_marts.sql).
{{ wide_mart('fct_tthc_processing') }}
