"""Serve one example app on a free loopback port: ``python -m harness.servers.serve APP SERVER``.

Run by :mod:`harness.servers.launch` as a process of its own. It imports the app first (an
import error ends it before any port is told), binds a listening socket on port 0, prints
``SSE-HARNESS-PORT <n>`` and hands the socket to the server: connections wait in the socket's
backlog until the server accepts them, so the runner starts as soon as it reads the line.
"""

from __future__ import annotations

import asyncio
import functools
import importlib
import socket
import sys
from collections.abc import Callable
from typing import Any

__all__ = ["PORT_LINE", "main"]

PORT_LINE = "SSE-HARNESS-PORT"


def _uvicorn(app: Any, sock: socket.socket) -> None:
    import uvicorn

    config = uvicorn.Config(app, log_level="warning", lifespan="auto")
    uvicorn.Server(config).run(sockets=[sock])


def _hypercorn(app: Any, sock: socket.socket) -> None:
    from hypercorn.asyncio import serve
    from hypercorn.config import Config

    config = Config()
    config.bind = [f"fd://{sock.fileno()}"]
    config.loglevel = "WARNING"
    asyncio.run(serve(app, config))


def _daphne(app: Any, sock: socket.socket) -> None:
    from daphne.server import Server

    Server(app, endpoints=[f"fd:fileno={sock.fileno()}"], verbosity=0).run()


def _aiohttp(app: Any, sock: socket.socket) -> None:
    from aiohttp import web

    web.run_app(app, sock=sock, print=None)


def _sanic(app: Any, sock: socket.socket) -> None:
    app.run(sock=sock, single_process=True, access_log=False, motd=False)


def _gunicorn_gevent(app: Any, sock: socket.socket, h2c: bool = False) -> None:
    """Gunicorn's gevent worker; with ``h2c``, its opt-in HTTP/2 (gunicorn 26.2+) on the plain
    port too: a connection that opens with the HTTP/2 preface is served as HTTP/2."""
    from gunicorn.app.base import BaseApplication

    settings: dict[str, Any] = {
        "bind": [f"fd://{sock.fileno()}"],
        "worker_class": "gevent",
        "workers": 1,
        "loglevel": "warning",
    }
    if h2c:
        settings |= {"http_protocols": "h2,h1", "http2_cleartext": "both"}

    class Gunicorn(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            for key, value in settings.items():
                self.cfg.set(key, value)

        def load(self) -> Any:
            return app

    sock.set_inheritable(True)
    Gunicorn().run()


def _waitress(app: Any, sock: socket.socket) -> None:
    import waitress

    waitress.serve(app, sockets=[sock], _quiet=True)


SERVERS: dict[str, Callable[[Any, socket.socket], None]] = {
    "uvicorn": _uvicorn,
    "hypercorn": _hypercorn,
    "daphne": _daphne,
    "aiohttp": _aiohttp,
    "sanic": _sanic,
    "gunicorn-gevent": _gunicorn_gevent,
    "gunicorn-gevent-h2c": functools.partial(_gunicorn_gevent, h2c=True),
    "waitress": _waitress,
}


def main(argv: list[str]) -> None:
    module, server = argv
    app = importlib.import_module(f"harness.servers.apps.{module}").app
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(1024)
    print(f"{PORT_LINE} {sock.getsockname()[1]}", flush=True)
    SERVERS[server](app, sock)


if __name__ == "__main__":
    main(sys.argv[1:])
