"""The Great Expectations expectation the gate's suite is made of: no failing evaluation of a rule kind.

It is GX's UnexpectedRowsExpectation (the rule kind's failure query, over the pending batch)
reading one metric instead of two. The stock expectation evaluates the query twice, once to
count the failures and once to fetch a sample of them that the SUMMARY result format then
drops; on a national quarter that second evaluation was a third of the gate. The failures
themselves, with their messages, are in the append-only ledger (audit.dq_results).

Imported only when the gate runs: importing Great Expectations costs seconds.
"""
from __future__ import annotations

from typing import ClassVar

from great_expectations.expectations import UnexpectedRowsExpectation

ROW_COUNT = "unexpected_rows_query.row_count"


class ExpectNoRuleFailures(UnexpectedRowsExpectation):
    """No row of the rule kind's failure query: every evaluation in the batch passes."""

    metric_dependencies: ClassVar[tuple[str, ...]] = (ROW_COUNT,)

    def _validate(self, metrics: dict, runtime_configuration: dict | None = None, execution_engine=None) -> dict:
        failures = int(metrics[ROW_COUNT])
        return {"success": failures == 0, "result": {"observed_value": failures}}
