"""aiohttp-sse: ``async with sse_response(request) as resp`` and ``resp.send(data, id=...)``;
the response pings every 15 s by default."""

from __future__ import annotations

from aiohttp import web
from aiohttp_sse import sse_response

from harness.servers.apps.stream import data, paced_ids


async def stream(request: web.Request) -> web.StreamResponse:
    async with sse_response(request) as resp:
        async for n in paced_ids(resp.last_event_id):
            await resp.send(data(n), id=str(n))
    return resp


async def idle(request: web.Request) -> web.StreamResponse:
    async with sse_response(request) as resp:
        await resp.wait()  # until the client leaves; the response sends the pings
    return resp


app = web.Application()
app.router.add_get("/stream", stream)
app.router.add_get("/idle", idle)
