"""Serving the reference server over HTTP/2 with hypercorn (uvicorn speaks HTTP/1.1 only).

Over TLS, clients that offer ``h2`` by ALPN get HTTP/2 and the others HTTP/1.1; without TLS,
hypercorn speaks HTTP/1.1 and h2c (prior knowledge or upgrade) on the same port. Like
:mod:`reference_server.launch`, the socket is bound here, so port 0 works without a race.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

import hypercorn.asyncio
import hypercorn.config
import hypercorn.protocol
from hypercorn.protocol.h2 import H2Protocol

from reference_server.launch import READY_PREFIX, _base_url, _bind, secure_url
from reference_server.tls import TlsFiles

__all__ = ["serve_http2_forever", "serve_http2_in_thread"]


class _PassThroughH2(H2Protocol):
    """Hypercorn's HTTP/2 protocol, sending the app's headers as the app set them.

    Hypercorn hands response headers to h2, whose default configuration silently strips
    connection-specific fields (``Connection``, ``Keep-Alive``, ``Transfer-Encoding``,
    ``Upgrade``, ``Proxy-Connection``). That hides what the app sends, so the reference server's
    ``connection_header`` fault could never reach an HTTP/2 client; with normalisation and outbound
    validation off, it does, as it does from servers that pass headers through. A clean stream
    sets none of those fields (``harness.sse_guard`` removes sse-starlette's ``Connection``).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.connection.config.normalize_outbound_headers = False
        self.connection.config.validate_outbound_headers = False


def _hypercorn_config(
    sock: socket.socket, tls: TlsFiles | None, graceful_s: float, log_level: str, access_log: bool
) -> hypercorn.config.Config:
    config = hypercorn.config.Config()
    config.bind = [f"fd://{sock.fileno()}"]
    config.graceful_timeout = graceful_s
    config.loglevel = log_level.upper() if log_level != "trace" else "DEBUG"
    config.accesslog = logging.getLogger("hypercorn.access") if access_log else None
    if tls is not None:
        config.certfile, config.keyfile = str(tls.cert), str(tls.key)
    return config


async def _serve_hypercorn(
    app: Any, config: hypercorn.config.Config, stop: Callable[[], Awaitable[None]] | None
) -> None:
    # Only the name hypercorn's protocol switch looks up is replaced, in the serving process.
    hypercorn.protocol.H2Protocol = _PassThroughH2  # type: ignore[attr-defined]
    await hypercorn.asyncio.serve(app, config, shutdown_trigger=stop)


def serve_http2_forever(
    app: Any,
    *,
    host: str,
    port: int,
    graceful_s: float,
    tls: TlsFiles | None,
    log_level: str = "info",
    access_log: bool = True,
) -> None:
    """Serve ``app`` under hypercorn until SIGINT/SIGTERM: HTTP/2 by ALPN over TLS (HTTP/1.1 for
    clients that do not offer h2), h2c with prior knowledge and HTTP/1.1 without TLS.

    The ready line is printed once the socket listens: hypercorn accepts from it after the app's
    startup, and a client that connects in between waits in the listen backlog.
    """
    sock = _bind(host, port)
    config = _hypercorn_config(sock, tls, graceful_s, log_level, access_log)
    print(READY_PREFIX + secure_url(sock, tls), flush=True)
    asyncio.run(_serve_hypercorn(app, config, None))


@contextmanager
def serve_http2_in_thread(
    app: Any, *, tls: TlsFiles | None, host: str = "127.0.0.1", graceful_s: float = 2.0
) -> Iterator[str]:
    """:func:`serve_http2_forever` from a background thread (``check --http2`` without a URL);
    yield the base URL, stop within ``graceful_s`` plus a bound on exit."""
    sock = _bind(host, 0)
    config = _hypercorn_config(sock, tls, graceful_s, "warning", False)
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()

    async def stopped() -> None:
        await stop.wait()

    def run() -> None:
        loop.run_until_complete(_serve_hypercorn(app, config, stopped))

    thread = threading.Thread(target=run, name="hypercorn-" + _base_url(sock), daemon=True)
    thread.start()
    try:
        yield secure_url(sock, tls)
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(graceful_s + 5)
        if not thread.is_alive():
            loop.close()
        sock.detach()  # hypercorn made its own socket of this descriptor, and closed it
