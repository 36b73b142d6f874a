"""The stream figures of a run while it goes, and in the reports Locust itself writes.

Locust's web UI shows requests; a stream's figures (open streams, time to first event, delivery
latency, lost events ...) live in :class:`~harness.load.metrics.Metrics`. This module turns the
metrics of the process that shows them (the master's merge of its workers, or a local runner's
own) into rows: one per endpoint and a total, the same rows in the web UI's tab, in
``<base>/sse-harness/stats``, in ``<prefix>_sse_stats.csv`` and in the ``--html`` report. Every
process streams one endpoint (``--sse-path``), so the metrics are not keyed by endpoint: the
endpoint's row and the total hold the same figures (a locustfile of several endpoints would
need metrics per endpoint).

:class:`LiveFigures` also keeps the run's history, one point every tick, for the live charts:
percentiles per tick (of the measurements that arrived since the previous one, so that a spike
shows), counts as they stand. No Locust import here: the plugin feeds it.
"""

from __future__ import annotations

import csv
import html
import io
import time
from collections import deque
from collections.abc import Sequence
from typing import Any

from harness.load.metrics import Metrics

__all__ = ["FIGURES", "TOTAL", "LiveFigures", "csv_text", "html_section", "rows", "stream_figures"]

#: The figures of a row, in the order the tab, the CSV and the report show them: (key, title).
FIGURES: tuple[tuple[str, str], ...] = (
    ("open_streams", "Open streams"),
    ("peak_streams", "Peak streams"),
    ("streams_started", "Streams started"),
    ("streams_failed", "Streams failed"),
    ("events", "Events"),
    ("events_per_s", "Events/s"),
    ("ttfe_p50_ms", "TTFE p50 (ms)"),
    ("ttfe_p99_ms", "TTFE p99 (ms)"),
    ("latency_p50_ms", "Latency p50 (ms)"),
    ("latency_p99_ms", "Latency p99 (ms)"),
    ("lateness_p99_ms", "Lateness p99 (ms)"),
    ("longest_gap_ms", "Longest gap (ms)"),
    ("lost", "Lost"),
    ("duplicated", "Duplicated"),
    ("reconnects", "Reconnects"),
)
#: The name of the total row (Locust calls its own "Aggregated").
TOTAL = "Total"
#: Seconds over which the live events/s is averaged (whole seconds every process has reported).
RATE_WINDOW_S = 5
#: History points kept: three hours at one point every two seconds, then the oldest go.
HISTORY_POINTS = 5400


def stream_figures(metrics: Metrics, *, open_streams: int, events_per_s: float) -> dict[str, Any]:
    """One row's figures (``FIGURES`` keys); a percentile is None before anything measured it."""
    counters, histograms = metrics.counters, metrics.histograms

    def percentile(name: str, p: float) -> float | None:
        histogram = histograms[name]
        return histogram.percentile_ms(p) if histogram.count else None

    return {
        "open_streams": open_streams,
        "peak_streams": metrics.peak,
        "streams_started": counters["streams"],
        "streams_failed": counters["errors"] + counters["truncated_streams"],
        "events": counters["events"],
        "events_per_s": round(events_per_s, 1),
        "ttfe_p50_ms": percentile("ttfe", 50),
        "ttfe_p99_ms": percentile("ttfe", 99),
        "latency_p50_ms": percentile("latency", 50),
        "latency_p99_ms": percentile("latency", 99),
        "lateness_p99_ms": percentile("lateness", 99),
        "longest_gap_ms": histograms["gap"].summary()["max"],
        "lost": counters["lost"],
        "duplicated": counters["duplicated"],
        "reconnects": counters["reconnects"],
    }


def rows(endpoint: str, figures: dict[str, Any]) -> list[dict[str, Any]]:
    """The endpoint's row and the total (one endpoint per process: the same figures)."""
    return [{"name": endpoint, **figures}, {"name": TOTAL, **figures}]


