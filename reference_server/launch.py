"""Running an ASGI app under real uvicorn on a loopback port: in a background thread (tests,
embedding, the pytest plugin), in the foreground (the CLI), or as a subprocess (restart and
SIGTERM tests).

Every way waits for uvicorn to report that it listens (no sleeps), binds the socket itself (so
port 0 works without a race), and stops within a bound.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import uvicorn

if TYPE_CHECKING:
    from reference_server.tls import TlsFiles

__all__ = [
    "READY_PREFIX",
    "ServerProcess",
    "free_port",
    "serve_forever",
    "serve_in_thread",
    "serve_subprocess",
    "serve_workers",
]

#: ``serve_forever`` prints this followed by the base URL once the server listens.
READY_PREFIX = "sse-harness: listening on "


def _bind(host: str, port: int) -> socket.socket:
    family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
    return socket.create_server((host, port), family=family)


def _base_url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def free_port(host: str = "127.0.0.1") -> int:
    """A port that was free a moment ago (for a server that must come back on the same port)."""
    with _bind(host, 0) as sock:
        port: int = sock.getsockname()[1]
        return port


class _Server(uvicorn.Server):
    """``uvicorn.Server`` that calls ``on_ready`` once it listens."""

    def __init__(self, config: uvicorn.Config, on_ready: Callable[[], None]) -> None:
        super().__init__(config)
        self._on_ready = on_ready

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            self._on_ready()


@contextmanager
def serve_in_thread(
    app: Any,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    graceful_s: float = 2.0,
    startup_timeout_s: float = 10.0,
    **uvicorn_options: Any,
) -> Iterator[str]:
    """Serve ``app`` from a background thread; yield its base URL (``http://127.0.0.1:PORT``).

    On exit the server stops accepting, gives open responses ``graceful_s`` to finish, then
    cancels them; the app's lifespan shutdown runs. Logging is left to the caller (uvicorn's own
    logging config is not installed), so pytest captures it.
    """
    sock = _bind(host, port)
    ready = threading.Event()
    config = uvicorn.Config(
        app,
        log_config=None,
        timeout_graceful_shutdown=max(1, round(graceful_s)),
        **uvicorn_options,
    )
    server = _Server(config, ready.set)
    thread = threading.Thread(
        target=server.run,
        kwargs={"sockets": [sock]},
        name="uvicorn-" + _base_url(sock),
        daemon=True,
    )
    thread.start()
    try:
        deadline = time.monotonic() + startup_timeout_s
        while not ready.wait(0.05):
            if not thread.is_alive():
                raise RuntimeError("uvicorn stopped during startup (see its log)")
            if time.monotonic() > deadline:
                raise TimeoutError(f"uvicorn did not listen within {startup_timeout_s} s")
        yield _base_url(sock)
    finally:
        server.should_exit = True
        thread.join(graceful_s + 5)
        if thread.is_alive():
            server.force_exit = True
            thread.join(5)
        sock.close()


def serve_forever(
    app: Any,
    *,
    host: str,
    port: int,
    graceful_s: float,
    log_level: str = "info",
    access_log: bool = True,
    tls: TlsFiles | None = None,
) -> None:
    """Serve ``app`` in the foreground until SIGINT/SIGTERM; print the ready line on startup.

    The ready line (``READY_PREFIX`` + URL, on stdout) tells the actual port when ``port`` is 0,
    and names https:// when ``tls`` is given (HTTP/1.1 over TLS under uvicorn).
    """
    sock = _bind(host, port)
    url = secure_url(sock, tls)
    config = _foreground_config(app, graceful_s, log_level, access_log, tls)
    _Server(config, lambda: print(READY_PREFIX + url, flush=True)).run(sockets=[sock])


def _foreground_config(
    app: Any, graceful_s: float, log_level: str, access_log: bool, tls: TlsFiles | None
) -> uvicorn.Config:
    """The uvicorn settings of a server run in the foreground, alone or as a forked worker."""
    return uvicorn.Config(
        app,
        log_level=log_level,
        access_log=access_log,
        timeout_graceful_shutdown=max(1, round(graceful_s)),
        ssl_certfile=None if tls is None else str(tls.cert),
        ssl_keyfile=None if tls is None else str(tls.key),
    )


class ServerProcess:
    """``python -m reference_server`` in a child process; see :func:`serve_subprocess`."""

    def __init__(self, popen: subprocess.Popen[str]) -> None:
        self.popen = popen
        self.url = ""
        #: The last lines the process printed on stdout (the ready line, access log).
        self.output: deque[str] = deque(maxlen=200)
        self._ready = threading.Event()
        threading.Thread(target=self._pump, name=f"stdout-{popen.pid}", daemon=True).start()

    def _pump(self) -> None:
        # Read stdout to the end so the server never blocks on a full pipe.
        assert self.popen.stdout is not None
        for line in self.popen.stdout:
            self.output.append(line)
            if not self._ready.is_set() and line.startswith(READY_PREFIX):
                self.url = line[len(READY_PREFIX) :].strip()
                self._ready.set()
        self._ready.set()

    def wait_ready(self, timeout_s: float) -> str:
        if not self._ready.wait(timeout_s) or not self.url:
            raise RuntimeError(f"server did not start; exit code {self.popen.poll()}")
        return self.url

    def terminate(self, timeout_s: float = 10.0) -> int:
        """Send SIGTERM and wait for the exit code (kill after ``timeout_s``)."""
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
        try:
            return self.popen.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait()
            raise


@contextmanager
def serve_subprocess(
    args: Sequence[str] = (),
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    command: Sequence[str] = (sys.executable, "-m", "reference_server"),
    startup_timeout_s: float = 30.0,
) -> Iterator[ServerProcess]:
    """Run ``command --host HOST --port PORT *args``; yield it once it listens.

    ``command`` is ``python -m reference_server`` unless given (``("sse-harness", "serve")``
    runs the same server through the CLI). The process is terminated (SIGTERM, then SIGKILL) on
    exit if it still runs.
    """
    argv = [*command, "--host", host, "--port", str(port), *args]
    process = ServerProcess(subprocess.Popen(argv, stdout=subprocess.PIPE, text=True))
    try:
        process.wait_ready(startup_timeout_s)
        yield process
    finally:
        if process.popen.poll() is None:
            process.terminate()


def secure_url(sock: socket.socket, tls: TlsFiles | None) -> str:
    """The base URL of a bound socket, https:// when it serves TLS."""
    url = _base_url(sock)
    return url.replace("http://", "https://", 1) if tls is not None else url


