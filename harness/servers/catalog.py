"""The libraries of the server matrix: which example app, served by which server, installed from
which distributions (whose versions the report records).

Python apps are modules of :mod:`harness.servers.apps`, installed with the ``servers`` extra;
Node apps are scripts in ``js/``, installed on first use from the shipped lock
(:mod:`harness.servers.node`). Standard library only, so the command's ``--help`` and usage
errors need no library.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

__all__ = ["LIBRARIES", "Library", "by_name"]

#: How an app is served: the server its library's docs run it on.
Server = Literal[
    "uvicorn",
    "hypercorn",
    "daphne",
    "aiohttp",
    "sanic",
    "gunicorn-gevent",
    "gunicorn-gevent-h2c",
    "waitress",
    "node",
]


@dataclass(frozen=True, slots=True)
class Library:
    name: str
    #: A module of ``harness.servers.apps`` (Python) or a script of ``js/`` (Node).
    app: str
    server: Server
    #: The distributions (PyPI or npm) whose versions make the library's version, the library's
    #: own first.
    packages: tuple[str, ...]
    #: Graded over HTTP/2 (h2c with prior knowledge) instead of HTTP/1.1.
    http2: bool = False
    #: What the page says of the app beside its findings (where it cannot serve the shared
    #: stream as :mod:`.apps.stream` describes it).
    note: str = ""

    @property
    def node(self) -> bool:
        return self.server == "node"

    @property
    def log_name(self) -> str:
        """The name of its app's log file (a library's name may hold a slash)."""
        return re.sub(r"[^A-Za-z0-9.+-]+", "-", self.name).strip("-") + ".log"


_EVENTSTREAM = (
    "django-eventstream's streams never end, and a new client starts at its channel's current"
    " event: the app's publisher sends `event N` every 50 ms on the channel from start, so"
    " `/stream` carries the events as they are published, with the library's ids"
    " (`stream:N`), until the read window closes (the end-of-stream cases see no end). Stored"
    " events (`DjangoModelStorage`, SQLite) are replayed after a `Last-Event-ID`. Every stream"
    " opens with a 2 KiB padding comment and a `stream-open` event; the keep-alive is an"
    " `event: keep-alive` every 20 s, not a comment; an unparseable `Last-Event-ID` is"
    " answered 200 with a `stream-error` event."
)

_GUNICORN_H2 = (
    "gunicorn's gevent worker serves the streams of one HTTP/2 connection one after another"
    " (`gunicorn/workers/base_async.py`): a request waits until every stream before it on its"
    " connection has ended, so behind an endless stream it waits for ever. The HTTP/2 runs"
    " multiplex their requests on one connection, which is what `server.capacity.1`,"
    " `server.capacity.2` and a HEAD on `/idle` (`server.http.1`) show; over HTTP/1.1 each"
    " stream has its own connection and greenlet."
)

LIBRARIES: tuple[Library, ...] = (
    Library("fastapi.sse", "fastapi_sse", "uvicorn", ("fastapi", "uvicorn")),
    Library("sse-starlette", "sse_starlette", "uvicorn", ("sse-starlette", "uvicorn")),
    Library("starlette-streaming", "starlette_streaming", "uvicorn", ("starlette", "uvicorn")),
    Library("aiohttp-sse", "aiohttp_sse", "aiohttp", ("aiohttp-sse", "aiohttp")),
    Library("litestar", "litestar_sse", "uvicorn", ("litestar", "uvicorn")),
    Library("quart", "quart_sse", "hypercorn", ("quart", "hypercorn")),
    Library("quart (HTTP/2)", "quart_sse", "hypercorn", ("quart", "hypercorn", "h2"), http2=True),
    Library("sanic", "sanic_sse", "sanic", ("sanic",)),
    Library("django-streaming", "django_streaming", "uvicorn", ("django", "uvicorn")),
    Library(
        "django-eventstream",
        "django_eventstream",
        "daphne",
        ("django-eventstream", "django", "daphne"),
        note=_EVENTSTREAM,
    ),
    Library("flask-gevent", "flask_sse", "gunicorn-gevent", ("flask", "gunicorn", "gevent")),
    Library(
        "flask-gevent (HTTP/2)",
        "flask_sse",
        "gunicorn-gevent-h2c",
        ("flask", "gunicorn", "gevent", "h2"),
        http2=True,
        note=_GUNICORN_H2,
    ),
    Library("flask-waitress", "flask_sse", "waitress", ("flask", "waitress")),
    Library("better-sse", "better-sse.mjs", "node", ("better-sse",)),
    Library("hono", "hono.mjs", "node", ("hono", "@hono/node-server")),
    Library("fastify-sse-v2", "fastify-sse-v2.mjs", "node", ("fastify-sse-v2", "fastify")),
    Library("express", "express.mjs", "node", ("express",)),
)


def by_name(names: list[str] | None) -> list[Library]:
    """The libraries named (all when None), in the table's order; :class:`ValueError` naming
    the unknown ones."""
    if names is None:
        return list(LIBRARIES)
    known = {library.name: library for library in LIBRARIES}
    unknown = [name for name in names if name not in known]
    if unknown:
        raise ValueError(
            f"unknown server librar{'y' if len(unknown) == 1 else 'ies'}: {', '.join(unknown)}"
            f" (known: {', '.join(known)})"
        )
    return [library for library in LIBRARIES if library.name in names]
