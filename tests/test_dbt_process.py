"""The night in one process runs dbt in a process started ahead: dbt's import is off the night's path."""
from __future__ import annotations

import logging
import os
import signal

import pytest
from conftest import generated_inbox, query

from ingestion import registry as registry_module
from ingestion.config import load_settings
from ingestion.pipeline import dbt_process, nightly
from ingestion.pipeline.dbt import DbtError, imported_ahead, run_dbt
from ingestion.pipeline.dbt import command_line as dbt_command
from ingestion.served_process import ServedProcessError

pytestmark = pytest.mark.e2e


def test_the_nights_dbt_commands_run_in_the_process_started_ahead(pipeline_env, monkeypatch, caplog):
    generated_inbox(pipeline_env["inbox"], units=6, quarters=1, error_rate=0.0, seed=5, end=(2025, 4))
    started: list[dbt_process.DbtProcess] = []
    commands: list[tuple[int, str, int]] = []
    ahead: list[tuple[int, str, str]] = []
    order: list[str] = []  # the commands as they were given to the process

    events: list[str] = []  # when the process started, against the night's look at the inbox

    class Recorded(dbt_process.DbtProcess):
        def __init__(self):
            super().__init__()
            started.append(self)
            events.append("dbt started")

        def run(self, cli, env, command, node_done):
            order.append(command.split()[0] + " " + cli[cli.index("--target-path") + 1])
            result = super().run(cli, env, command, node_done)
            commands.append((self.pid, command.split()[0], result.nodes))
            return result

        def run_ahead(self, cli, env, command):
            order.append(command.split()[0] + " " + cli[cli.index("--target-path") + 1])
            super().run_ahead(cli, env, command)
            ahead.append((self.pid, command.split()[0], cli[cli.index("--target-path") + 1]))

    real_discover = nightly._discover

    def discover(*args, **kwargs):
        events.append("discover")
        return real_discover(*args, **kwargs)

    registry_reads: list[str] = []
    real_read_registry = registry_module.read_registry

    def read_registry(*args, **kwargs):
        registry_reads.append(str(args[0]))
        return real_read_registry(*args, **kwargs)

    monkeypatch.setattr(dbt_process, "DbtProcess", Recorded)
    monkeypatch.setattr(nightly, "_discover", discover)
    monkeypatch.setattr(registry_module, "read_registry", read_registry)
    with caplog.at_level(logging.INFO, logger="cchc.progress"):
        out = nightly.run_all(docs=False)
    assert out["status"] == "success" and out["marts_published"]
    # The registry is read once: the parse names tonight's units from the copy the start checked.
    assert len(registry_reads) == 1
    assert query(pipeline_env["dsn"], "select count(*), count(*) filter (where title_unit_matches) from raw.files "
                                      "where status = 'loaded'")[0] == (6, 6)
    # Started with the night, before the inbox is looked at: its import runs on the core the listing leaves idle.
    assert events == ["dbt started", "discover"]
    # One process for the night, not this one: the pre-gate build, then the publication.
    assert len(started) == 1 and started[0].pid != os.getpid()
    assert [(pid, command) for pid, command, _ in commands] == [(started[0].pid, "build")] * 2
    assert all(nodes > 10 for _, _, nodes in commands)
    # A first night: dbt parsed the project for both builds ahead, and neither build parsed it again (the
    # publication's vars were those the parse was made with). The pre-gate build's parse was made while the
    # run started and the inbox was read, the publication's once that build was done (while the gate checks the figures).
    target = load_settings().dbt_target_dir
    assert ahead == [(started[0].pid, "parse", str(target)), (started[0].pid, "parse", str(target / "marts_next"))]
    assert order == [f"parse {target}", f"build {target}", f"parse {target / 'marts_next'}",
                     f"build {target / 'marts_next'}"]
    for folder in (target, target / "marts_next"):
        log_text = (folder / "logs" / "dbt.log").read_text(encoding="utf-8")
        assert log_text.count("Unable to do partial parsing") == 1, folder
    assert query(pipeline_env["dsn"], "select count(*) from marts.fct_tthc_processing")[0][0] == 6
    # Its nodes are counted in the night's own progress lines.
    assert [r for r in caplog.records if "nút / nodes" in r.getMessage() and "build --selector publish" in r.getMessage()]
    # It ends with the night (killed: nothing of the night is left in it).
    assert started[0]._process.returncode == -signal.SIGKILL

    # A night with nothing new needs no dbt: the process imported it for nothing and is ended all the same.
    assert nightly.run_all(docs=False)["files_loaded"] == 0
    assert len(started) == 2 and len(commands) == 2 and started[1]._process.returncode == -signal.SIGKILL
    assert len(ahead) == 2  # dbt's parse of the first night is there: nothing to parse ahead


def test_a_failed_dbt_command_in_the_process_started_ahead_is_said_here(pipeline_env, tmp_path, caplog):
    """dbt's failure comes back as the DbtError the night reports; a process that died is said to have died."""
    dsn = pipeline_env["dsn"]
    with imported_ahead() as process:
        with pytest.raises(DbtError, match="division by zero"):
            run_dbt(dsn, tmp_path / "target", ["show", "--inline", "select 1 / 0 as nothing"])
        # and the process goes on serving the night's next command
        assert run_dbt(dsn, tmp_path / "target", ["show", "--inline", "select 1 as one"]).command.startswith("show")
        # A command sent ahead (nobody waits for it) that fails is only logged, when the next one is asked for.
        cli, env = dbt_command(dsn, tmp_path / "target", ["show", "--inline", "select 2 / 0 as ahead"], True, None)
        with caplog.at_level(logging.WARNING, logger="ingestion.served_process"):
            process.run_ahead(cli, env, "show")
            assert not caplog.records
            assert run_dbt(dsn, tmp_path / "target", ["show", "--inline", "select 1 as one"]).command.startswith("show")
        assert [r.getMessage() for r in caplog.records if "work sent ahead failed" in r.getMessage()
                and "division by zero" in r.getMessage()]
        process._process.kill()
        with pytest.raises(ServedProcessError, match="dbt's process ended without a result"):
            run_dbt(dsn, tmp_path / "target", ["show", "--inline", "select 1 as one"])
    assert process._process.returncode == -signal.SIGKILL
