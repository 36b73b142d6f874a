"""``/mcp`` and its faults, the legacy HTTP+SSE transport, and ``GET /faults/mcp``: the routes
the reference app mounts and the lifespan that runs the SDK's session managers.

Each wiring (the clean one and one per fault) is its own SDK session manager, so a fault never
touches another endpoint's sessions; ``?fault=NAME`` picks the manager for every request of a
session (a client sends all of them to the same URL). The 2026-07-28 per-request POSTs are
routed by the SDK's manager itself, on the same URL.

Legacy HTTP+SSE (2024-11-05, the SDK's ``SseServerTransport``): ``GET /mcp-legacy/sse`` is the
stream, whose first event (``endpoint``) names the POST URL under ``/mcp-legacy/messages/``.
``?fault=NAME`` picks a legacy fault there (its wire stage around the stream); the POSTs go to
the one message endpoint, whichever stream named it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter
from mcp.server import Server
from mcp.server.sse import SseServerTransport
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecurityMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from reference_server.mcp import wire
from reference_server.mcp.faults import CLEAN, MCP_FAULTS, Wiring, mcp_fault_catalogue
from reference_server.mcp.server import SECURITY, SessionStoreManager, build_server

__all__ = ["LEGACY_MESSAGES", "LEGACY_STREAM", "MCP_PATH", "McpService"]

MCP_PATH = "/mcp"
LEGACY_STREAM = "/mcp-legacy/sse"
LEGACY_MESSAGES = "/mcp-legacy/messages/"


def _manager(wiring: Wiring) -> StreamableHTTPSessionManager:
    options: dict[str, Any] = {"security_settings": SECURITY, "retry_interval": wiring.retry_ms}
    server = build_server(wiring.progress)
    if wiring.shared_store:
        return StreamableHTTPSessionManager(server, event_store=wiring.store(), **options)
    return SessionStoreManager(server, new_store=wiring.store, **options)


class _Endpoint:
    """One wiring served: its session manager, behind its wire stage if it has one."""

    def __init__(self, wiring: Wiring) -> None:
        self.manager = _manager(wiring)
        self.app = wiring.around(wire.drop_connection_header(self.manager.handle_request))


class McpService:
    """The MCP routes of one app; :meth:`run` must wrap the app's lifespan."""

    def __init__(self) -> None:
        self._clean = _Endpoint(CLEAN)
        self._faults = {
            name: _Endpoint(fault.wiring)
            for name, fault in MCP_FAULTS.items()
            if fault.transport == "streamable"
        }
        legacy = _LegacyStream()
        stream = wire.drop_connection_header(legacy)
        legacy_faults = {
            name: fault.wiring.around(stream)
            for name, fault in MCP_FAULTS.items()
            if fault.transport == "legacy"
        }
        catalogue = APIRouter(tags=["faults"])
        catalogue.add_api_route("/faults/mcp", _catalogue, methods=["GET"])
        self.routes: list[BaseRoute] = [
            # Route, not Mount: exactly /mcp, with no redirect to /mcp/.
            Route(
                MCP_PATH,
                endpoint=_ByFault(
                    self._clean.app, {name: e.app for name, e in self._faults.items()}
                ),
            ),
            Route(LEGACY_STREAM, endpoint=_ByFault(stream, legacy_faults), methods=["GET"]),
            Mount(LEGACY_MESSAGES.rstrip("/"), app=legacy.transport.handle_post_message),
            *catalogue.routes,
        ]

    @asynccontextmanager
    async def run(self) -> AsyncIterator[None]:
        """Run every session manager (the SDK needs its task group up before any request)."""
        async with AsyncExitStack() as stack:
            for endpoint in (self._clean, *self._faults.values()):
                await stack.enter_async_context(endpoint.manager.run())
            yield


class _ByFault:
    """One route's app: the clean one, or the fault ``?fault=NAME`` picks (422 for a name the
    route does not serve). An object with ``__call__``, which a ``Route`` takes as an ASGI app
    (a function or method as a request handler)."""

    def __init__(self, clean: ASGIApp, faults: dict[str, ASGIApp]) -> None:
        self._clean = clean
        self._faults = faults

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        names = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("fault", [""])
        app = self._faults.get(names[0]) if names[0] else self._clean
        if app is None:
            detail = {"msg": f"unknown MCP fault {names[0]!r}", "valid": list(self._faults)}
            await JSONResponse({"detail": detail}, status_code=422)(scope, receive, send)
            return
        await app(scope, receive, send)


class _LegacyStream:
    """``GET /mcp-legacy/sse``: one legacy session, served by the clean tools while it lasts."""

    def __init__(self) -> None:
        self.transport = SseServerTransport(LEGACY_MESSAGES, security_settings=SECURITY)
        self._server: Server[Any] = build_server()
        self._security = TransportSecurityMiddleware(SECURITY)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Checked here first: connect_sse answers a foreign Host or Origin itself, then raises.
        refusal = await self._security.validate_request(Request(scope, receive))
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        async with self.transport.connect_sse(scope, receive, send) as (read, write):
            await self._server.run(read, write, self._server.create_initialization_options())


async def _catalogue() -> list[dict[str, Any]]:
    """Every MCP fault: ``name``, ``rule`` (an ``M-*`` id), ``level``, ``layers``,
    ``transport``, ``description``. Select one with ``?fault=NAME`` on ``/mcp`` (transport
    ``streamable``) or on ``/mcp-legacy/sse`` (transport ``legacy``)."""
    return mcp_fault_catalogue()
