"""The Great Expectations suite, generated from the rule catalog, and the checkpoint that runs it.

One expectation per rule kind and severity (ExpectNoRuleFailures: GX's UnexpectedRowsExpectation
evaluated once, ingestion/rules/gx_expectation.py): no failing evaluation of that kind at that
severity among the gate's evaluations (work.gate_evaluations: each kind's set-based SQL of
ingestion/rules/sql.py run once over the pending figures by the validate stage; one name for it,
ingestion/rules/batch.py). GX validates them while the ledger writes them to audit.dq_results,
and the two must agree on every count.

The checkpoint runs in an ephemeral (in-memory) GX context, built from the catalog each night:
a file-backed project re-read its YAML and re-wrote its JSON stores dozens of times per run,
seconds that were most of the gate on a small batch. What the project kept is kept elsewhere:
each expectation's full result in audit.gx_validations (append-only), and the suite that ran as
GX JSON in CCHC_HOME/gx/cchc_consistency.json (rewritten when the rules change). GX's Data Docs
are not built: their pages load their styles and scripts from CDNs and show nothing offline; the
run's own data-quality page (ingestion/feedback, dq.html beside the feedback reports) shows the
same results in Vietnamese and opens from disk.
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

    # Every expectation given to the constructor: added one by one, each would be saved on its own.
    return gx.ExpectationSuite(
        name=SUITE_NAME, meta={"generated_from": "expectations/rules.yml + indicator_catalog.csv"},
        expectations=[ExpectNoRuleFailures(
            unexpected_rows_query=engine.unexpected_rows_query(kind, severity),
            description=f"{rules.kinds[kind]['title_en']} ({severity}) — {rules.kinds[kind]['title_vi']}",
            severity=_GX_SEVERITY[severity],
            meta={"rule_kind": kind, "severity": severity},
        ) for kind, severity in engine.rules.severity_groups()])


def suite_path(gx_dir: Path) -> Path:
    return gx_dir / f"{SUITE_NAME}.json"


def _keep_suite(gx_dir: Path, suite) -> None:
    """The suite that ran, as GX JSON, for whoever wants to read it or load it into a GX project."""
    import json

    content = suite.to_json_dict()
    # Without the ids the in-memory context gives them each night: the file changes only with the rules.
    content.pop("id", None)
    for expectation in content.get("expectations", []):
        expectation.pop("id", None)
    text = json.dumps(content, ensure_ascii=False, indent=1, sort_keys=True) + "\n"
    path = suite_path(gx_dir)
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        gx_dir.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)


def import_gx():
    """Great Expectations, imported without its import-time warnings and usage statistics."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import great_expectations as gx
    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    return gx


def run_checkpoint(gx_dir: Path, sqlalchemy_url: str, rules: RuleSet, engine: SqlEngine,
                   run_name: str) -> list[ExpectationOutcome]:
    """The suite run over the gate's evaluations (here, or in a process of its own: rules/gx_process.py)."""
    os.environ[CONNECTION_VAR] = sqlalchemy_url
    gx = import_gx()
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    # No tqdm bars in the task logs: the gate logs its own progress lines.
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "a more specific PostgresDatasource may be more appropriate": by design
        datasource = context.data_sources.add_sql(name=DATASOURCE, connection_string="${" + CONNECTION_VAR + "}")
    name = batch.EVALUATIONS_NAME
    asset = datasource.add_table_asset(name=name, table_name=name, schema_name=batch.SCHEMA)
    batch_definition = asset.add_batch_definition_whole_table(name)
    suite = context.suites.add(build_suite(rules, engine))
    validation = context.validation_definitions.add(
        gx.ValidationDefinition(name=name, data=batch_definition, suite=suite))
    checkpoint = context.checkpoints.add(gx.Checkpoint(
        name="cchc_nightly", validation_definitions=[validation], actions=[],
        result_format={"result_format": "SUMMARY"}))
    result = checkpoint.run(run_id=RunIdentifier(run_name=run_name))
    _keep_suite(gx_dir, suite)
    outcomes = []
    for validation_result in result.run_results.values():
        for er in validation_result.results:
            meta = er.expectation_config.meta or {}
            outcomes.append(ExpectationOutcome(
                kind=meta.get("rule_kind", "?"), severity=meta.get("severity", "?"), success=bool(er.success),
                unexpected_count=int((er.result or {}).get("observed_value") or 0),
                result=er.to_json_dict()))
    return outcomes

