"""Start an example app as a process of its own, learn its port, stop it.

The app prints ``SSE-HARNESS-PORT <n>`` once its socket listens (:mod:`.serve`, and the Node
apps' ``announce``); :func:`start` reads stdout until that line, so the matrix waits exactly as
long as the app takes to start, never a fixed sleep, and an app that dies first, or says nothing
for :data:`START_TIMEOUT_S`, is :class:`Unavailable` with its last line of output. Everything it
prints goes to a log file in the report folder. The app runs in a session of its own, so that
stopping it stops the workers it forked (gunicorn) too.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from harness.clients.errors import Unavailable
from harness.servers.serve import PORT_LINE

__all__ = ["START_TIMEOUT_S", "RunningApp", "python_argv", "start"]

#: Longest an app may take to import and listen on a busy machine.
START_TIMEOUT_S = 60.0
_STOP_TIMEOUT_S = 10.0


@dataclass(slots=True)
class RunningApp:
    process: subprocess.Popen[bytes]
    port: int
    log: Path
    _drain: threading.Thread

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        """SIGTERM to the app's session, SIGKILL if it outlives the timeout."""
        if self.process.poll() is None:
            _signal(self.process, signal.SIGTERM)
            try:
                self.process.wait(_STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                _signal(self.process, signal.SIGKILL)
                self.process.wait()
        self._drain.join(_STOP_TIMEOUT_S)


def python_argv(app: str, server: str) -> list[str]:
    return [sys.executable, "-m", "harness.servers.serve", app, server]


def start(argv: Sequence[str], log: Path, cwd: Path | None = None) -> RunningApp:
    log.parent.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(
        argv,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert process.stdout is not None
    sink = log.open("wb")
    try:
        port = _read_port(process, process.stdout, sink)
    except Unavailable:
        _signal(process, signal.SIGKILL)
        process.wait()
        sink.close()
        raise
    drain = threading.Thread(target=_copy, args=(process.stdout, sink), daemon=True)
    drain.start()
    return RunningApp(process, port, log, drain)


def _read_port(process: subprocess.Popen[bytes], out: IO[bytes], sink: IO[bytes]) -> int:
    deadline = time.monotonic() + START_TIMEOUT_S
    seen: list[bytes] = []
    ended = False
    with selectors.DefaultSelector() as selector:
        selector.register(out, selectors.EVENT_READ)
        while (left := deadline - time.monotonic()) > 0:
            if not selector.select(left):
                break
            line = out.readline()
            if not line:
                ended = True
                break
            sink.write(line)
            seen.append(line)
            text = line.decode("utf-8", "replace").strip()
            if text.startswith(PORT_LINE):
                return int(text.split()[1])
    sink.flush()
    lines = [s.decode("utf-8", "replace").strip() for s in seen if s.strip()]
    if ended or process.poll() is not None:
        why = lines[-1] if lines else f"exit status {process.wait()}"
        raise Unavailable(f"the app exited before it listened: {why}")
    raise Unavailable(f"the app did not listen within {START_TIMEOUT_S:.0f} s")


def _copy(out: IO[bytes], sink: IO[bytes]) -> None:
    with sink:
        for line in out:
            sink.write(line)
            sink.flush()


def _signal(process: subprocess.Popen[bytes], signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signum)
