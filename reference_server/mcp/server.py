"""The MCP server behind ``/mcp``: the official SDK's low-level ``Server`` with the tools the
official conformance suite calls, and the SDK's session manager around it.

Tools (names and behaviour as the conformance suite's everything-server has them):

``test_simple_text``         one text content.
``test_tool_with_progress``  with the request's ``progressToken``: progress 0, 50 and 100 of 100,
                             ``STEP_S`` apart, on the request's own stream; then a text result.
``test_reconnection``        SEP-1699 polling: the request's stream is closed mid-call with the
                             SDK's ``close_sse_stream`` (the priming event, with ``retry:``, and,
                             given a progress token, progress 0 of 1 are already out); the
                             result follows ``RECONNECT_WAIT_S`` later, for the client that
                             resumes with GET and ``Last-Event-ID``. The SDK offers the close
                             only with an event store and a negotiated 2025-11-25 or later;
                             otherwise the call just takes that long.

:class:`SessionStoreManager` is the SDK's ``StreamableHTTPSessionManager`` with one change: each
session gets an event store of its own. The SDK passes the manager's single ``event_store`` to
every session, and the stream ids it stores under are the JSON-RPC request ids (and
``_GET_stream``), the same in every session: with one shared store, a client resuming its own
request 2 also receives every other session's request 2 (see ``event_store``).
"""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import mcp.types as types
from mcp.server import Server, ServerRequestContext
from mcp.server.auth.middleware.bearer_auth import AuthorizationContext
from mcp.server.streamable_http import EventStore, StreamableHTTPServerTransport
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings

from harness import __version__

__all__ = [
    "CLOSE_AFTER_S",
    "RECONNECT_WAIT_S",
    "RETRY_MS",
    "SECURITY",
    "STEP_S",
    "TOOLS",
    "ProgressSender",
    "SessionStoreManager",
    "also_standalone",
    "build_server",
    "request_scoped",
]

#: The ``retry:`` of every priming event: how long a client waits before it resumes.
RETRY_MS = 100
#: Between two progress notifications of ``test_tool_with_progress``.
STEP_S = 0.05
#: ``test_reconnection``: the call runs this long before its stream is closed...
CLOSE_AFTER_S = 0.05
#: ...and this long after, before it returns its result.
RECONNECT_WAIT_S = 0.2
PROGRESS = (0, 50, 100)
PROGRESS_TOTAL = 100

_LOOPBACK = ("127.0.0.1", "localhost", "[::1]")
#: Loopback Hosts and Origins only (with or without a port, over http or https, as ``serve``
#: and ``serve --tls`` are reached); any other Origin gets 403 (M-17), any other Host 421.
SECURITY = TransportSecuritySettings(
    enable_dns_rebinding_protection=True,
    allowed_hosts=[h + port for h in _LOOPBACK for port in ("", ":*")],
    allowed_origins=[
        f"{scheme}://{h}{port}"
        for scheme in ("http", "https")
        for h in _LOOPBACK
        for port in ("", ":*")
    ],
)
# The SDK logs every refused Origin as a warning; the MCP profile sends one on purpose (M-17),
# and an embedded server's log lands in the user's terminal, mid-report. The 403 says it all.
logging.getLogger("mcp.server.transport_security").setLevel(logging.ERROR)

_NO_ARGUMENTS: dict[str, Any] = {"type": "object", "properties": {}}
TOOLS = [
    types.Tool(
        name="test_simple_text", description="One text content.", input_schema=_NO_ARGUMENTS
    ),
    types.Tool(
        name="test_tool_with_progress",
        description="Progress 0, 50, 100 of 100 on the request's stream, then a text result.",
        input_schema=_NO_ARGUMENTS,
    ),
    types.Tool(
        name="test_reconnection",
        description="Closes the request's SSE stream mid-call (SEP-1699); the result arrives on "
        "the stream resumed with GET and Last-Event-ID.",
        input_schema=_NO_ARGUMENTS,
    ),
]

Context = ServerRequestContext[Any, Any]
#: Sends one progress notification of a tool call: (context, token, progress, total).
ProgressSender = Callable[[Context, types.ProgressToken, float, float], Awaitable[None]]


async def request_scoped(
    ctx: Context, _token: types.ProgressToken, progress: float, total: float
) -> None:
    """The clean way: on the stream of the request the progress is about."""
    await ctx.session.report_progress(progress, total)


