"""Starlette's plain ``StreamingResponse`` with ``media_type="text/event-stream"``: the app
formats the events itself, and nothing keeps an idle stream alive."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.routing import Route

from harness.servers.apps.stream import framed_events, silence


async def stream(request: Request) -> StreamingResponse:
    body = framed_events(request.headers.get("last-event-id"))
    return StreamingResponse(body, media_type="text/event-stream")


async def idle(request: Request) -> StreamingResponse:
    return StreamingResponse(silence(), media_type="text/event-stream")


app = Starlette(routes=[Route("/stream", stream), Route("/idle", idle)])
