"""Streams about a connection's life rather than its events: idling with keep-alive comments
(S-16), and ending for good with 204 on reconnect (S-13)."""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from starlette.responses import Response

from harness.sse_guard import StreamControl
from reference_server.frames import Frame
from reference_server.pacing import Schedule
from reference_server.streaming import Stream, open_stream, resume_id, stream_route

__all__ = ["router"]

router = APIRouter(tags=["conformance"])


@stream_route(router, "/keepalive")
async def keepalive(
    stream: Annotated[Stream, Depends(open_stream)],
    keepalive_ms: Annotated[
        int | None, Query(ge=1, le=3_600_000, description="comment interval (default: settings)")
    ] = None,
    duration_ms: Annotated[int, Query(ge=0, le=3_600_000)] = 60_000,
) -> Response:
    """One ``open`` event, then only keep-alive comments for ``duration_ms``, then the end."""
    interval_s = None if keepalive_ms is None else keepalive_ms / 1000

    async def produce(control: StreamControl) -> AsyncGenerator[Frame, None]:
        opened = {"keepalive_ms": keepalive_ms, "duration_ms": duration_ms}
        yield Frame(data=json.dumps(opened), event="open")
        await control.pause(duration_ms / 1000)

    return await stream.respond(produce, keepalive_s=interval_s)


@stream_route(router, "/once")
async def once(
    stream: Annotated[Stream, Depends(open_stream)],
    last_id: Annotated[str | None, Depends(resume_id)],
    count: Annotated[int, Query(ge=1, le=10_000)] = 3,
    interval_ms: Annotated[int, Query(ge=0, le=60_000)] = 100,
) -> Response:
    """``count`` events, then the end; any reconnect (it carries ``Last-Event-ID``) gets 204."""
    if last_id is not None:
        return Response(status_code=204)

    async def produce(control: StreamControl) -> AsyncGenerator[Frame, None]:
        schedule = Schedule(control, interval_ms / 1000)
        for n in range(count):
            await schedule.tick(n)
            yield Frame(data=f"event {n + 1} of {count}", id=str(n))

    return await stream.respond(produce)