class LiveFigures:
    """What the web UI shows of a run: the rows as of the last tick, and the history behind them.

    The process that shows them calls :meth:`absorb` with every delta of measurements it merges
    (the same deltas its total is merged from) and :meth:`tick` every couple of seconds.
    """

    def __init__(self) -> None:
        #: The rows as of the last tick (none before it).
        self.rows: list[dict[str, Any]] = []
        self.history: deque[dict[str, Any]] = deque(maxlen=HISTORY_POINTS)
        self.updated = 0.0
        #: Measurements since the last tick: the percentiles of the next history point.
        self._window = Metrics()

    def absorb(self, delta: dict[str, Any]) -> None:
        self._window.absorb(delta)

    def tick(
        self,
        wall: float,
        total: Metrics,
        *,
        endpoint: str,
        open_streams: int,
        complete_to: int | None,
    ) -> None:
        """Refresh the rows from ``total`` and add a history point at ``wall``.

        ``complete_to``: the last whole second every process has reported its events for (None
        before any has); events/s is averaged over the ``RATE_WINDOW_S`` seconds up to it.
        """
        rate = 0.0
        if complete_to is not None:
            seconds = range(complete_to - RATE_WINDOW_S + 1, complete_to + 1)
            rate = sum(total.events_per_s.get(s, 0) for s in seconds) / RATE_WINDOW_S
        figures = stream_figures(total, open_streams=open_streams, events_per_s=rate)
        window = stream_figures(self._window, open_streams=open_streams, events_per_s=rate)
        self._window = Metrics()
        self.rows = rows(endpoint, figures)
        self.updated = wall
        self.history.append(
            {
                "t": round(wall, 3),
                "open_streams": open_streams,
                "events_per_s": figures["events_per_s"],
                "lost": figures["lost"],
                **{
                    key: window[key]
                    for key in ("latency_p50_ms", "latency_p99_ms", "ttfe_p50_ms", "ttfe_p99_ms")
                },
            }
        )

    def document(self, state: str, since: float = 0.0) -> dict[str, Any]:
        """``<base>/sse-harness/stats``: the rows, and the history points after ``since``."""
        return {
            "state": state,
            "updated": round(self.updated, 3),
            "now": round(time.time(), 3),
            "figures": [{"key": key, "title": title} for key, title in FIGURES],
            "rows": self.rows,
            "history": [point for point in self.history if point["t"] > since],
        }


def csv_text(table: Sequence[dict[str, Any]]) -> str:
    """The rows as CSV: ``Name`` and each figure's title; an unmeasured percentile is empty."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["Name", *(title for _, title in FIGURES)])
    for row in table:
        writer.writerow([row["name"], *("" if row[k] is None else row[k] for k, _ in FIGURES)])
    return out.getvalue()


def html_section(table: Sequence[dict[str, Any]], links: Sequence[tuple[str, str]]) -> str:
    """A self-styled ``<section>`` of the rows and links (href, text), for a page Locust renders
    (its ``--html`` report, its live report): Locust has no hook to add to them."""
    head = "".join(f"<th>{html.escape(title)}</th>" for _, title in FIGURES)
    body = "".join(
        "<tr><td>"
        + html.escape(str(row["name"]))
        + "</td>"
        + "".join(f"<td>{'' if row[k] is None else row[k]}</td>" for k, _ in FIGURES)
        + "</tr>"
        for row in table
    )
    anchors = " · ".join(
        f'<a href="{html.escape(href, quote=True)}">{html.escape(text)}</a>' for href, text in links
    )
    return (
        '<section id="sse-harness-streams" style="font:14px sans-serif;margin:24px;'
        'overflow-x:auto"><h2>SSE streams</h2>'
        '<table style="border-collapse:collapse" border="1" cellpadding="4">'
        f"<tr><th>Name</th>{head}</tr>{body}</table><p>{anchors}</p></section>"
    )
