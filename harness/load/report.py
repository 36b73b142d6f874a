"""``load.json``: the load instrument's report document, built from the merged metrics.

It follows the shape DESIGN.md fixes ("Report shapes"), plus keys tools may use: ``streams``
(how streams ended, error rate, and ``failures``: each failed stream counted once under a key of
``harness.load.session.FAILURES``, with its ``count`` and one ``example`` message), ``series``
(per-second events and open streams), ``per_worker`` (each Locust worker's share),
``cpu_warning``, ``broadcast`` (fan-out completeness, when a publisher ran), ``mcp`` (the mcp
profile's sessions, calls, drops, lost and duplicated messages and timings:
``harness.load.mcp_figures``), ``histograms`` (each
HDR histogram in HdrHistogram's standard compressed encoding, so later comparisons can be made
from the JSON alone) and ``percentiles`` (each histogram's percentile curve, which the page
plots: the renderer needs no histogram code). ``metrics`` holds ``tls_ms`` (TCP connect end to
TLS handshake end) only when the run used TLS.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from harness.load.mcp_figures import McpSettings, mcp_section
from harness.load.metrics import IF_USED, Metrics
from harness.report.pages import publish

__all__ = ["SCHEMA_VERSION", "load_report", "write_load"]

SCHEMA_VERSION = 1
#: Percentile-curve abscissae, 1 / (1 - percentile): 40 points per decade from 0% to 99.9999%.
_CURVE_XS = [10 ** (k / 40) for k in range(241)]


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
    mcp: McpSettings | None = None,
) -> dict[str, Any]:
    """The ``load.json`` document of a run whose measurements are merged into ``metrics``.

    ``gate`` is filled in by the caller (``harness.load.gate.evaluate`` reads this very document).
    ``mcp``: the mcp profile's settings; its run gets the ``mcp`` section.
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
    if mcp is not None:
        extra["mcp"] = mcp_section(metrics, mcp)
    first = min([*metrics.events_per_s, *metrics.active_per_s], default=int(started))
    last = max([*metrics.events_per_s, *metrics.active_per_s], default=first)
    return {
        "schema_version": SCHEMA_VERSION,
        "started": datetime.fromtimestamp(started, UTC).isoformat(timespec="seconds"),
        "target": target,
        "duration_s": round(duration_s, 3),
        "users": users,
        "workers": workers,
        "metrics": {
            f"{name}_ms": h.summary()
            for name, h in sorted(metrics.histograms.items())
            if h.count or name not in IF_USED
        },
        "integrity": {
            key: counters[key]
            for key in (
                "events",
                "lost",
                "duplicated",
                "out_of_order",
                "truncated_streams",
                "reconnects",
                "restarts",
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
            "failures": {
                key: {"count": n, "example": metrics.failure_examples.get(key, "")}
                for key, n in sorted(metrics.failures.items(), key=lambda item: (-item[1], item[0]))
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
        "percentiles": _curves(metrics),
        **extra,
        "gate": {"passed": True, "breaches": [], "warnings": []},
    }


def write_load(report: dict[str, Any], directory: Path) -> list[Path]:
    """Write ``load.json`` into ``directory`` and publish its pages; return JSON and page paths."""
    directory.mkdir(parents=True, exist_ok=True)
    json_path = directory / "load.json"
    json_path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    publish(directory)
    return [json_path, directory / "load.html"]


def _curves(metrics: Metrics) -> dict[str, dict[str, list[float]]]:
    """Per histogram: x = 1 / (1 - percentile) (10 is 90%, 100 is 99% ...) up to what the
    samples can tell, and the value in ms there (HdrHistogram's percentile distribution)."""
    curves = {}
    for name, histogram in sorted(metrics.histograms.items()):
        if not histogram.count:
            continue
        xs = [x for x in _CURVE_XS if x <= max(histogram.count, 2)]
        ys = histogram.percentiles_ms([100 * (1 - 1 / x) for x in xs])
        curves[name] = {"x": [round(x, 4) for x in xs], "ms": ys}
    return curves
