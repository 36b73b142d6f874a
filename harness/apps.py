"""The user's own app as the target (``--app module:attr``): imported from the working folder
as uvicorn imports it, served on a free loopback port by a real server in a process of its own,
and stopped after the run.

Why a process of its own: the app's import side effects, its event loop, its threads and its
crashes stay out of the harness, and stopping it is a signal, as in production. Why not
``uvicorn myapp:app`` on a command line: the port must be free (so the app binds port 0 and says
which port it got) and "listening" must mean the app's lifespan startup finished, not a sleep.

The child (``python -m harness.apps``, so the working folder is first on ``sys.path``, as for
``uvicorn``) imports ``module:attr`` (calling it first with ``factory``, uvicorn's ``--factory``),
and serves it: an ASGI app (its ``__call__`` is a coroutine function, uvicorn's own test) under
uvicorn with lifespan "auto", or under hypercorn for HTTP/2 (h2c and HTTP/1.1 on one plain port);
any other callable as WSGI under the standard library's threaded ``wsgiref`` server (it writes
each chunk the app yields to the socket as it comes, so streams stream), or hypercorn's WSGI mode
for HTTP/2. Once the app is ready it writes its base URL to a pipe the parent waits on; its
stdout and stderr go to a log file (``app.log`` in the report folder). An app that fails to
import or start is one line: the last line of its traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import inspect
import os
import select
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "EXIT_GRACE_S",
    "START_TIMEOUT_S",
    "AppError",
    "RunningApp",
    "app_spec",
    "error_line",
    "serve_app",
]

#: How long an app may take to import and finish its startup before the run gives up on it.
START_TIMEOUT_S = 30.0
#: How long a run that could not reach the app waits for it to finish dying, to name its error.
EXIT_GRACE_S = 3.0
#: Open streams get this long to end after SIGTERM; the lifespan shutdown runs after.
GRACEFUL_S = 2
#: SIGTERM, then SIGKILL once this has passed.
STOP_TIMEOUT_S = 10.0
HOST = "127.0.0.1"


class AppError(Exception):
    """The app could not be served; the message is one line that names the cause."""


def app_spec(text: str) -> str:
    """``module:attr`` as uvicorn takes it (an argparse ``type``): a dotted module, a colon, a
    dotted attribute."""
    module, _, attr = text.partition(":")
    names = [*module.split("."), *attr.split(".")]
    if not module or not attr or not all(name.isidentifier() for name in names):
        raise argparse.ArgumentTypeError(
            f"expected the app as module:attribute, e.g. myapp:app, got {text!r}"
        )
    return text


def error_line(output: str) -> str:
    """What a failed app said last: the exception line of its last traceback, or else its last
    line of output."""
    lines = [line.rstrip() for line in output.splitlines() if line.strip()]
    starts = [
        i for i, line in enumerate(lines) if line.endswith("Traceback (most recent call last):")
    ]
    if starts:
        # The frames are indented; the first line after them that is not names the exception.
        after = lines[starts[-1] + 1 :]
        found = next((line for line in after if not line[:1].isspace()), None)
        if found is not None:
            return found
    return lines[-1] if lines else "it printed nothing"


@dataclass(frozen=True, slots=True)
class RunningApp:
    """A served app: its base URL (``http://127.0.0.1:PORT``), its log, its process."""

    spec: str
    url: str
    log: Path
    process: subprocess.Popen[bytes]

    def exited(self, wait_s: float = 0.0) -> str | None:
        """Why the app is gone, in one line, if it has ended since it listened (else None): a
        run that cannot reach the app then names the app's own error. ``wait_s`` gives a
        dying app that long to finish dying: its refused connection can come before its exit,
        the more so on a busy machine."""
        try:
            code = self.process.wait(timeout=wait_s) if wait_s > 0 else self.process.poll()
        except subprocess.TimeoutExpired:
            return None
        if code is None:
            return None
        said = error_line(self.log.read_text(encoding="utf-8", errors="replace"))
        return f"the app {self.spec} stopped (exit code {code}): {said} (its output: {self.log})"


@contextlib.contextmanager
def serve_app(
    spec: str,
    *,
    log: Path,
    http2: bool = False,
    factory: bool = False,
    start_timeout_s: float = START_TIMEOUT_S,
) -> Iterator[RunningApp]:
    """Serve ``spec`` from the working folder until the block ends; ``AppError`` if it does not
    listen within ``start_timeout_s`` (the process is stopped either way)."""
    log.parent.mkdir(parents=True, exist_ok=True)
    ready_read, ready_write = os.pipe()
    command = [sys.executable, "-m", "harness.apps", spec, "--ready-fd", str(ready_write)]
    command += ["--http2"] * http2 + ["--factory"] * factory
    environment = {**os.environ, "PYTHONUNBUFFERED": "1"}  # the log follows the app as it runs
    try:
        with log.open("wb") as output:
            process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                pass_fds=(ready_write,),
                env=environment,
            )
    finally:
        os.close(ready_write)  # the child holds the only writer: its exit is EOF here
    try:
        url = _wait_ready(ready_read, process, spec, log, start_timeout_s)
    except BaseException:
        process.kill()  # it serves nothing yet, and a stuck startup may not heed SIGTERM
        process.wait()
        raise
    finally:
        os.close(ready_read)
    try:
        yield RunningApp(spec, url, log, process)
    finally:
        _stop(process)


