"""The CPU a Locust run spends in its steady state, per event: what a reader costs, without the
interpreter's start-up and Locust's imports (seconds of CPU that a short run would spread over
its events); and the memory it holds per stream.

:func:`run_sampled` runs the command and samples the CPU time and resident memory of its process
tree about once a second; :func:`cpu_per_event` divides the CPU of a window of those samples by
the events the run's ``load.json`` counted in the same seconds. :func:`rss_per_stream` divides
what the tree's resident memory grew by, from before the first user spawned to the end of that
window, by the streams open then.
"""

from __future__ import annotations

import contextlib
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import psutil

__all__ = ["SampledRun", "cpu_per_event", "rss_per_stream", "run_sampled"]

#: What Locust logs as it begins to spawn users (a local runner, a master): the moment memory is
#: taken "before".
SPAWN_MARKS = (b"Ramping to ", b"Sending spawn jobs ")
#: How often the tree is looked at until users spawn (then about once a second).
_EARLY_POLL_S = 0.1


@dataclass
class SampledRun:
    returncode: int
    output: str
    #: ``(Unix time, CPU seconds of the process tree so far)``, about one a second.
    samples: list[tuple[float, float]] = field(default_factory=list)
    #: ``(Unix time, KiB resident in the process tree)``, taken with ``samples``.
    rss: list[tuple[float, int]] = field(default_factory=list)
    #: KiB resident in the tree at the last look before Locust began to spawn users (0: unseen).
    rss_before_kib: int = 0
    #: ``samples`` of the source's process tree (the emitter), when one was given.
    source_samples: list[tuple[float, float]] = field(default_factory=list)


def _tree(process: psutil.Process) -> list[psutil.Process]:
    """``process`` and its children (the workers of --processes)."""
    with contextlib.suppress(psutil.Error):
        return [process, *process.children(recursive=True)]
    return [process]


def _tree_cpu(tree: list[psutil.Process]) -> float:
    """User + system seconds of the processes of ``tree``."""
    total = 0.0
    for p in tree:
        with contextlib.suppress(psutil.Error):
            times = p.cpu_times()
            total += times.user + times.system
    return total


def vm_rss_kib(pid: int) -> int:
    """``VmRSS`` of ``pid`` from ``/proc/<pid>/status``, in KiB (0 once it is gone)."""
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def _tree_rss(tree: list[psutil.Process]) -> int:
    return sum(vm_rss_kib(p.pid) for p in tree)


def _spawning(out: IO[bytes]) -> bool:
    """Whether Locust has logged that it spawns users (the output file, read from its start)."""
    out.seek(0)
    output = out.read()
    return any(mark in output for mark in SPAWN_MARKS)


def run_sampled(command: list[str], timeout_s: float, source_pid: int | None = None) -> SampledRun:
    """Run ``command`` to its end (killed after ``timeout_s``), sampling its CPU time and memory,
    and the CPU time of the process ``source_pid`` (and its children) beside it."""
    started = time.monotonic()
    run = SampledRun(0, "")
    # Output goes to a file, not a pipe: nobody reads a pipe while the run is sampled, and a run
    # that printed more than its buffer (Locust's error report, say) would block on it.
    with tempfile.TemporaryFile() as out:
        popen = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
        process = psutil.Process(popen.pid)
        source = psutil.Process(source_pid) if source_pid else None
        spawned = False
        while popen.poll() is None and time.monotonic() - started < timeout_s:
            tree = _tree(process)
            if not spawned:
                spawned = _spawning(out)
                if not spawned:
                    run.rss_before_kib = _tree_rss(tree)
                    time.sleep(_EARLY_POLL_S)
                    continue
            run.samples.append((time.time(), _tree_cpu(tree)))
            run.rss.append((time.time(), _tree_rss(tree)))
            if source is not None:
                run.source_samples.append((time.time(), _tree_cpu(_tree(source))))
            time.sleep(1.0)
        if popen.poll() is None:
            popen.kill()
        popen.wait()
        out.seek(0)
        run.output = out.read().decode(errors="replace")
    run.returncode = popen.returncode
    return run


def _window(report: dict[str, Any], skip_s: float) -> tuple[dict[int, int], float]:
    """Events by Unix second, and where the steady window begins."""
    series = report["series"]
    first = series["start"]
    by_second = {first + i: n for i, n in enumerate(series["events_per_s"])}
    return by_second, min((s for s, n in by_second.items() if n), default=first) + skip_s


def cpu_per_event(
    run: SampledRun, report: dict[str, Any], skip_s: float, keep_s: float, *, source: bool = False
) -> float:
    """CPU µs per event from ``skip_s`` after the first second with events, for ``keep_s``
    seconds (NaN when the window holds fewer than two samples or no events): of the Locust
    processes, or with ``source`` of the source's."""
    by_second, begin = _window(report, skip_s)
    samples = run.source_samples if source else run.samples
    inside = [(t, c) for t, c in samples if begin <= t <= begin + keep_s]
    if len(inside) < 2:
        return float("nan")
    (t0, c0), (t1, c1) = inside[0], inside[-1]
    events = sum(n for s, n in by_second.items() if int(t0) <= s < int(t1))
    return (c1 - c0) / events * 1e6 if events else float("nan")


def rss_per_stream(
    run: SampledRun, report: dict[str, Any], skip_s: float, keep_s: float
) -> tuple[float, int]:
    """``(KiB per stream, streams held)``: the tree's resident memory at the end of the steady
    window (as :func:`cpu_per_event` places it) less what it held before users spawned, over the
    streams open in that second (NaN when nothing was sampled there)."""
    _, begin = _window(report, skip_s)
    inside = [(t, kib) for t, kib in run.rss if begin <= t <= begin + keep_s]
    series = report["series"]
    active = dict(enumerate(series["active_streams"], start=series["start"]))
    if not inside or not run.rss_before_kib:
        return float("nan"), 0
    at, kib = inside[-1]
    held = active.get(int(at), 0)
    return ((kib - run.rss_before_kib) / held if held else float("nan")), held
