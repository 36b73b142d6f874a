"""sse-starlette: ``EventSourceResponse`` over an async generator of dicts, in a Starlette app;
the response pings an idle stream every 15 s by default."""

from __future__ import annotations

from collections.abc import AsyncIterator

from sse_starlette import EventSourceResponse
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.routing import Route

from harness.servers.apps.stream import data, paced_ids, until_the_client_leaves


async def _events(last_event_id: str | None) -> AsyncIterator[dict[str, str]]:
    async for n in paced_ids(last_event_id):
        yield {"id": str(n), "data": data(n)}


async def _nothing() -> AsyncIterator[dict[str, str]]:
    await until_the_client_leaves()  # the response sends the pings
    yield {"data": "never sent"}


async def stream(request: Request) -> EventSourceResponse:
    return EventSourceResponse(_events(request.headers.get("last-event-id")))


async def idle(request: Request) -> EventSourceResponse:
    return EventSourceResponse(_nothing())


app = Starlette(routes=[Route("/stream", stream), Route("/idle", idle)])