def _wait_ready(
    ready: int, process: subprocess.Popen[bytes], spec: str, log: Path, timeout_s: float
) -> str:
    """The base URL the child writes once its app is ready; the app's error if it ends first."""
    deadline = time.monotonic() + timeout_s
    said = b""
    while not said.endswith(b"\n"):
        left = deadline - time.monotonic()
        if left <= 0:
            raise AppError(
                f"the app {spec} did not listen within {timeout_s:g} s (its startup never"
                f" finished; its output: {log})"
            )
        if not select.select([ready], [], [], left)[0]:
            continue
        chunk = os.read(ready, 256)
        if not chunk:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(STOP_TIMEOUT_S)
            error = error_line(log.read_text(encoding="utf-8", errors="replace"))
            raise AppError(
                f"the app {spec} did not start: {error} (exit code {process.poll()};"
                f" its output: {log})"
            )
        said += chunk
    return said.decode("ascii").strip()


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
    try:
        process.wait(STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


# -- the child process ------------------------------------------------------------------------


def _load(spec: str, factory: bool) -> Any:
    """``module:attr`` from ``sys.path`` (the working folder first, ``python -m``); errors are
    Python's own, so the parent shows e.g. "ModuleNotFoundError: No module named 'myapp'"."""
    import importlib

    module_name, _, attrs = spec.partition(":")
    found: Any = importlib.import_module(module_name)
    for name in attrs.split("."):
        found = getattr(found, name)
    return found() if factory else found


def _is_asgi(app: Any) -> bool:
    """uvicorn's test for ASGI 3: the app, or its ``__call__``, is a coroutine function."""
    return inspect.iscoroutinefunction(app) or inspect.iscoroutinefunction(
        getattr(app, "__call__", None)  # noqa: B004 - an object's __call__ is what servers call
    )


Asgi = Callable[[dict[str, Any], Any, Any], Awaitable[None]]


def _ready_after_startup(app: Asgi, announce: Callable[[], None]) -> Asgi:
    """``app``, announcing once its lifespan startup completes, or once it turns out not to
    speak lifespan (it returns or raises without reporting a failed startup: both servers go on
    without lifespan then). A failed startup is never announced; the server exits."""

    async def watched(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "lifespan":
            await app(scope, receive, send)
            return
        failed = False

        async def send_watched(message: dict[str, Any]) -> None:
            nonlocal failed
            await send(message)
            if message["type"] == "lifespan.startup.complete":
                announce()
            failed = failed or message["type"] == "lifespan.startup.failed"

        try:
            await app(scope, receive, send_watched)
        finally:
            if not failed:
                announce()

    return watched


def _serve_asgi(app: Asgi, announce: Callable[[str], None], http2: bool) -> None:
    import socket

    sock = socket.create_server((HOST, 0))
    url = f"http://{HOST}:{sock.getsockname()[1]}"
    watched = _ready_after_startup(app, lambda: announce(url))
    if http2:
        _serve_hypercorn(watched, sock, "asgi")
        return
    import uvicorn

    config = uvicorn.Config(
        watched, interface="asgi3", lifespan="auto", timeout_graceful_shutdown=GRACEFUL_S
    )
    uvicorn.Server(config).run(sockets=[sock])


def _serve_hypercorn(app: Any, sock: Any, mode: str) -> None:
    """Hypercorn on the bound socket: HTTP/1.1 and h2c (prior knowledge or upgrade) on one plain
    port; it ends on SIGTERM after ``GRACEFUL_S``."""
    import asyncio

    import hypercorn.asyncio
    import hypercorn.config

    config = hypercorn.config.Config()
    config.bind = [f"fd://{sock.fileno()}"]
    config.graceful_timeout = GRACEFUL_S
    config.accesslog = "-"
    config.errorlog = "-"
    asyncio.run(hypercorn.asyncio.serve(app, config, mode=mode))  # type: ignore[arg-type]


def _serve_wsgi(app: Any, announce: Callable[[str], None], http2: bool) -> None:
    if http2:
        import socket

        sock = socket.create_server((HOST, 0))
        # A WSGI app has no startup to wait for: it was imported, and the socket queues clients.
        announce(f"http://{HOST}:{sock.getsockname()[1]}")
        _serve_hypercorn(app, sock, "wsgi")
        return
    from socketserver import ThreadingMixIn
    from wsgiref.simple_server import WSGIServer, make_server

    class ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
        """One thread per connection (wsgiref's own server takes one request at a time), and a
        listen backlog for a burst of clients (socketserver's is 5: the rest would wait for SYN
        retries, seconds, and the app would be blamed for the harness's server)."""

        daemon_threads = True
        request_queue_size = 1024

    server = make_server(HOST, 0, app, server_class=ThreadingWSGIServer)
    announce(f"http://{HOST}:{server.server_port}")
    server.serve_forever()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m harness.apps")
    parser.add_argument("spec", type=app_spec)
    parser.add_argument("--ready-fd", type=int, required=True)
    parser.add_argument("--http2", action="store_true")
    parser.add_argument("--factory", action="store_true")
    args = parser.parse_args(argv)
    ready = os.fdopen(args.ready_fd, "w", encoding="ascii")

    def announce(url: str) -> None:
        if not ready.closed:
            ready.write(url + "\n")
            ready.close()

    app = _load(args.spec, args.factory)
    serve = _serve_asgi if _is_asgi(app) else _serve_wsgi
    serve(app, announce, args.http2)


if __name__ == "__main__":
    main()
