"""What one process measures during a load run, and how the measurements of many merge.

Every Locust process (the local runner, or each worker) holds one :class:`Metrics`. Streams
record into it as events arrive; a worker :meth:`~Metrics.drain`\\ s it into a plain dict every
time Locust sends its stats to the master (Locust's own ``report_to_master`` message), and the
master :meth:`~Metrics.absorb`\\ s each such delta. Deltas rather than totals: a report lost or
duplicated in transit would then show up as a wrong count, not be silently papered over, and
the master needs no per-worker state to merge.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from harness.load.histogram import Histogram

__all__ = ["COUNTERS", "HISTOGRAMS", "IF_USED", "Metrics"]

#: The histograms every run has (``<name>_ms`` in load.json); profiles may add their own.
#: ``tls``: TCP connect end to TLS handshake end, per ``https://`` connection.
#: ``gc_pause``: each pause of the load process's own garbage collector (every stream waits).
HISTOGRAMS = ("connect", "ttfe", "gap", "latency", "lateness", "calibration", "tls", "gc_pause")
#: Of those, the ones load.json leaves out when empty: a plain-http run has no handshake to show,
#: and a ``tls_ms`` of zeros would read as "TLS was free".
IF_USED = frozenset({"tls", "gc_pause"})

#: The counters every run has. ``ended_<how>`` counters are added per stream end as well.
COUNTERS = (
    "streams",
    "errors",
    "events",
    "bytes",
    "lost",
    "duplicated",
    "out_of_order",
    "unsequenced",
    "truncated_streams",
    "reconnects",
    "resume_exact",
    "resume_inexact",
)


class Metrics:
    """Histograms, counters and per-second series of one process (or of a whole run, merged)."""

    def __init__(self) -> None:
        self.histograms: dict[str, Histogram] = {name: Histogram() for name in HISTOGRAMS}
        self.counters: Counter[str] = Counter(dict.fromkeys(COUNTERS, 0))
        #: Wall-clock second -> events dispatched in it.
        self.events_per_s: Counter[int] = Counter()
        #: Wall-clock second -> streams open when it was sampled (summed over processes).
        self.active_per_s: Counter[int] = Counter()
        #: Streams open right now in this process (not merged: a live gauge).
        self.active = 0
        #: Most streams one process held at once (merged as a maximum).
        self.peak_streams = 0
        #: Failed streams by why (``harness.load.session.FAILURES``), and one message of each
        #: (the first this process saw; merged, the first absorbed).
        self.failures: Counter[str] = Counter()
        self.failure_examples: dict[str, str] = {}
        #: Sessions (MCP) open right now in this process, the most it held at once, and how many
        #: were open in each sampled second (summed over processes, as ``active_per_s``).
        self.sessions = 0
        self.peak_sessions_held = 0
        self.sessions_per_s: Counter[int] = Counter()

    def histogram(self, name: str) -> Histogram:
        """The histogram ``name``, created empty on first use (profile-specific metrics)."""
        found = self.histograms.get(name)
        if found is None:
            found = self.histograms[name] = Histogram()
        return found

    def stream_opened(self) -> None:
        self.counters["streams"] += 1
        self.active += 1
        self.peak_streams = max(self.peak_streams, self.active)

    def stream_closed(self) -> None:
        self.active -= 1

    def session_opened(self) -> None:
        self.sessions += 1
        self.peak_sessions_held = max(self.peak_sessions_held, self.sessions)

    def session_closed(self) -> None:
        self.sessions -= 1

    def stream_failed(self, key: str, example: str) -> None:
        self.failures[key] += 1
        self.failure_examples.setdefault(key, example)

    def sample(self, wall: float) -> None:
        """Note how many streams are open in the second ``wall`` falls in (called once a second)."""
        self.active_per_s[int(wall)] = self.active
        if self.sessions or self.peak_sessions_held:
            self.sessions_per_s[int(wall)] = self.sessions

    def drain(self) -> dict[str, Any]:
        """Everything recorded since the last drain, as msgpack-friendly data; then forget it."""
        delta = {
            "histograms": {
                name: [h.encode(), h.clamped] for name, h in self.histograms.items() if h.count
            },
            "counters": {name: n for name, n in self.counters.items() if n},
            "events_per_s": {str(s): n for s, n in self.events_per_s.items()},
            "active_per_s": {str(s): n for s, n in self.active_per_s.items()},
            "peak_streams": self.peak_streams,
            "failures": {key: [n, self.failure_examples[key]] for key, n in self.failures.items()},
            "sessions_per_s": {str(s): n for s, n in self.sessions_per_s.items()},
            "peak_sessions": self.peak_sessions_held,
        }
        for histogram in self.histograms.values():
            histogram.reset()
        self.counters = Counter(dict.fromkeys(COUNTERS, 0))
        self.events_per_s.clear()
        self.active_per_s.clear()
        self.sessions_per_s.clear()
        self.failures.clear()
        self.failure_examples.clear()
        return delta

    def absorb(self, delta: dict[str, Any]) -> None:
        """Add a delta from :meth:`drain` (of this or another process)."""
        for name, (encoded, clamped) in delta["histograms"].items():
            self.histogram(name).add(Histogram.decode(encoded, clamped))
        self.counters.update(delta["counters"])
        self.events_per_s.update({int(s): n for s, n in delta["events_per_s"].items()})
        self.active_per_s.update({int(s): n for s, n in delta["active_per_s"].items()})
        self.peak_streams = max(self.peak_streams, delta["peak_streams"])
        for key, (n, example) in delta["failures"].items():
            self.failures[key] += n
            self.failure_examples.setdefault(key, example)
        self.sessions_per_s.update({int(s): n for s, n in delta.get("sessions_per_s", {}).items()})
        self.peak_sessions_held = max(self.peak_sessions_held, delta.get("peak_sessions", 0))

    @property
    def peak(self) -> int:
        """Most streams open at once: the largest per-second sum, or one process's own peak."""
        return max(max(self.active_per_s.values(), default=0), self.peak_streams)

    @property
    def peak_sessions(self) -> int:
        """Most sessions open at once: the largest per-second sum, or one process's own peak."""
        return max(max(self.sessions_per_s.values(), default=0), self.peak_sessions_held)
