"""What the load benchmarks share: the emitter as their source, and a gate that passes any run
with events (the figure is the benchmark's, not a verdict; an empty ``--sse-thresholds`` would
look the defaults up)."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

__all__ = ["LENIENT", "Source", "emitter", "emitter_source"]

ROOT = Path(__file__).resolve().parent.parent
LENIENT = "[load]\nmin_events = 1\ncpu_warning = false\n"


class Source(NamedTuple):
    url: str
    #: The emitter's process (its CPU is sampled beside the reader's).
    pid: int


@contextlib.contextmanager
def emitter_source(*args: str) -> Iterator[Source]:
    """``python -m harness.load.emitter ARGS`` in its own process: its URL and process id."""
    popen = subprocess.Popen(
        [sys.executable, "-m", "harness.load.emitter", *args],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        assert popen.stdout is not None
        yield Source(popen.stdout.readline().strip().rstrip("/"), popen.pid)
    finally:
        popen.terminate()
        popen.wait(10)


@contextlib.contextmanager
def emitter(*args: str) -> Iterator[str]:
    """:func:`emitter_source`'s URL."""
    with emitter_source(*args) as source:
        yield source.url
