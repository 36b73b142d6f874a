"""Calibration: the delivery latency the harness itself adds, measured on a stream of known
cadence that nothing but the harness can delay.

A local :class:`~harness.load.emitter.Emitter` in the same process stamps each event right
before writing it; the harness reads it through the same transport, parser and recorder as any
load stream. What it measures is loopback plus the reader's own scheduling and parsing, so
it is the floor under every latency figure of the run, and the error bar on it. Run beside the
load (one calibration stream per Locust process, for the whole test), it also shows when the
load generator itself is saturated: its latency then grows with the load.
"""

from __future__ import annotations

import gevent

from harness.load.emitter import Emitter
from harness.load.histogram import Histogram
from harness.load.metrics import Metrics
from harness.load.session import StreamSpec, run_stream

__all__ = ["DEFAULT_INTERVAL_S", "Calibration"]

DEFAULT_INTERVAL_S = 0.02
#: A calibration stream lives as long as its test; this only bounds it by construction.
_MAX_SECONDS = 7 * 24 * 3600.0


class Calibration:
    """One calibration stream in this process, between :meth:`start` and :meth:`stop`."""

    def __init__(self, interval_s: float = DEFAULT_INTERVAL_S) -> None:
        self.interval_s = interval_s
        self._metrics = Metrics()
        self._emitter: Emitter | None = None
        self._reader: gevent.Greenlet | None = None

    def start(self) -> None:
        if self._emitter is not None:
            return
        self._emitter = Emitter(interval_s=self.interval_s)
        url = self._emitter.start()
        spec = StreamSpec(url, max_seconds=_MAX_SECONDS, timeout_s=max(10.0, 10 * self.interval_s))
        self._reader = gevent.spawn(run_stream, spec, self._metrics)

    def collect(self, into: Histogram) -> None:
        """Move the latencies measured since the last call into ``into``."""
        latency = self._metrics.histograms["latency"]
        into.add(latency)
        latency.reset()

    def stop(self) -> None:
        if self._reader is not None:
            self._reader.kill()
            self._reader = None
        if self._emitter is not None:
            self._emitter.stop()
            self._emitter = None

    def measure(self, seconds: float) -> Histogram:
        """Calibrate for ``seconds`` on its own (blocks the calling greenlet)."""
        self.start()
        try:
            gevent.sleep(seconds)
        finally:
            self.stop()
        result = Histogram()
        self.collect(result)
        return result
