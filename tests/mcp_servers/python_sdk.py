"""An MCP server on the official Python SDK (``mcp`` 2.x), written as the SDK's docs show it.

The high-level ``MCPServer`` (the SDK's FastMCP before 2.0) with two tools named as the MCP
conformance suite names them, and its Streamable HTTP app (``mcp.streamable_http_app()``,
docs/run/asgi.md) under uvicorn::

    python tests/mcp_servers/python_sdk.py [--event-store]

``--event-store`` (or ``MCP_EVENT_STORE=1``) gives the session manager an in-memory event store
and a ``retry`` of 100 ms, as the SDK's conformance server (examples/servers/everything-server)
runs; the SDK ships no event store, so :class:`InMemoryEventStore` follows the one of its
example examples/servers/simple-streamablehttp (uuid4 ids, the last 100 events per stream, one
store for every session, priming events skipped on replay).

It binds 127.0.0.1 port 0, prints ``SSE-HARNESS-PORT <n>`` (what
``harness.servers.launch.start`` reads) and serves MCP at ``/mcp``.
"""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from collections import deque
from dataclasses import dataclass
from uuid import uuid4

import uvicorn
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.streamable_http import EventCallback, EventId, EventMessage, EventStore, StreamId
from mcp.types import JSONRPCMessage

from harness.servers.serve import PORT_LINE

#: The SDK's conformance server asks clients to come back after 100 ms.
RETRY_MS = 100


@dataclass
class EventEntry:
    event_id: EventId
    stream_id: StreamId
    #: None: a priming event (the transport stores one before each stream's first message).
    message: JSONRPCMessage | None


class InMemoryEventStore(EventStore):
    """The SDK example's event store: the last ``max_events_per_stream`` events of each stream,
    an index from event id to event, and a replay of the events after an id on its stream."""

    def __init__(self, max_events_per_stream: int = 100) -> None:
        self.max_events_per_stream = max_events_per_stream
        self.streams: dict[StreamId, deque[EventEntry]] = {}
        self.event_index: dict[EventId, EventEntry] = {}

    async def store_event(self, stream_id: StreamId, message: JSONRPCMessage | None) -> EventId:
        entry = EventEntry(str(uuid4()), stream_id, message)
        kept = self.streams.setdefault(stream_id, deque(maxlen=self.max_events_per_stream))
        if len(kept) == self.max_events_per_stream:
            self.event_index.pop(kept[0].event_id, None)
        kept.append(entry)
        self.event_index[entry.event_id] = entry
        return entry.event_id

    async def replay_events_after(
        self, last_event_id: EventId, send_callback: EventCallback
    ) -> StreamId | None:
        last = self.event_index.get(last_event_id)
        if last is None:
            return None
        after = False
        for entry in self.streams.get(last.stream_id, ()):
            if after and entry.message is not None:
                await send_callback(EventMessage(entry.message, entry.event_id))
            elif entry.event_id == last_event_id:
                after = True
        return last.stream_id


mcp = MCPServer("sse-harness-python-sdk", version="1.0.0")


@mcp.tool()
async def test_tool_with_progress(ctx: Context) -> str:
    """Reports progress 0, 50 and 100 of 100, 50 ms apart, then answers."""
    await ctx.report_progress(progress=0, total=100, message="Completed step 0 of 100")
    await asyncio.sleep(0.05)
    await ctx.report_progress(progress=50, total=100, message="Completed step 50 of 100")
    await asyncio.sleep(0.05)
    await ctx.report_progress(progress=100, total=100, message="Completed step 100 of 100")
    return "progress done"


@mcp.tool()
async def test_reconnection(ctx: Context) -> str:
    """Closes its own stream mid-call (SEP-1699), then answers: the client gets the result on
    the stream it resumes with Last-Event-ID."""
    await ctx.close_sse_stream()
    await asyncio.sleep(0.2)
    return "Reconnection test completed"


def with_event_store(argv: list[str]) -> bool:
    return "--event-store" in argv or os.environ.get("MCP_EVENT_STORE") == "1"


def main() -> None:
    if with_event_store(sys.argv[1:]):
        app = mcp.streamable_http_app(event_store=InMemoryEventStore(), retry_interval=RETRY_MS)
    else:
        app = mcp.streamable_http_app()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(1024)  # connections wait in the backlog until uvicorn accepts them
    print(f"{PORT_LINE} {sock.getsockname()[1]}", flush=True)
    config = uvicorn.Config(app, log_level="warning", lifespan="on")
    uvicorn.Server(config).run(sockets=[sock])


if __name__ == "__main__":
    main()
