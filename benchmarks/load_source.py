"""What the load benchmarks share: the emitter as their source, and a gate that passes any run
with events (the figure is the benchmark's, not a verdict; an empty ``--sse-thresholds`` would
look the defaults up)."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

__all__ = ["LENIENT", "emitter"]

ROOT = Path(__file__).resolve().parent.parent
LENIENT = "[load]\nmin_events = 1\ncpu_warning = false\n"


@contextlib.contextmanager
def emitter(*args: str) -> Iterator[str]:
    """``python -m harness.load.emitter ARGS`` in its own process; yields the URL it serves."""
    popen = subprocess.Popen(
        [sys.executable, "-m", "harness.load.emitter", *args],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        assert popen.stdout is not None
        yield popen.stdout.readline().strip().rstrip("/")
    finally:
        popen.terminate()
        popen.wait(10)
