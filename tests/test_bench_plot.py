"""The benchmark's plot draws the stages a run had side by side as such: a bar is as long as the run."""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

from plot import _scenarios, _wall_of


def test_a_runs_bar_is_its_wall_time_with_the_report_beside_the_standby():
    stages = {"discover": 0.1, "parse": 11.4, "load": 0.3, "dbt_candidates": 4.4, "gx_validate": 9.9, "publish": 7.7,
              "standby": 4.5, "report": 3.9}
    results = {"runs": {"national_quarter": {"wall_seconds": 40.2, "stages": stages},
                        "rerun_unchanged": {"wall_seconds": 5.7, "stages": {"discover": 4.5, "report": 0.1}}}}
    (_, national), (_, rerun) = _scenarios(results)
    # the standby's 4.5 s and the report's 3.9 s took 4.5 s of the night, not 8.4
    assert round(national["other (start, process)"], 2) == round(40.2 - (0.1 + 11.4 + 0.3 + 4.4 + 9.9 + 7.7 + 4.5), 2)
    assert round(_wall_of(national), 2) == 40.2 and round(_wall_of(rerun), 2) == 5.7
