"""The two relations the gate works on, each with one name everywhere.

- The pending batch (``work.gate_batch``): the figures of the submissions the gate judges in this
  run, which every rule query reads through the CTE of the same name (``{batch}`` is the placeholder).
  A view of the build's candidates when none of them was decided since, else an unlogged copy of the
  undecided ones.
- The evaluations (``work.gate_evaluations``): every rule query's rows over that batch, passes too.
  Great Expectations' asset, batch definition and validation definition read it (``{batch}`` in an
  expectation's query), and the ledger copies it into audit.dq_results.

Both live until the next gate makes them anew.
"""
SCHEMA = "work"
NAME = "gate_batch"
RELATION = f"{SCHEMA}.{NAME}"
EVALUATIONS_NAME = "gate_evaluations"
EVALUATIONS = f"{SCHEMA}.{EVALUATIONS_NAME}"