def serve_workers(
    make_app: Callable[[], Any],
    workers: int,
    *,
    host: str,
    port: int,
    graceful_s: float,
    log_level: str = "info",
    access_log: bool = True,
    tls: TlsFiles | None = None,
) -> int:
    """Serve from ``workers`` forked processes sharing one listening socket; print one ready line.

    One process's event loop is one core; the kernel hands each new connection to whichever
    process accepts it first. Forked rather than spawned (uvicorn's ``--workers``): each child
    builds its app with ``make_app`` from the settings already parsed, where a spawned child
    would need the app as an import string. The ready line goes out once every child listens;
    SIGTERM or SIGINT to this process is passed on as SIGTERM, so each child ends its streams
    within its grace period. Returns the first exit code of a child that failed, else 0 (a child
    ended by SIGTERM did not fail: uvicorn re-raises the signal it handled).
    """
    sock = _bind(host, port)
    url = secure_url(sock, tls)
    ready_read, ready_write = os.pipe()

    def announce() -> None:
        os.write(ready_write, b".")

    children: list[int] = []
    for _ in range(workers):
        pid = os.fork()
        if pid == 0:  # pragma: no cover - runs in the child, which leaves through os._exit
            os.close(ready_read)
            code = 1
            try:
                config = _foreground_config(make_app(), graceful_s, log_level, access_log, tls)
                _Server(config, announce).run(sockets=[sock])
                code = 0
            finally:
                os._exit(code)
        children.append(pid)
    os.close(ready_write)

    def stop(_signum: int, _frame: object) -> None:
        for child in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    ready = 0
    while ready < workers and (chunk := os.read(ready_read, workers)):
        ready += len(chunk)
    os.close(ready_read)
    if ready == workers:
        print(READY_PREFIX + url, flush=True)
    else:
        stop(signal.SIGTERM, None)
    codes = [os.waitstatus_to_exitcode(os.waitpid(child, 0)[1]) for child in children]
    sock.close()
    failed = (code for code in codes if code not in (0, -signal.SIGTERM))
    return next(failed, 0 if ready == workers else 1)
