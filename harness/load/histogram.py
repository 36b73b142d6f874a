"""HDR histograms of durations with microsecond resolution, mergeable across processes.

A thin layer over the ``hdrhistogram`` package (the Python port of HdrHistogram): it fixes the
range and precision every histogram of a run shares, so that any two can be added, and it speaks
seconds in and milliseconds out. The wire form is HdrHistogram's standard compressed base64
encoding, which Locust's messaging carries as a string and other HDR tools can read.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hdrh.histogram import HdrHistogram  # type: ignore[import-untyped]

__all__ = ["HIGHEST_US", "Histogram"]

#: Values are microseconds from 0 to one hour; 3 significant digits keep every value within 0.1%.
HIGHEST_US = 3_600_000_000
_DIGITS = 3


class Histogram:
    """Durations in microseconds. Out-of-range values are clamped and counted, never dropped.

    A value below 0 (a clock stamp a few microseconds ahead of the reader's) is recorded as 0;
    one above an hour as an hour. ``clamped`` says how many, so a report can show it.
    """

    __slots__ = ("_hdr", "clamped")

    def __init__(self) -> None:
        self._hdr = HdrHistogram(1, HIGHEST_US, _DIGITS)
        self.clamped = 0

    def record(self, seconds: float, count: int = 1) -> None:
        us = int(seconds * 1_000_000)
        if us < 0 or us > HIGHEST_US:
            self.clamped += count
            us = 0 if us < 0 else HIGHEST_US
        self._hdr.record_value(us, count)

    @property
    def count(self) -> int:
        count: int = self._hdr.get_total_count()
        return count

    def percentile_ms(self, percentile: float) -> float:
        value: int = self._hdr.get_value_at_percentile(percentile)
        return round(value / 1000, 3)

    def summary(self) -> dict[str, Any]:
        """``{count, p50, p90, p99, max}`` in milliseconds; percentiles are null when empty."""
        if not self.count:
            return {"count": 0, "p50": None, "p90": None, "p99": None, "max": None}
        return {
            "count": self.count,
            "p50": self.percentile_ms(50),
            "p90": self.percentile_ms(90),
            "p99": self.percentile_ms(99),
            "max": round(self._hdr.get_max_value() / 1000, 3),
        }

    def percentiles_ms(self, percentiles: Sequence[float]) -> list[float]:
        """The values (ms) at ``percentiles`` (0..100), in one pass over the counts (plots)."""
        found: dict[float, int] = self._hdr.get_percentile_to_value_dict(list(percentiles))
        return [found[p] / 1000 for p in percentiles]

    def add(self, other: Histogram) -> None:
        self._hdr.add(other._hdr)
        self.clamped += other.clamped

    def encode(self) -> str:
        """HdrHistogram's compressed base64 form (the clamp count travels separately)."""
        encoded: bytes = self._hdr.encode()
        return encoded.decode("ascii")

    @classmethod
    def decode(cls, text: str, clamped: int = 0) -> Histogram:
        histogram = cls()
        histogram._hdr.decode_and_add(text)
        histogram.clamped = clamped
        return histogram

    def reset(self) -> None:
        self._hdr.reset()
        self.clamped = 0
