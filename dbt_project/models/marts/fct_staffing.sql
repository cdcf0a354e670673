{{ config(**wide_mart_config()) }}

-- Staffing per unit-quarter: civil servants (biên chế công chức) and public-service employees.
-- Columns: seeds/mart_columns.csv (macros/wide_marts.sql).
{{ wide_mart('fct_staffing') }}
