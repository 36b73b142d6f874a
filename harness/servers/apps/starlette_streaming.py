"""Starlette's plain ``StreamingResponse`` with ``media_type="text/event-stream"``: the app
formats the events itself, and nothing keeps an idle stream alive."""

from __future__ import annotations

from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.routing import Route

from harness.servers.apps.stream import data, paced_ids, until_the_client_leaves


async def _events(last_event_id: str | None) -> AsyncIterator[str]:
    async for n in paced_ids(last_event_id):
        yield f"id: {n}\ndata: {data(n)}\n\n"


async def _nothing() -> AsyncIterator[str]:
    await until_the_client_leaves()
    yield ""


async def stream(request: Request) -> StreamingResponse:
    body = _events(request.headers.get("last-event-id"))
    return StreamingResponse(body, media_type="text/event-stream")


async def idle(request: Request) -> StreamingResponse:
    return StreamingResponse(_nothing(), media_type="text/event-stream")


app = Starlette(routes=[Route("/stream", stream), Route("/idle", idle)])
