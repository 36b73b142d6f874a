"""Sanic, as its streaming docs show: ``await request.respond(content_type="text/event-stream")``
then ``response.send(...)`` per event; Sanic has no keep-alive for a stream."""

from __future__ import annotations

import asyncio

from sanic import Request, Sanic

from harness.servers.apps.stream import INTERVAL_S, data, event_ids

app = Sanic("sse_harness_matrix")


@app.get("/stream")
async def stream(request: Request) -> None:
    response = await request.respond(content_type="text/event-stream")
    for i, n in enumerate(event_ids(request.headers.get("last-event-id"))):
        if i:
            await asyncio.sleep(INTERVAL_S)
        await response.send(f"id: {n}\ndata: {data(n)}\n\n")
    await response.eof()


@app.get("/idle")
async def idle(request: Request) -> None:
    await request.respond(content_type="text/event-stream")
    await asyncio.Event().wait()  # until the client leaves
