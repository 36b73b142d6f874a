"""``SSEUser``: a Locust user whose task is one bounded SSE stream, measured as a stream.

Each stream gives Locust's statistics three rows, not one per event (that would inflate
requests/s and bury the stream's own timings): ``connect`` (request start to response head,
once per connection, so reconnects show), ``ttfe`` (time to first event, once per stream) and
``stream`` (its whole duration and byte count; a failure when it ended in error or truncated:
the network cut it, or the server ended it short of a declared promise).
Everything per event goes to the HDR histograms of ``harness.load.metrics`` instead.

Subclass it in a locustfile (``abstract`` stays True here) and call
``harness.load.plugin.install(Defaults(...))`` once; ``observer()`` adds profile metrics.
"""

from __future__ import annotations

import math
import random
from urllib.parse import urlsplit

import gevent
from locust import User, constant, task

from harness.load.metrics import Metrics
from harness.load.options import stream_spec
from harness.load.plugin import metrics_for
from harness.load.session import StreamObserver, StreamResult, StreamSpec, run_stream

__all__ = ["SSEUser"]


class SSEUser(User):
    abstract = True
    #: Streams run back to back; a stream that could not start waits its reconnect delay first.
    wait_time = constant(0)

    spec: StreamSpec
    metrics: Metrics
    label: str

    def on_start(self) -> None:
        options = self.environment.parsed_options
        self.spec = stream_spec(self.host or "", options)
        self.metrics = metrics_for(self.environment)
        self.label = urlsplit(self.spec.url).path
        gevent.sleep(random.uniform(0, start_spread_s(getattr(options, "spawn_rate", 0) or 0)))

    def observer(self) -> StreamObserver | None:
        """Per-stream extra metrics (e.g. tokens); none by default."""
        return None

    @task
    def stream(self) -> None:
        result = run_stream(self.spec, self.metrics, listener=self, observer=self.observer())
        failed = result.end in ("error", "truncated")
        self._row("stream", result.duration_s, result.bytes, _failure(result) if failed else None)
        if result.end == "error":
            gevent.sleep(self.spec.reconnect_delay_s)  # no busy loop against a dead target

    # -- StreamListener: Locust rows as things happen ------------------------------------------

    def connected(self, seconds: float, error: BaseException | None) -> None:
        self._row("connect", seconds, 0, error)

    def first_event(self, seconds: float) -> None:
        self._row("ttfe", seconds, 0, None)

    def _row(self, kind: str, seconds: float, length: int, error: BaseException | None) -> None:
        self.environment.events.request.fire(
            request_type=kind,
            name=self.label,
            response_time=seconds * 1000,
            response_length=length,
            exception=error,
            context={},
        )


def start_spread_s(spawn_rate: float) -> float:
    """How long a new user may wait before its first stream, so that users start at the rate
    asked for.

    Locust starts ``floor(rate)`` users at once every ``floor(rate) / rate`` seconds. For
    streams that is a herd: 500 connect in the same instant, then restart together every
    stream length, and every event of the other streams waits behind them. Measured with this
    reader (10,000 streams of 1 event/s, no Locust): 500 at once each second, latency p50 4.8 ms
    and p99 179 ms; one every 2 ms, 0.16 and 9 ms. Each user waits a uniform share of the
    interval (nothing below two users a second, which Locust already spaces).
    """
    batch = math.floor(spawn_rate)
    return batch / spawn_rate if batch >= 2 else 0.0


class StreamFailed(Exception):
    """How a stream failed, as Locust's failures table shows it."""


def _failure(result: StreamResult) -> StreamFailed:
    """``truncated: the server ended the stream after 20 events; --sse-expect-events promised
    60``: how it ended, and the words of the session that ended it (which promise, what came)."""
    return StreamFailed(f"{result.end}: {result.error}")
