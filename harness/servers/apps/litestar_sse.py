"""Litestar: a handler returning ``ServerSentEvent`` over an async generator of
``ServerSentEventMessage``; Litestar has no keep-alive of its own."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator

from litestar import Litestar, Request, get
from litestar.response import ServerSentEvent, ServerSentEventMessage

from harness.servers.apps.stream import INTERVAL_S, data, event_ids


async def _events(last_event_id: str | None) -> AsyncGenerator[ServerSentEventMessage, None]:
    for i, n in enumerate(event_ids(last_event_id)):
        if i:
            await asyncio.sleep(INTERVAL_S)
        yield ServerSentEventMessage(data=data(n), id=n)


async def _nothing() -> AsyncGenerator[ServerSentEventMessage, None]:
    await asyncio.Event().wait()  # until the client leaves
    yield ServerSentEventMessage(data="never sent")


@get("/stream")
async def stream(request: Request) -> ServerSentEvent:  # type: ignore[type-arg]
    return ServerSentEvent(_events(request.headers.get("last-event-id")))


@get("/idle")
async def idle() -> ServerSentEvent:
    return ServerSentEvent(_nothing())


app = Litestar(route_handlers=[stream, idle])
