"""The Great Expectations suite, generated from the rule catalog, and the checkpoint that runs it.

One expectation per rule kind and severity (ExpectNoRuleFailures: GX's UnexpectedRowsExpectation
evaluated once, ingestion/rules/gx_expectation.py); its query is the set-based SQL
of ingestion/rules/sql.py restricted to failures, over the batch of pending figures
(work.gate_batch, materialised by the validate stage; one name for it, ingestion/rules/batch.py). The GX project lives in CCHC_HOME/gx; each
expectation's full result is kept in audit.gx_validations. GX's Data Docs are not built: their
pages load their styles and scripts from CDNs and show nothing offline; the run's own
data-quality page (ingestion/feedback, dq.html beside the feedback reports) shows the same results
in Vietnamese and opens from disk.
"""
from __future__ import annotations

import logging
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

from . import batch
from .ruleset import RuleSet
from .sql import SqlEngine

SUITE_NAME = "cchc_consistency"
DATASOURCE = "warehouse"
CONNECTION_VAR = "CCHC_GX_CONNECTION"  # GX reads the URL from the environment; nothing secret on disk
_GX_SEVERITY = {"error": "critical", "warning": "warning", "info": "info"}

log = logging.getLogger(__name__)


@dataclass
class ExpectationOutcome:
    kind: str
    severity: str
    success: bool
    unexpected_count: int
    result: dict


def build_suite(rules: RuleSet, engine: SqlEngine):
    import great_expectations as gx

    from .gx_expectation import ExpectNoRuleFailures

    suite = gx.ExpectationSuite(name=SUITE_NAME, meta={"generated_from": "expectations/rules.yml + indicator_catalog.csv"})
    for kind, severity in engine.rules.severity_groups():
        entry = rules.kinds[kind]
        suite.add_expectation(ExpectNoRuleFailures(
            unexpected_rows_query=engine.unexpected_rows_query(kind, severity),
            description=f"{entry['title_en']} ({severity}) — {entry['title_vi']}",
            severity=_GX_SEVERITY[severity],
            meta={"rule_kind": kind, "severity": severity},
        ))
    return suite


def run_checkpoint(gx_dir: Path, sqlalchemy_url: str, rules: RuleSet, engine: SqlEngine,
                   run_name: str) -> list[ExpectationOutcome]:
    os.environ[CONNECTION_VAR] = sqlalchemy_url
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import great_expectations as gx
        from great_expectations.core.run_identifier import RunIdentifier
        from great_expectations.data_context.types.base import ProgressBarsConfig

        from . import gx_expectation  # noqa: F401  registered before the project's stored suite is read

    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    gx_dir.mkdir(parents=True, exist_ok=True)
    context = gx.get_context(mode="file", project_root_dir=str(gx_dir))
    # No tqdm bars in the task logs: the gate logs its own progress lines.
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "a more specific PostgresDatasource may be more appropriate": by design
        datasource = context.data_sources.add_or_update_sql(name=DATASOURCE,
                                                            connection_string="${" + CONNECTION_VAR + "}")
    asset = next((a for a in datasource.assets if a.name == batch.NAME), None)
    if asset is not None and (asset.table_name, asset.schema_name) != (batch.NAME, batch.SCHEMA):
        datasource.delete_asset(batch.NAME)  # a project kept from an earlier version pointed elsewhere
        asset = None
    if asset is None:
        asset = datasource.add_table_asset(name=batch.NAME, table_name=batch.NAME, schema_name=batch.SCHEMA)
    batch_definition = next((b for b in asset.batch_definitions if b.name == batch.NAME), None) \
        or asset.add_batch_definition_whole_table(batch.NAME)
    suite = context.suites.add_or_update(build_suite(rules, engine))
    validation = context.validation_definitions.add_or_update(
        gx.ValidationDefinition(name=batch.NAME, data=batch_definition, suite=suite))
    checkpoint = context.checkpoints.add_or_update(gx.Checkpoint(
        name="cchc_nightly", validation_definitions=[validation], actions=[],
        result_format={"result_format": "SUMMARY"}))
    result = checkpoint.run(run_id=RunIdentifier(run_name=run_name))
    outcomes = []
    for validation_result in result.run_results.values():
        for er in validation_result.results:
            meta = er.expectation_config.meta or {}
            outcomes.append(ExpectationOutcome(
                kind=meta.get("rule_kind", "?"), severity=meta.get("severity", "?"), success=bool(er.success),
                unexpected_count=int((er.result or {}).get("observed_value") or 0),
                result=er.to_json_dict()))
    return outcomes

