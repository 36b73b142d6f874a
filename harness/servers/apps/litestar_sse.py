"""Litestar: a handler returning ``ServerSentEvent`` over an async generator of
``ServerSentEventMessage``; Litestar has no keep-alive of its own."""

from __future__ import annotations

from collections.abc import AsyncGenerator

from litestar import Litestar, Request, get
from litestar.response import ServerSentEvent, ServerSentEventMessage

from harness.servers.apps.stream import data, paced_ids, until_the_client_leaves


async def _events(last_event_id: str | None) -> AsyncGenerator[ServerSentEventMessage, None]:
    async for n in paced_ids(last_event_id):
        yield ServerSentEventMessage(data=data(n), id=n)


async def _nothing() -> AsyncGenerator[ServerSentEventMessage, None]:
    await until_the_client_leaves()
    yield ServerSentEventMessage(data="never sent")


@get("/stream")
async def stream(request: Request) -> ServerSentEvent:  # type: ignore[type-arg]
    return ServerSentEvent(_events(request.headers.get("last-event-id")))


@get("/idle")
async def idle() -> ServerSentEvent:
    return ServerSentEvent(_nothing())


app = Litestar(route_handlers=[stream, idle])
