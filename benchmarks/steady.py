"""The CPU a Locust run spends in its steady state, per event: what a reader costs, without the
interpreter's start-up and Locust's imports (seconds of CPU that a short run would spread over
its events).

:func:`run_sampled` runs the command and samples the CPU time of its process tree once a
second; :func:`cpu_per_event` divides the CPU of a window of those samples by the events the
run's ``load.json`` counted in the same seconds.
"""

from __future__ import annotations

import contextlib
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any

import psutil

__all__ = ["SampledRun", "cpu_per_event", "run_sampled"]


@dataclass
class SampledRun:
    returncode: int
    output: str
    #: ``(Unix time, CPU seconds of the process tree so far)``, about one a second.
    samples: list[tuple[float, float]] = field(default_factory=list)


def _tree_cpu(process: psutil.Process) -> float:
    """User + system seconds of ``process`` and its children (the workers of --processes)."""
    total = 0.0
    for p in [process, *process.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):
            times = p.cpu_times()
            total += times.user + times.system
    return total


def run_sampled(command: list[str], timeout_s: float) -> SampledRun:
    """Run ``command`` to its end (killed after ``timeout_s``), sampling its CPU time."""
    started = time.monotonic()
    # Output goes to a file, not a pipe: nobody reads a pipe while the run is sampled, and a run
    # that printed more than its buffer (Locust's error report, say) would block on it.
    with tempfile.TemporaryFile() as out:
        popen = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
        process = psutil.Process(popen.pid)
        samples = []
        while popen.poll() is None and time.monotonic() - started < timeout_s:
            with contextlib.suppress(psutil.Error):
                samples.append((time.time(), _tree_cpu(process)))
            time.sleep(1.0)
        if popen.poll() is None:
            popen.kill()
        popen.wait()
        out.seek(0)
        output = out.read().decode(errors="replace")
    return SampledRun(popen.returncode, output, samples)


def cpu_per_event(run: SampledRun, report: dict[str, Any], skip_s: float, keep_s: float) -> float:
    """CPU µs per event from ``skip_s`` after the first second with events, for ``keep_s``
    seconds (NaN when the window holds fewer than two samples or no events)."""
    series = report["series"]
    first = series["start"]
    by_second = {first + i: n for i, n in enumerate(series["events_per_s"])}
    begin = min((s for s, n in by_second.items() if n), default=first) + skip_s
    inside = [(t, c) for t, c in run.samples if begin <= t <= begin + keep_s]
    if len(inside) < 2:
        return float("nan")
    (t0, c0), (t1, c1) = inside[0], inside[-1]
    events = sum(n for s, n in by_second.items() if int(t0) <= s < int(t1))
    return (c1 - c0) / events * 1e6 if events else float("nan")
