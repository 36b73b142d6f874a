"""The libraries of the server matrix: which example app, served by which server, installed from
which distributions (whose versions the report records).

Python apps are modules of :mod:`harness.servers.apps`, installed with the ``servers`` extra;
Node apps are scripts in ``js/``, installed on first use from the shipped lock
(:mod:`harness.servers.node`). Standard library only, so the command's ``--help`` and usage
errors need no library.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["LIBRARIES", "Library", "by_name"]

#: How an app is served: the server its library's docs run it on.
Server = Literal["uvicorn", "hypercorn", "aiohttp", "sanic", "gunicorn-gevent", "waitress", "node"]


@dataclass(frozen=True, slots=True)
class Library:
    name: str
    #: A module of ``harness.servers.apps`` (Python) or a script of ``js/`` (Node).
    app: str
    server: Server
    #: The distributions (PyPI or npm) whose versions make the library's version, the library's
    #: own first.
    packages: tuple[str, ...]

    @property
    def node(self) -> bool:
        return self.server == "node"


LIBRARIES: tuple[Library, ...] = (
    Library("fastapi.sse", "fastapi_sse", "uvicorn", ("fastapi", "uvicorn")),
    Library("sse-starlette", "sse_starlette", "uvicorn", ("sse-starlette", "uvicorn")),
    Library("starlette-streaming", "starlette_streaming", "uvicorn", ("starlette", "uvicorn")),
    Library("aiohttp-sse", "aiohttp_sse", "aiohttp", ("aiohttp-sse", "aiohttp")),
    Library("litestar", "litestar_sse", "uvicorn", ("litestar", "uvicorn")),
    Library("quart", "quart_sse", "hypercorn", ("quart", "hypercorn")),
    Library("sanic", "sanic_sse", "sanic", ("sanic",)),
    Library("django-streaming", "django_streaming", "uvicorn", ("django", "uvicorn")),
    Library("flask-gevent", "flask_sse", "gunicorn-gevent", ("flask", "gunicorn", "gevent")),
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
