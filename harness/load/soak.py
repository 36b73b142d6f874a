"""Soak runs: memory and live streams sampled over a long run, and the verdicts drawn from them.

Streaming servers fail slowly: a generator nobody closes, a buffer kept per finished stream, a
subscription that outlives its client. None of it shows in a 20-second run, and all of it shows
as a slope: resident memory that grows with time, or with the streams that have come and gone.
So a soak run samples, every ``--sse-soak-sample-s``, the target's resident memory (when it is a
local process: ``--sse-target-pid``), its live streams and asyncio tasks (when it serves the
scripting contract's ``/_observe/streams``, ``harness.contract``) and each load process's own
memory; when the clients have left it waits, bounded, for the target's live streams to drop back
to where they were before the run.

The verdicts are fitted over the *steady part*: from the end of the ramp plus a warm-up (a fifth
of what remains: allocators, caches and connection pools fill first) to the moment the run
begins to stop. Two views of one slope:

- growth per hour, least squares of memory over time: what a long-lived deployment will see.
  It is drawn only from a steady part of at least :data:`MIN_RATE_WINDOW_S`; a shorter one
  extrapolates warm-up (one allocator arena of 1 MiB in 15 s reads as 240 MiB an hour, and a
  bounded cache that is still filling, such as the reference server's 1,000 finished-stream
  records, as growth without end);
- KiB per finished stream, least squares of memory over the count of streams finished: it does
  not depend on the run's length, so a leak per stream shows in a run short enough for a test.

This module is pure (no Locust, no gevent): the plugin samples, this module judges.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "LIMITS",
    "MIN_RATE_WINDOW_S",
    "Sample",
    "growth",
    "slope",
    "soak_section",
    "steady_window",
]

#: Seconds between a soak's samples, and how long the target's streams get to end after the
#: clients left, unless the run says otherwise.
SAMPLE_S = 10.0
SETTLE_S = 10.0
#: The soak section's keys the gate limits, each as ``soak_<key>`` (maxima).
LIMITS = (
    "target_growth_mib_per_h",
    "target_kib_per_stream",
    "streams_left",
    "tasks_left",
    "harness_growth_mib_per_h",
    "harness_kib_per_stream",
)
#: The shortest steady part a growth rate per hour is drawn from: ten minutes. A clean reference
#: server soaked for 3 minutes read +77 MiB/h while its bounded record list filled.
MIN_RATE_WINDOW_S = 600.0
#: The share of the time between the end of the ramp and the stop that is warm-up, not steady.
WARMUP_SHARE = 0.2
#: Fewer samples than this in the steady part: no slope.
MIN_SAMPLES = 3


@dataclass(frozen=True, slots=True)
class Sample:
    """One moment of a soak: wall time, resident memory, streams finished so far (by the
    harness's count) and, on the target, live streams and asyncio tasks (None: not observed)."""

    t: float
    rss_mib: float | None
    finished: int
    live: int | None = None
    tasks: int | None = None

    def as_json(self) -> list[Any]:
        return [round(self.t, 3), self.rss_mib, self.finished, self.live, self.tasks]

    @classmethod
    def from_json(cls, row: Sequence[Any]) -> Sample:
        return cls(*row)


def steady_window(started: float, ramped: float | None, stopping: float) -> tuple[float, float]:
    """The steady part of a run that started at ``started``, finished its ramp at ``ramped``
    (None: never, e.g. stopped during it) and began to stop at ``stopping``."""
    begin = min(ramped if ramped is not None else started, stopping)
    return begin + WARMUP_SHARE * (stopping - begin), stopping


def slope(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    """The least-squares slope of ``ys`` over ``xs``; None when ``xs`` do not vary."""
    n = len(xs)
    if n < 2:
        return None
    mean_x, mean_y = sum(xs) / n, sum(ys) / n
    spread = sum((x - mean_x) ** 2 for x in xs)
    if spread == 0:
        return None
    return sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / spread


def growth(samples: Sequence[Sample], window: tuple[float, float]) -> dict[str, Any]:
    """Memory over the steady part of ``samples``: first, last and most, and the two slopes
    (``growth_mib_per_h``, ``kib_per_stream``; None with a ``why`` when they cannot be drawn)."""
    begin, end = window
    steady = [s for s in samples if begin <= s.t <= end and s.rss_mib is not None]
    measured = [s.rss_mib for s in samples if s.rss_mib is not None]
    figures: dict[str, Any] = {
        "samples": len(steady),
        "first_mib": measured[0] if measured else None,
        "last_mib": measured[-1] if measured else None,
        "max_mib": max(measured) if measured else None,
        "growth_mib_per_h": None,
        "kib_per_stream": None,
        "streams_finished": (steady[-1].finished - steady[0].finished) if steady else 0,
        "why": None,
    }
    why: list[str] = []
    if len(steady) < MIN_SAMPLES:
        figures["why"] = f"{len(steady)} samples in the steady part, {MIN_SAMPLES} needed"
        return figures
    times = [s.t for s in steady]
    rss = [float(s.rss_mib) for s in steady if s.rss_mib is not None]
    if end - begin >= MIN_RATE_WINDOW_S:
        per_s = slope(times, rss)
        figures["growth_mib_per_h"] = None if per_s is None else round(per_s * 3600, 2)
    else:
        why.append(
            f"growth per hour: steady part {end - begin:.0f} s, shorter than the"
            f" {MIN_RATE_WINDOW_S:.0f} s a rate per hour is drawn from"
        )
    per_stream = slope([float(s.finished) for s in steady], rss)
    if per_stream is None:
        why.append("KiB per stream: no stream finished in the steady part")
    else:
        figures["kib_per_stream"] = round(per_stream * 1024, 2)
    if why:
        figures["why"] = "; ".join(why)
    return figures


def soak_section(
    *,
    sample_s: float,
    window: tuple[float, float],
    target: Sequence[Sample],
    target_pid: int | None,
    observe: dict[str, Any],
    harness: Mapping[str, Sequence[Sample]],
) -> dict[str, Any]:
    """load.json's ``soak`` section. The flat keys are the gate's (``soak_<key>`` thresholds);
    ``target`` and ``harness`` hold the details and the series.

    ``observe`` is what the sampler learned of ``/_observe/streams``: ``url``, ``why`` (not
    observed), ``baseline_live``/``baseline_tasks`` (before the run), ``live_after``/
    ``tasks_after`` (when the clients had left and the wait was over) and ``settle_s``.
    """
    target_memory = growth(target, window) if target_pid else None
    processes = {name: growth(series, window) for name, series in harness.items()}

    def worst(key: str) -> float | None:
        values = [p[key] for p in processes.values() if p[key] is not None]
        return max(values) if values else None

    def left(key: str) -> int | None:
        after, before = observe.get(f"{key}_after"), observe.get(f"baseline_{key}")
        return None if after is None or before is None else max(0, after - before)

    return {
        "sample_s": sample_s,
        "steady": {"from": round(window[0], 3), "to": round(window[1], 3)},
        "target_growth_mib_per_h": target_memory and target_memory["growth_mib_per_h"],
        "target_kib_per_stream": target_memory and target_memory["kib_per_stream"],
        "streams_left": left("live"),
        "tasks_left": left("tasks"),
        "harness_growth_mib_per_h": worst("growth_mib_per_h"),
        "harness_kib_per_stream": worst("kib_per_stream"),
        "target": {
            "pid": target_pid,
            "memory": target_memory,
            "observe": observe,
            "series": [s.as_json() for s in target],
        },
        "harness": {
            name: {**figures, "series": [s.as_json() for s in harness[name]]}
            for name, figures in processes.items()
        },
    }
