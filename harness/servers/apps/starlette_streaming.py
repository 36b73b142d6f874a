"""Starlette's plain ``StreamingResponse`` with ``media_type="text/event-stream"``: the app
formats the events itself, and nothing keeps an idle stream alive."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.routing import Route

from harness.servers.apps.stream import INTERVAL_S, data, event_ids


async def _events(last_event_id: str | None) -> AsyncIterator[str]:
    for i, n in enumerate(event_ids(last_event_id)):
        if i:
            await asyncio.sleep(INTERVAL_S)
        yield f"id: {n}\ndata: {data(n)}\n\n"


async def _nothing() -> AsyncIterator[str]:
    await asyncio.Event().wait()  # until the client leaves
    yield ""


async def stream(request: Request) -> StreamingResponse:
    body = _events(request.headers.get("last-event-id"))
    return StreamingResponse(body, media_type="text/event-stream")


async def idle(request: Request) -> StreamingResponse:
    return StreamingResponse(_nothing(), media_type="text/event-stream")


app = Starlette(routes=[Route("/stream", stream), Route("/idle", idle)])
