"""mcp (PyPI), the official MCP Python SDK.

``client.mcp.*`` cases: its Streamable HTTP client, as its README shows:
``streamable_http_client(url)`` and a ``ClientSession`` on its streams, ``initialize()``,
``list_tools()``, then ``call_tool(name, {}, progress_callback=...)``; the user's code reports
each progress notification its callback gets and the text of the result, and an exception is an
observation like any other. Errors the transport hands the session's ``message_handler`` (not
raised to the caller) are reported as ``error`` records, for evidence.

Generic cases: the decoder the SDK reads every stream with, used as the SDK uses it (its
``sse_within_origin``): httpx2's ``EventSource`` (``httpx2._sse``, derived from httpx-sse) on the
response to a GET by an ``httpx2.AsyncClient``, with the SDK's event size limit. Its
``ServerSentEvent.id`` is the decoder's last event ID. ``DETAIL`` names its version.
"""

from __future__ import annotations

import importlib.metadata
from typing import Any

import anyio
import httpx2
from mcp.client.session import ClientSession
from mcp.client.streamable_http import DEFAULT_MAX_SSE_EVENT_SIZE, streamable_http_client

from harness.clients.mcp_cases import TOOL
from harness.clients.protocol import Emit, event

DIST = "mcp"
DETAIL = f"SSE: httpx2 {importlib.metadata.version('httpx2')}"


def run(url: str, types: list[str], emit: Emit) -> None:
    anyio.run(_decode, url, emit)


async def _decode(url: str, emit: Emit) -> None:
    headers = {"Accept": "text/event-stream", "Cache-Control": "no-store"}  # the SDK's GET
    async with httpx2.AsyncClient() as client, client.stream("GET", url, headers=headers) as got:
        async for sse in httpx2.EventSource(got, max_event_size=DEFAULT_MAX_SSE_EVENT_SIZE):
            raw = {"event": sse.event, "id": sse.id, "retry": sse.retry}
            event(emit, sse.event, sse.data, sse.id, raw)


def run_sdk(url: str, emit: Emit) -> None:
    try:
        anyio.run(_call, url, emit)
    except BaseExceptionGroup as group:
        # What call_tool raised, not the task groups of the SDK's context managers around it.
        leaf: BaseException = group
        while isinstance(leaf, BaseExceptionGroup) and len(leaf.exceptions) == 1:
            leaf = leaf.exceptions[0]
        raise leaf from group


async def _call(url: str, emit: Emit) -> None:
    async def progress(progress: float, total: float | None, message: str | None) -> None:
        emit("progress", progress=progress, total=total, message=message)

    async def handler(message: Any) -> None:
        if isinstance(message, Exception):
            emit("error", message=f"{type(message).__qualname__}: {message}"[:2000], closed=None)

    async with (
        streamable_http_client(url) as (read, write),
        ClientSession(read, write, message_handler=handler) as session,
    ):
        await session.initialize()
        await session.list_tools()
        result = await session.call_tool(TOOL, {}, progress_callback=progress)
        text = "".join(getattr(block, "text", "") for block in result.content)
        emit("result", text=text, is_error=bool(result.is_error))
