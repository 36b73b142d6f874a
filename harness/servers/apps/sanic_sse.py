"""Sanic, as its streaming docs show: ``await request.respond(content_type="text/event-stream")``
then ``response.send(...)`` per event; Sanic has no keep-alive for a stream."""

from __future__ import annotations

from sanic import Request, Sanic

from harness.servers.apps.stream import data, paced_ids, until_the_client_leaves

app = Sanic("sse_harness_matrix")


@app.get("/stream")
async def stream(request: Request) -> None:
    response = await request.respond(content_type="text/event-stream")
    async for n in paced_ids(request.headers.get("last-event-id")):
        await response.send(f"id: {n}\ndata: {data(n)}\n\n")
    await response.eof()


@app.get("/idle")
async def idle(request: Request) -> None:
    await request.respond(content_type="text/event-stream")
    await until_the_client_leaves()
