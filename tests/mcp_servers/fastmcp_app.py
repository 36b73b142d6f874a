"""An MCP server on the standalone ``fastmcp`` package (4.x: jlowin's FastMCP, now PrefectHQ's),
written as its docs show.

``FastMCP`` with the two tools the MCP conformance suite names, served by its own HTTP app
(``mcp.http_app()``: the Starlette app ``mcp.run(transport="http")`` runs under uvicorn), with
FastMCP's own event store (``fastmcp.server.event_store.EventStore``, in memory) and a
``retry`` of 100 ms, as ``EventStore``'s docstring shows it (``mcp.http_app(event_store=...,
retry_interval=...)``)::

    python tests/mcp_servers/fastmcp_app.py [--no-event-store]

``--no-event-store`` (or ``MCP_EVENT_STORE=0``) serves without one. It binds 127.0.0.1 port 0,
prints ``SSE-HARNESS-PORT <n>`` (what ``harness.servers.launch.start`` reads) and serves MCP at
``/mcp``. Host and Origin checks are left at FastMCP's default (off).
"""

from __future__ import annotations

import asyncio
import os
import socket
import sys

import uvicorn
from fastmcp import Context, FastMCP
from fastmcp.server.event_store import EventStore

from harness.servers.serve import PORT_LINE

RETRY_MS = 100

mcp = FastMCP("sse-harness-fastmcp")


@mcp.tool
async def test_tool_with_progress(ctx: Context) -> str:
    """Reports progress 0, 50 and 100 of 100, 50 ms apart, then answers."""
    await ctx.report_progress(progress=0, total=100, message="Completed step 0 of 100")
    await asyncio.sleep(0.05)
    await ctx.report_progress(progress=50, total=100, message="Completed step 50 of 100")
    await asyncio.sleep(0.05)
    await ctx.report_progress(progress=100, total=100, message="Completed step 100 of 100")
    return "progress done"


@mcp.tool
async def test_reconnection(ctx: Context) -> str:
    """Closes its own stream mid-call (SEP-1699), then answers: the client gets the result on
    the stream it resumes with Last-Event-ID."""
    await ctx.close_sse_stream()
    await asyncio.sleep(0.2)
    return "Reconnection test completed"


def with_event_store(argv: list[str]) -> bool:
    return "--no-event-store" not in argv and os.environ.get("MCP_EVENT_STORE") != "0"


def main() -> None:
    if with_event_store(sys.argv[1:]):
        app = mcp.http_app(event_store=EventStore(), retry_interval=RETRY_MS)
    else:
        app = mcp.http_app()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(1024)  # connections wait in the backlog until uvicorn accepts them
    print(f"{PORT_LINE} {sock.getsockname()[1]}", flush=True)
    config = uvicorn.Config(app, log_level="warning", lifespan="on")
    uvicorn.Server(config).run(sockets=[sock])


if __name__ == "__main__":
    main()
