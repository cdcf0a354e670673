"""The benchmark's plot (not shipped): stage times per scenario as stacked bars, beside results.json."""
from __future__ import annotations

from pathlib import Path

STAGES = (("discover", "discover"), ("parse", "parse"), ("load", "load"), ("dbt_candidates", "dbt"),
          ("gx_validate", "GX gate"), ("publish", "publish"), ("standby", "standby"), ("report", "report"))
# Stages that run at the same time, drawn one above the other: together they take the longer one's time.
SIDE_BY_SIDE = ("report", "standby")


def _wall_of(bars: dict[str, float]) -> float:
    """The time the stages take one after the other, the side-by-side ones counting as the longer."""
    side = [bars.get(label, 0.0) for label in SIDE_BY_SIDE]
    return sum(bars.values()) - sum(side) + max(side)


def _run_bars(run: dict) -> dict[str, float]:
    """A run's stages, and the rest of its wall time (starting the process and the run)."""
    bars = {label: float(run["stages"].get(name, 0) or 0) for name, label in STAGES}
    bars["other (start, process)"] = max(0.0, run["wall_seconds"] - _wall_of(bars))
    return bars


def _scenarios(results: dict) -> list[tuple[str, dict[str, float]]]:
    runs = results["runs"]
    out = [(title, _run_bars(runs[key])) for key, title in (
        ("national_quarter", "national quarter\n--direct"), ("national_airflow", "national quarter\nAirflow"),
        ("rerun_unchanged", "rerun,\nnothing changed"), ("rerun_1pct", "rerun,\n1 % changed")) if key in runs]
    if "floor" in results:
        fl = results["floor"]
        out.append(("floor", {"parse": fl["raw_read"]["seconds"], "load": fl["copy"]["seconds"],
                              "GX gate": fl["rule_sql"]["seconds"]}))
    if "generic_stack" in results:
        ex = results["generic_stack"]["extrapolated"]
        out.append(("generic stack\n(extrapolated)", {"parse": ex["read_excel"], "load": ex["to_sql"],
                                                      "GX gate": ex["gx_checkpoint"], "dbt": ex["dbt_build"]}))
    return out


def plot_stages(results: dict, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scenarios = _scenarios(results)
    labels = [label for _, label in STAGES] + ["other (start, process)"]
    colours = dict(zip(labels, plt.get_cmap("tab10").colors))
    fig, ax = plt.subplots(figsize=(10.5, 4.8), dpi=110)
    for i, (_, bars) in enumerate(scenarios):
        left = 0.0
        for label in labels:
            value = bars.get(label, 0.0)
            if label in SIDE_BY_SIDE:
                if label == SIDE_BY_SIDE[0]:  # the pair, each in half the bar's height, then past the longer
                    for lane, name in enumerate(SIDE_BY_SIDE):
                        if bars.get(name, 0.0) > 0:
                            ax.barh(i - 0.2 + 0.4 * lane, bars[name], height=0.4, left=left, color=colours[name],
                                    label=name)
                    left += max(bars.get(name, 0.0) for name in SIDE_BY_SIDE)
                continue
            if value > 0:
                ax.barh(i, value, left=left, color=colours[label], label=label)
                left += value
        ax.text(left, i, f" {left:,.1f} s", va="center", fontsize=8)
    ax.set_yticks(range(len(scenarios)), [title for title, _ in scenarios], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("seconds")
    ax.margins(x=0.12)
    files = results["figures"].get("national_quarter_files")
    size = "" if results["parameters"].get("complete", True) else ", national quarter only"
    ax.set_title(f"CCHC nightly load: stage times per scenario, report and standby side by side ({files} files a quarter, "
                 f"{results['machine']['cpus']} cores, {results['date']}{size})", fontsize=9)
    handles, names = ax.get_legend_handles_labels()
    unique = dict(zip(names, handles))
    ax.legend(unique.values(), unique.keys(), fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
