"""HDR histograms of durations with microsecond resolution, mergeable across processes.

A thin layer over the ``hdrhistogram`` package (the Python port of HdrHistogram): it fixes the
range and precision every histogram of a run shares, so that any two can be added, and it speaks
seconds in and milliseconds out. The wire form is HdrHistogram's standard compressed base64
encoding, which Locust's messaging carries as a string and other HDR tools can read.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from hdrh.histogram import HdrHistogram  # type: ignore[import-untyped]

__all__ = ["HIGHEST_US", "Histogram"]

#: Values are microseconds from 0 to one hour; 3 significant digits keep every value within 0.1%.
HIGHEST_US = 3_600_000_000
_DIGITS = 3
#: Values held before they go into the HDR counts: a flush then costs a few milliseconds at most,
#: so no greenlet stalls long on it, and memory stays bounded however long nothing reads.
_BATCH = 4096


class Histogram:
    """Durations in microseconds. Out-of-range values are clamped and counted, never dropped.

    A value below 0 (a clock stamp a few microseconds ahead of the reader's) is recorded as 0;
    one above an hour as an hour. ``clamped`` says how many, so a report can show it.

    :meth:`record` runs for every event of every stream, and ``hdrh``'s own ``record_value`` costs
    about 2 µs of Python calls per value; so values are kept in a plain list and added to the
    counts in batches (:meth:`flush`: one pass, the HDR bucket index computed inline), and
    everything that reads the histogram flushes first.
    """

    __slots__ = ("_hdr", "_pending", "clamped")

    def __init__(self) -> None:
        self._hdr = HdrHistogram(1, HIGHEST_US, _DIGITS)
        self._pending: list[float] = []
        self.clamped = 0

    def record(self, seconds: float, count: int = 1) -> None:
        if count != 1:
            # One value many times (the zero gaps of the events one read completed): added to
            # its count at once, not queued ``count`` times.
            if count > 0:
                self._add([seconds], count)
            return
        pending = self._pending
        pending.append(seconds)
        if len(pending) >= _BATCH:
            self.flush()

    def record_many(self, seconds: list[float]) -> None:
        """:meth:`record` each of ``seconds`` (what one read of a hot stream completes)."""
        pending = self._pending
        pending.extend(seconds)
        if len(pending) >= _BATCH:
            self.flush()

    def flush(self) -> None:
        """Add the values recorded since the last flush to the HDR counts, as ``record_value``
        would one by one.

        The index is HdrHistogram's ``counts_index_for`` with the lowest value 1 (unit magnitude
        0), which the tests check against ``hdrh`` itself.
        """
        if not self._pending:
            return
        pending, self._pending = self._pending, []
        self._add(pending, 1)

    def _add(self, seconds: list[float], times: int) -> None:
        """Add each of ``seconds``, ``times`` times, to the HDR counts."""
        values = [int(s * 1_000_000) for s in seconds]
        low, high = min(values), max(values)
        if low < 0 or high > HIGHEST_US:
            self.clamped += sum(1 for us in values if us < 0 or us > HIGHEST_US) * times
            values = [0 if us < 0 else min(us, HIGHEST_US) for us in values]
            low, high = max(low, 0), min(high, HIGHEST_US)
        hdr = self._hdr
        mask, magnitude = hdr.sub_bucket_mask, hdr.sub_bucket_half_count_magnitude
        base = hdr.sub_bucket_half_count - (1 << magnitude)  # of bucket b: (b + 1) << magnitude
        shift = magnitude + 1
        indices = Counter(
            [
                ((b := (us | mask).bit_length() - shift) << magnitude) + (us >> b) - base
                for us in values
            ]
        )
        counts = hdr.counts
        for index, n in indices.items():
            counts[index] += n * times
        hdr.total_count += len(values) * times
        hdr.min_value = min(hdr.min_value, low)
        hdr.max_value = max(hdr.max_value, high)

    @property
    def count(self) -> int:
        self.flush()
        count: int = self._hdr.get_total_count()
        return count

    def percentile_ms(self, percentile: float) -> float:
        self.flush()
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
        self.flush()
        found: dict[float, int] = self._hdr.get_percentile_to_value_dict(list(percentiles))
        return [found[p] / 1000 for p in percentiles]

    def add(self, other: Histogram) -> None:
        self.flush()
        other.flush()
        self._hdr.add(other._hdr)
        self.clamped += other.clamped

    def encode(self) -> str:
        """HdrHistogram's compressed base64 form (the clamp count travels separately)."""
        self.flush()
        encoded: bytes = self._hdr.encode()
        return encoded.decode("ascii")

    @classmethod
    def decode(cls, text: str, clamped: int = 0) -> Histogram:
        histogram = cls()
        histogram._hdr.decode_and_add(text)
        histogram.clamped = clamped
        return histogram

    def reset(self) -> None:
        self._pending = []
        self._hdr.reset()
        self.clamped = 0
