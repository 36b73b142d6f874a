"""What /proc says of a process's memory, and a load process's memory per stream held.

The cost of a load test is streams per machine, and memory is what runs out first: each stream
holds a greenlet, a socket, a parser and its buffers. :class:`StreamMemory` measures it where it
is spent: the process's resident memory before any user started, and again at the moment it held
the most streams; the difference over those streams is the memory one stream costs (fixed costs
of the first stream, such as lazily imported modules, are spread over all of them, so the figure
means most at thousands of streams).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["StreamMemory", "status_mib"]


def status_mib(key: str, pid: int | None = None) -> float | None:
    """A memory figure of ``/proc/<pid>/status`` in MiB: ``VmRSS`` (resident now), ``VmHWM``
    (resident at most). ``pid`` None is this process. None where /proc does not say (another
    OS, a process that has exited).

    Not ``getrusage``: on Linux its ``ru_maxrss`` carries the high-water mark of the process that
    forked this one across ``exec``, so a Locust started by a big parent would report the
    parent's memory."""
    try:
        status = Path(f"/proc/{pid or 'self'}/status").read_text(encoding="ascii")
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith(f"{key}:"):
            return round(int(line.split()[1]) / 1024, 2)
    return None


class StreamMemory:
    """This process's resident memory before the run and when it held the most streams."""

    def __init__(self) -> None:
        self.baseline_mib: float | None = None
        self.peak_streams = 0
        self.rss_at_peak_mib: float | None = None

    def begin(self) -> None:
        """Before any user starts (Locust's ``test_start``)."""
        self.baseline_mib = status_mib("VmRSS")

    def note(self, streams: int) -> None:
        """Streams held now (once a second): /proc is read only when it is a new most."""
        if streams > self.peak_streams:
            self.peak_streams = streams
            self.rss_at_peak_mib = status_mib("VmRSS")

    def as_json(self) -> dict[str, Any]:
        per_stream = None
        if self.baseline_mib is not None and self.rss_at_peak_mib is not None and self.peak_streams:
            growth = self.rss_at_peak_mib - self.baseline_mib
            per_stream = round(max(0.0, growth) * 1024 / self.peak_streams, 2)
        return {
            "baseline_rss_mib": self.baseline_mib,
            "peak_streams": self.peak_streams,
            "rss_at_peak_mib": self.rss_at_peak_mib,
            "rss_per_stream_kib": per_stream,
        }
