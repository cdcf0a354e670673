{{ config(tags=['pre_gate']) }}

-- Every unit-quarter that sent something, with the state of its latest file version
-- (macros/submission_latest.sql). Reviews read it for one unit-quarter; the status mart computes it for
-- its changed unit-quarters alone, as a filter on this view does not reach inside it.
-- Built with the pre-gate models: rebuilding the staging views drops the views on top of them,
-- and reviews read this one between runs, also when a run had nothing to publish.
{{ submission_latest() }}
