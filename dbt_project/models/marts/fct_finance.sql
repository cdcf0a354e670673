{{ config(**wide_mart_config()) }}

-- Public finance per unit-quarter: investment disbursement (million VND, rate recomputed
-- beside the reported one) and public service units by financial autonomy.
-- Columns: seeds/mart_columns.csv (macros/wide_marts.sql).
{{ wide_mart('fct_finance') }}
