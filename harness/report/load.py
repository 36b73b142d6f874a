"""The load page (load.html), rendered from a ``load.json`` alone.

The plots are drawn by matplotlib as inline SVG, so the page stays one self-contained file; their
points come from the report's ``percentiles`` and ``series`` (see :mod:`harness.load.report`).
"""

from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import Any

from markupsafe import Markup

from harness.report.render import render

__all__ = ["render_page"]

#: The latency histograms plotted, by plot.
_LATENCY_PLOT = ("latency", "lateness", "gap", "calibration")
_START_PLOT = ("connect", "ttfe", "ttft")


def render_page(report: dict[str, Any], nav: list[tuple[str, str]], page: str) -> str:
    """The load page, from ``load.json`` alone (so ``sse-harness report`` can rebuild it)."""
    plots = {
        "latency": _percentile_plot(report, _LATENCY_PLOT, "Delivery latency, lateness and gaps"),
        "start": _percentile_plot(report, _START_PLOT, "Connect, time to first event (or token)"),
        "series": _series_plot(report),
    }
    return render("load.html.j2", report=report, plots=plots, nav=nav, page=page)


# -- plots ---------------------------------------------------------------------------------------


def _svg(figure: Any) -> Markup:
    import matplotlib

    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none"}):  # text stays text: smaller, faster
        figure.savefig(buffer, format="svg", bbox_inches="tight")
    text = buffer.getvalue()
    return Markup(text[text.index("<svg") :])  # matplotlib's own SVG, no user text


def _percentile_plot(report: dict[str, Any], names: tuple[str, ...], title: str) -> Markup | None:
    """HdrHistogram's percentile-distribution plot: the tail is spread out, not squashed."""
    from matplotlib.figure import Figure

    found = report.get("percentiles", {})
    curves = [(name, found[name]["x"], found[name]["ms"]) for name in names if name in found]
    if not curves:
        return None
    figure = Figure(figsize=(7.5, 3.6))
    axes = figure.add_subplot()
    for name, xs, ys in curves:
        axes.plot(xs, ys, label=f"{name}_ms")
    axes.set_xscale("log")
    ticks = [1, 2, 10, 100, 1000, 10000, 100000]
    axes.set_xticks(ticks, ["0%", "50%", "90%", "99%", "99.9%", "99.99%", "99.999%"])
    axes.set_xlim(1, max(max(xs) for _, xs, _ in curves) * 1.5)
    axes.set_yscale("symlog", linthresh=1)  # log above 1 ms, linear below: 0 stays on the plot
    axes.set_ylim(bottom=0)
    axes.set_xlabel("percentile")
    axes.set_ylabel("ms")
    axes.set_title(title)
    axes.grid(True, which="major", alpha=0.3)
    axes.legend(loc="upper left", fontsize="small")
    return _svg(figure)


def _series_plot(report: dict[str, Any]) -> Markup | None:
    from matplotlib.figure import Figure

    series = report["series"]
    if not series["events_per_s"]:
        return None
    seconds = list(range(len(series["events_per_s"])))
    figure = Figure(figsize=(7.5, 3.6))
    events = figure.add_subplot()
    events.plot(seconds, series["events_per_s"], color="#1565c0", label="events/s")
    events.set_xlabel(f"seconds since {datetime.fromtimestamp(series['start'], UTC):%H:%M:%S} UTC")
    events.set_ylabel("events/s", color="#1565c0")
    streams = events.twinx()
    streams.plot(seconds, series["active_streams"], color="#c62828", label="open streams")
    streams.set_ylabel("open streams", color="#c62828")
    events.set_title("Events per second and open streams")
    events.grid(True, alpha=0.3)
    return _svg(figure)
