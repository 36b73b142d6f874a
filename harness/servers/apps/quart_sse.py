"""Quart, as its "Server Sent Events" how-to shows: ``make_response`` over an async generator of
encoded events, with the event-stream headers and ``response.timeout = None``; no keep-alive."""

from __future__ import annotations

from collections.abc import AsyncGenerator

from quart import Quart, make_response, request
from quart.wrappers import Response

from harness.servers.apps.stream import data, paced_ids, until_the_client_leaves

app = Quart(__name__)

_HEADERS = {
    "Content-Type": "text/event-stream",
    "Cache-Control": "no-cache",
    "Transfer-Encoding": "chunked",
}


async def _respond(body: AsyncGenerator[bytes, None]) -> Response:
    response = await make_response(body, _HEADERS)
    response.timeout = None  # type: ignore[union-attr]
    return response  # type: ignore[return-value]


@app.get("/stream")
async def stream() -> Response:
    last_event_id = request.headers.get("Last-Event-ID")  # read in the request's context

    async def events() -> AsyncGenerator[bytes, None]:
        async for n in paced_ids(last_event_id):
            yield f"id: {n}\ndata: {data(n)}\n\n".encode()

    return await _respond(events())


@app.get("/idle")
async def idle() -> Response:
    async def nothing() -> AsyncGenerator[bytes, None]:
        await until_the_client_leaves()
        yield b""

    return await _respond(nothing())
