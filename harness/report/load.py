"""load.json and load.html for one load run.

``load.json`` follows the shape DESIGN.md fixes ("Report shapes"), plus keys tools may use:
``streams`` (how streams ended, error rate), ``series`` (per-second events and open streams),
``per_worker`` (each Locust worker's share), ``cpu_warning``, ``broadcast`` (fan-out
completeness, when a publisher ran), and ``histograms`` (each HDR
histogram in HdrHistogram's standard compressed encoding, so the page and later comparisons
can be made from the JSON alone). The page's plots are drawn by matplotlib as inline SVG: the
page stays one self-contained file.
"""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from markupsafe import Markup

from harness.report.render import render

if TYPE_CHECKING:
    from harness.load.metrics import Metrics

__all__ = ["SCHEMA_VERSION", "load_report", "write_load"]

SCHEMA_VERSION = 1
#: The latency histograms plotted, by plot.
_LATENCY_PLOT = ("latency", "lateness", "gap", "calibration")
_START_PLOT = ("connect", "ttfe", "ttft")
#: Percentile-plot abscissae, 1 / (1 - percentile): 40 points per decade from 0% to 99.9999%.
_PLOT_XS = [10 ** (k / 40) for k in range(241)]


def load_report(
    metrics: Metrics,
    *,
    target: dict[str, Any],
    users: int,
    workers: int,
    started: float,
    duration_s: float,
    cpu_warning: bool,
    per_worker: dict[str, Metrics] | None = None,
) -> dict[str, Any]:
    """The ``load.json`` document of a run whose measurements are merged into ``metrics``.

    ``gate`` is filled in by the caller (``harness.gate.evaluate`` reads this very document).
    """
    counters = metrics.counters
    duration = max(duration_s, 1e-9)
    streams = counters["streams"]
    failed = counters["errors"] + counters["truncated_streams"]
    calibration = metrics.histograms["calibration"].summary()
    throughput: dict[str, Any] = {
        "events_per_s": round(counters["events"] / duration, 1),
        "bytes_per_s": round(counters["bytes"] / duration, 1),
        "peak_streams": metrics.peak,
    }
    if counters["tokens"]:
        throughput["tokens_per_s"] = round(counters["tokens"] / duration, 1)
    extra: dict[str, Any] = {}
    if counters["published"]:
        due = counters["expected_deliveries"]
        extra["broadcast"] = {
            "published": counters["published"],
            "expected_deliveries": due,
            "delivered": counters["events"],
            "completeness": round(counters["events"] / due, 6) if due else None,
        }
    first = min([*metrics.events_per_s, *metrics.active_per_s], default=int(started))
    last = max([*metrics.events_per_s, *metrics.active_per_s], default=first)
    return {
        "schema_version": SCHEMA_VERSION,
        "started": datetime.fromtimestamp(started, UTC).isoformat(timespec="seconds"),
        "target": target,
        "duration_s": round(duration_s, 3),
        "users": users,
        "workers": workers,
        "metrics": {f"{name}_ms": h.summary() for name, h in sorted(metrics.histograms.items())},
        "integrity": {
            key: counters[key]
            for key in (
                "events",
                "lost",
                "duplicated",
                "out_of_order",
                "truncated_streams",
                "reconnects",
                "resume_exact",
                "resume_inexact",
                "unsequenced",
            )
        },
        "streams": {
            "started": streams,
            "errors": counters["errors"],
            "error_rate": round(failed / streams, 6) if streams else 0.0,
            "ended": {
                name.removeprefix("ended_"): n
                for name, n in sorted(counters.items())
                if name.startswith("ended_")
            },
        },
        "throughput": throughput,
        "calibration": {
            "p50_ms": calibration["p50"],
            "p99_ms": calibration["p99"],
            "count": calibration["count"],
        },
        "cpu_warning": cpu_warning,
        "series": {
            "start": first,
            "events_per_s": [metrics.events_per_s.get(s, 0) for s in range(first, last + 1)],
            "active_streams": [metrics.active_per_s.get(s, 0) for s in range(first, last + 1)],
        },
        "per_worker": {
            worker: {
                "events": m.counters["events"],
                "streams": m.counters["streams"],
                "counts": {name: h.count for name, h in sorted(m.histograms.items())},
            }
            for worker, m in sorted((per_worker or {}).items())
        },
        "histograms": {
            name: h.encode() for name, h in sorted(metrics.histograms.items()) if h.count
        },
        **extra,
        "gate": {"passed": True, "breaches": [], "warnings": []},
    }


def render_page(report: dict[str, Any], nav: list[tuple[str, str]], page: str) -> str:
    """The load page, from ``load.json`` alone (so ``sse-harness report`` can rebuild it)."""
    plots = {
        "latency": _percentile_plot(report, _LATENCY_PLOT, "Delivery latency, lateness and gaps"),
        "start": _percentile_plot(report, _START_PLOT, "Connect, time to first event (or token)"),
        "series": _series_plot(report),
    }
    return render("load.html.j2", report=report, plots=plots, nav=nav, page=page)


def write_load(report: dict[str, Any], directory: Path) -> list[Path]:
    """Write ``load.json`` into ``directory`` and publish its pages; return JSON and page paths."""
    from harness.report.pages import publish

    directory.mkdir(parents=True, exist_ok=True)
    json_path = directory / "load.json"
    json_path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    publish(directory)
    return [json_path, directory / "load.html"]


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

    from harness.load.histogram import Histogram

    curves = []
    for name in names:
        encoded = report["histograms"].get(name)
        if encoded is None:
            continue
        histogram = Histogram.decode(encoded)
        # x = 1 / (1 - percentile): 10 is 90%, 100 is 99% ... up to what the samples can tell
        xs = [x for x in _PLOT_XS if x <= max(histogram.count, 2)]
        ys = histogram.percentiles_ms([100 * (1 - 1 / x) for x in xs])
        curves.append((name, xs, ys))
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