async def also_standalone(
    ctx: Context, token: types.ProgressToken, progress: float, total: float
) -> None:
    """``broadcast_progress``: on the request's stream and, the same message, on the session's
    GET stream (the SDK's standalone channel: no related request). As floats on both: the
    SDK's typed notification writes 50 as 50.0, and the copies must be the same bytes."""
    await request_scoped(ctx, token, float(progress), float(total))
    await ctx.session.send_progress_notification(token, float(progress), float(total))


def _text(text: str, *, error: bool = False) -> types.CallToolResult:
    return types.CallToolResult(content=[types.TextContent(type="text", text=text)], is_error=error)


def build_server(progress: ProgressSender = request_scoped) -> Server[Any]:
    """A low-level SDK ``Server`` with :data:`TOOLS`, sending progress with ``progress``."""

    async def list_tools(
        _ctx: Context, _params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        return types.ListToolsResult(tools=TOOLS)

    async def call_tool(ctx: Context, params: types.CallToolRequestParams) -> types.CallToolResult:
        if params.name == "test_simple_text":
            return _text("This is a simple text response for testing.")
        if params.name == "test_tool_with_progress":
            token = (ctx.meta or {}).get("progress_token")
            for step, value in enumerate(PROGRESS):
                if step:
                    await anyio.sleep(STEP_S)
                if token is not None:
                    await progress(ctx, token, value, PROGRESS_TOTAL)
            return _text(f"Progress test completed (token {token!r}).")
        if params.name == "test_reconnection":
            # A message before the close, when asked for progress: the stream then has an id to
            # resume from even where the priming event is missing (the no_priming fault).
            if (token := (ctx.meta or {}).get("progress_token")) is not None:
                await progress(ctx, token, 0, 1)
            await anyio.sleep(CLOSE_AFTER_S)
            if ctx.close_sse_stream is not None:
                await ctx.close_sse_stream()
            await anyio.sleep(RECONNECT_WAIT_S)
            return _text("Reconnection test completed successfully.")
        return _text(f"Unknown tool: {params.name}", error=True)

    return Server(
        "sse-harness-reference",
        version=__version__,
        on_list_tools=list_tools,
        on_call_tool=call_tool,
    )


class SessionStoreManager(StreamableHTTPSessionManager):
    """The SDK's session manager, with an event store of its own for every session.

    ``new_store`` makes one per session. The manager's own ``event_store`` stays ``None``: the
    SDK reads it only where a session is admitted, which is the one place this class changes
    (``_admit_session`` and the transport's ``_event_store`` are SDK internals, checked by
    ``tests/test_mcp_reference.py``).
    """

    def __init__(
        self, app: Server[Any], *, new_store: Callable[[], EventStore], **options: Any
    ) -> None:
        super().__init__(app, **options)
        self._new_store = new_store

    def _admit_session(
        self, requestor: AuthorizationContext | None
    ) -> StreamableHTTPServerTransport | None:
        transport = super()._admit_session(requestor)
        if transport is not None:
            transport._event_store = self._new_store()
            _no_priming_on_resume(transport)
        return transport


def _no_priming_on_resume(transport: StreamableHTTPServerTransport) -> None:
    """SDK workaround (mcp 2.3.0): a resumed stream gets no new priming event.

    After replaying a stream the SDK stores and sends a priming event before it forwards the
    stream live again; a message the call sends in that gap is stored but neither replayed nor
    sent (its own comment calls the window "pre-existing and tracked separately"). Under load,
    about one forced drop in fifteen lost a message (``sse-harness load --profile mcp``). The
    priming event only primes a stream that has no id yet, and a resumed one has its client's.
    """
    replay, mint = transport._replay_events, transport._mint_priming_event
    replaying: contextvars.ContextVar[bool] = contextvars.ContextVar("replaying", default=False)

    async def replay_events(*args: Any, **kwargs: Any) -> Any:
        token = replaying.set(True)
        try:
            return await replay(*args, **kwargs)
        finally:
            replaying.reset(token)

    async def mint_priming_event(*args: Any, **kwargs: Any) -> Any:
        return None if replaying.get() else await mint(*args, **kwargs)

    transport._replay_events = replay_events  # type: ignore[method-assign]
    transport._mint_priming_event = mint_priming_event  # type: ignore[method-assign]
