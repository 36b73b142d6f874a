"""sse-starlette: ``EventSourceResponse`` over an async generator of dicts, in a Starlette app;
the response pings an idle stream every 15 s by default."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from sse_starlette import EventSourceResponse
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.routing import Route

from harness.servers.apps.stream import INTERVAL_S, data, event_ids


async def _events(last_event_id: str | None) -> AsyncIterator[dict[str, str]]:
    for i, n in enumerate(event_ids(last_event_id)):
        if i:
            await asyncio.sleep(INTERVAL_S)
        yield {"id": str(n), "data": data(n)}


async def _nothing() -> AsyncIterator[dict[str, str]]:
    await asyncio.Event().wait()  # until the client leaves; the response sends the pings
    yield {"data": "never sent"}


async def stream(request: Request) -> EventSourceResponse:
    return EventSourceResponse(_events(request.headers.get("last-event-id")))


async def idle(request: Request) -> EventSourceResponse:
    return EventSourceResponse(_nothing())


app = Starlette(routes=[Route("/stream", stream), Route("/idle", idle)])
