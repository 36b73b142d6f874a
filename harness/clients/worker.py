"""The Python client runner: ``python -m harness.clients.worker ADAPTER_MODULE``.

It imports the adapter (and so the client library) once, then runs each cell in a forked child:
a fork costs milliseconds, the child starts with the library already imported, and a client
that hangs (a blocking read, a ``time.sleep`` before a reconnect) is ended by SIGKILL at the
cell's end. Stopping a sync client from inside its own process would need its cooperation; this
needs none, so every client is bounded the same way.

An adapter module provides ``DIST`` (the distribution whose version is reported; an optional
``DETAIL`` is added to it in brackets, such as the SSE decoder inside an SDK) and
``run(url, types, emit)``, which drives the client until it ends by itself; an exception it
raises is an observation (:mod:`harness.clients.protocol`). An LLM SDK's adapter also provides
``run_sdk(url, emit)``, the SDK's streaming call with ``url`` as its base URL, run for a
command with ``sdk`` set (an MCP SDK's adapter: its tools/call on the MCP endpoint ``url``).
The library is imported inside
``run`` or at module level; an ImportError at import time reports the client unavailable.

Records go to stdout. Only one process writes at a time: the child while it runs, the worker
after reaping it (the ``end`` record), so records never interleave.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import json
import os
import select
import signal
import sys
from types import ModuleType
from typing import Any

from harness.clients.protocol import encode

__all__ = ["main"]

_RAISED = 3


def _write(data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(1, view) :]


class _Commands:
    """Complete lines from stdin, read with os.read so select() on fd 0 stays truthful."""

    def __init__(self) -> None:
        self._buffer = b""

    def pending(self) -> bool:
        return b"\n" in self._buffer

    def read(self) -> dict[str, Any] | None:
        """The next command, blocking; None at end of input."""
        while b"\n" not in self._buffer:
            data = os.read(0, 65536)
            if not data:
                return None
            self._buffer += data
        line, self._buffer = self._buffer.split(b"\n", 1)
        command: dict[str, Any] = json.loads(line)
        return command


def _child(module: ModuleType, command: dict[str, Any]) -> None:
    run = int(command["run"])

    def emit(kind: str, **fields: Any) -> None:
        _write(encode(kind, run, **fields))

    code = 0
    try:
        if command.get("sdk"):
            module.run_sdk(command["url"], emit)
        else:
            module.run(command["url"], command["types"], emit)
    except BaseException as exc:  # an exception is an observation, whatever it is
        emit("exception", type=type(exc).__qualname__, message=str(exc)[:2000])
        code = _RAISED
    finally:
        os._exit(code)


def _run_cell(module: ModuleType, command: dict[str, Any], commands: _Commands) -> bool:
    """Run one cell; False when stdin closed (the matrix is gone) and the worker should exit."""
    run = int(command["run"])
    pid = os.fork()
    if pid == 0:
        _child(module, command)
    pidfd = os.pidfd_open(pid)
    eof = stopped = False
    try:
        while True:
            if not commands.pending():
                ready, _, _ = select.select([0, pidfd], [], [])
                if pidfd in ready:
                    break
            next_command = commands.read()
            eof = next_command is None
            if next_command is None or (
                next_command.get("op") == "stop" and next_command.get("run") == run
            ):
                os.kill(pid, signal.SIGKILL)
                stopped = True
                break
        _, status = os.waitpid(pid, 0)
    finally:
        os.close(pidfd)
    if stopped:
        how = "stopped"
    elif os.WIFEXITED(status) and os.WEXITSTATUS(status) in (0, _RAISED):
        how = "returned" if os.WEXITSTATUS(status) == 0 else "raised"
    else:
        how = f"crashed (wait status {status})"
    _write(encode("end", run, how=how))
    return not eof


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        sys.exit("usage: python -m harness.clients.worker ADAPTER_MODULE")
    try:
        module = importlib.import_module(args[0])
        version = importlib.metadata.version(module.DIST)
        detail = getattr(module, "DETAIL", None)
        if detail:
            version = f"{version} ({detail})"
    except (ImportError, importlib.metadata.PackageNotFoundError) as exc:
        _write(encode("unavailable", 0, reason=f"{type(exc).__name__}: {exc}"))
        return
    _write(encode("hello", 0, client=args[0], version=version))
    commands = _Commands()
    while (command := commands.read()) is not None:
        if command.get("op") == "run" and not _run_cell(module, command, commands):
            return


if __name__ == "__main__":
    main()
