"""Plotly figures for the console, as plain JSON-able dicts.

The browser draws them with plotly.js from the plotly Python package's own bundle, served by
the console (no CDN). Building dicts instead of plotly.graph_objects keeps a page's server
time in milliseconds: the figure schema is validated by plotly.js, which reports bad specs
in the browser console.
"""
from __future__ import annotations

from ..domain import recomputed_rate
from ..rules.messages import period_vi

FONT = "system-ui, 'Segoe UI', 'Noto Sans', 'DejaVu Sans', Arial, sans-serif"
COLORS = {"reporting": "#1d4ed8", "on_time": "#0f766e", "online": "#7c3aed", "disbursed": "#b45309",
          "quota": "#94a3b8", "present": "#1d4ed8", "above": "#b91c1c", "error": "#b91c1c", "warning": "#d97706"}
CONFIG = {"displaylogo": False, "responsive": True,
          "modeBarButtonsToRemove": ["select2d", "lasso2d", "autoScale2d", "toggleSpikelines"]}


def _layout(title: str, **extra) -> dict:
    layout = {
        "title": {"text": title, "x": 0, "xanchor": "left", "font": {"size": 15}},
        "font": {"family": FONT, "size": 12, "color": "#1f2937"},
        "separators": ",.",  # Vietnamese: decimal comma, thousands dot
        "margin": {"l": 56, "r": 16, "t": 48, "b": 64},
        "paper_bgcolor": "#ffffff",
        "plot_bgcolor": "#ffffff",
        "legend": {"orientation": "h", "yanchor": "top", "y": -0.22, "x": 0},
        "hoverlabel": {"font": {"family": FONT}},
        "xaxis": {"gridcolor": "#eef2f7", "linecolor": "#cbd5e1"},
        "yaxis": {"gridcolor": "#eef2f7", "linecolor": "#cbd5e1", "zerolinecolor": "#cbd5e1"},
    }
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(layout.get(key), dict):
            layout[key] = {**layout[key], **value}
        else:
            layout[key] = value
    return layout


def rate(numerator, denominator) -> float | None:
    """100 × numerator / denominator, recomputed from counts (never an average of rates), as the marts."""
    return recomputed_rate(numerator, denominator)


def quarter_labels(periods: list[str]) -> list[str]:
    """'2026-Q3' -> 'Quý III<br>2026': two short lines, no rotated labels."""
    return [f"Quý {period_vi(p).replace('/', '<br>')}" for p in periods]


def lines(title: str, periods: list[str], series: list[tuple[str, list, str]], *, percent: bool = True,
          height: int = 320) -> dict:
    """One line per series over quarters; series = (name, values, colour)."""
    x = quarter_labels(periods)
    data = [{"type": "scatter", "mode": "lines+markers", "name": name, "x": x, "y": values,
             "line": {"color": color, "width": 2.5}, "marker": {"size": 7},
             "connectgaps": False,
             "hovertemplate": "%{x}: %{y:,.2f}" + ("%" if percent else "") + f"<extra>{name}</extra>"}
            for name, values, color in series]
    yaxis = {"ticksuffix": "%", "range": [0, 105]} if percent else {"rangemode": "tozero"}
    return {"data": data, "layout": _layout(title, height=height, yaxis=yaxis, xaxis={"tickangle": 0}),
            "config": CONFIG}


def bars(title: str, labels: list[str], series: list[tuple[str, list, str]], *, percent: bool = True,
         horizontal: bool = True, height: int | None = None, texts: list[list[str]] | None = None) -> dict:
    """Grouped bars per label (horizontal by default: long Vietnamese unit names stay readable)."""
    n = max(len(labels), 1)
    height = height or max(260, 60 + n * (18 * max(1, len(series))) + 40)
    data = []
    for i, (name, values, color) in enumerate(series):
        bar = {"type": "bar", "name": name, "marker": {"color": color},
               "hovertemplate": "%{" + ("y" if horizontal else "x") + "}: %{" + ("x" if horizontal else "y")
               + ":,.2f}" + ("%" if percent else "") + f"<extra>{name}</extra>"}
        if horizontal:
            bar.update({"orientation": "h", "y": labels, "x": values})
        else:
            bar.update({"x": labels, "y": values})
        if texts:
            bar["customdata"] = texts[i]
            bar["hovertemplate"] = bar["hovertemplate"].replace("<extra>", " (%{customdata})<extra>")
        data.append(bar)
    value_axis = {"ticksuffix": "%", "range": [0, 105]} if percent else {"rangemode": "tozero"}
    category_axis = {"automargin": True, "autorange": "reversed"} if horizontal else {"automargin": True}
    layout = _layout(title, height=height, barmode="group", bargap=0.25,
                     xaxis=value_axis if horizontal else category_axis,
                     yaxis=category_axis if horizontal else value_axis,
                     margin={"l": 16 if horizontal else 56})
    return {"data": data, "layout": layout, "config": CONFIG}


def heatmap(title: str, periods: list[str], rows: list[str], z: list[list], *, height: int | None = None) -> dict:
    """Units failing each rule (rows) per quarter (columns)."""
    height = height or max(240, 90 + 30 * len(rows))
    data = [{"type": "heatmap", "x": quarter_labels(periods), "y": rows, "z": z, "zmin": 0,
             "colorscale": [[0, "#fef3c7"], [0.5, "#f59e0b"], [1, "#b91c1c"]],
             "hoverongaps": False, "xgap": 2, "ygap": 2,
             "showscale": False,  # the counts are written in the cells
             "hovertemplate": "%{y}<br>%{x}: %{z} đơn vị<extra></extra>",
             "texttemplate": "%{z}", "textfont": {"size": 11}}]
    layout = _layout(title, height=height, yaxis={"automargin": True, "autorange": "reversed"},
                     xaxis={"side": "bottom", "tickangle": 0}, margin={"l": 16})
    return {"data": data, "layout": layout, "config": CONFIG, "wide": True}
