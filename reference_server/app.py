"""The reference server application: ``create_app(settings)`` builds it for uvicorn, tests and
embedding (``uvicorn --factory reference_server.app:create_app``)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.responses import JSONResponse
from starlette.types import ASGIApp

from harness import __version__
from harness.contract import STREAM_ID_HEADER, make_router
from harness.request_guard import RequestBodyGuard, json_safe
from harness.sse_guard import GuardedEventSourceResponse, expose_server_send
from reference_server.cors import FaultAwareCors
from reference_server.endpoints import broadcast, catalogue, chat, counter, lifecycle, seeds
from reference_server.mcp import McpService
from reference_server.runtime import Runtime
from reference_server.settings import DEFAULT_ORIGINS, Settings
from reference_server.streaming import FAULT_HEADER

__all__ = ["create_app"]


#: The endpoint families, each an ``APIRouter`` named ``router``.
FAMILIES = (seeds, counter, broadcast, chat, lifecycle, catalogue)


def create_app(
    settings: Settings | None = None,
    *,
    contract_token: str | None = None,
    cors_origins: Sequence[str] = DEFAULT_ORIGINS,
) -> FastAPI:
    """A new app with its own state (streams, channels), configured by ``settings``.

    ``contract_token`` locks the scripting contract (None: ``SSE_HARNESS_CONTRACT_TOKEN``, else
    loopback clients only, see ``harness.contract``); ``cors_origins`` are the pages trusted to
    read it with credentials (``reference_server.cors``). Neither is a ``Settings`` knob: a
    secret and a list have no place among the numbers the CLI derives flags from.
    """
    settings = settings if settings is not None else Settings()
    state = Runtime.build(settings)
    mcp = McpService()

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        async with mcp.run():
            yield
        await state.aclose()

    app = _ReferenceApp(
        title="sse-harness reference server",
        version=__version__,
        lifespan=lifespan,
    )
    app.state.runtime = state
    app.add_exception_handler(RequestValidationError, _invalid_request)  # type: ignore[arg-type]
    # Browsers' EventSource is cross-origin more often than not (S-19); naming the origin also
    # serves withCredentials, which a wildcard cannot, so only trusted origins are named.
    app.add_middleware(
        FaultAwareCors,
        origins=cors_origins,
        streams=_stream_paths(),
        allow_credentials=True,
        allow_methods=["GET", "HEAD", "POST"],
        allow_headers=["last-event-id", "content-type", "cache-control", FAULT_HEADER.lower()],
        expose_headers=[STREAM_ID_HEADER],
    )
    # Outermost of ours, so every 4xx below it reaches the client; it holds the body limit too
    # (not FastAPI's max_body_size=, which would sit outside it).
    app.add_middleware(RequestBodyGuard, max_body_bytes=settings.max_body_bytes)
    app.include_router(
        make_router(
            state.registry,
            token=contract_token,
            max_streams=settings.script_max_streams,
            max_body_bytes=settings.max_body_bytes,
            max_total_delay_s=settings.script_max_delay_s,
            shutdown_grace_s=settings.shutdown_grace_s,
        )
    )
    for family in FAMILIES:
        app.include_router(family.router)
    # MCP over the official SDK: /mcp (?fault=NAME), /mcp-legacy/sse, /faults/mcp.
    app.router.routes.extend(mcp.routes)
    return app


def _stream_paths() -> list[re.Pattern[str]]:
    """The paths of the endpoint families' streams (GET, HEAD and POST ones alike)."""
    return [
        route.path_regex
        for family in FAMILIES
        for route in family.router.routes
        if isinstance(route, APIRoute) and route.response_class is GuardedEventSourceResponse
    ]


class _ReferenceApp(FastAPI):
    """FastAPI whose streams send their body chunks straight to the server (``ServerSend``).

    Every layer of this app lets body chunks through unchanged once the response start is out:
    Starlette's error and exception middleware, CORS and the request guard act on the start (the
    guard also on the last chunk, which always takes the full path).
    """

    def build_middleware_stack(self) -> ASGIApp:
        return expose_server_send(super().build_middleware_stack())


async def _invalid_request(_request: Request, error: RequestValidationError) -> JSONResponse:
    """422 with FastAPI's usual detail, made renderable by ``harness.request_guard.json_safe``.

    FastAPI's own handler echoes the offending input and fails (500) on what JSON output cannot
    hold: ``Infinity``, undecodable bytes, lone surrogates.
    """
    return JSONResponse({"detail": json_safe(error.errors())}, status_code=422)
