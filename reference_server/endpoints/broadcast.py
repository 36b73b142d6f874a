"""Broadcast: ``POST /broadcast/{channel}`` publishes, ``GET /broadcast/{channel}`` subscribes.

Every subscriber gets every event published after it subscribed, with the channel's ids
(0, 1, 2 ...); one that reconnects with ``Last-Event-ID`` first gets what it missed, from a replay
buffer of ``replay_buffer`` events. Channels live in memory: a restarted server starts them again
at id 0 (the counter stream is the restart-proof one).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path
from pydantic import BaseModel, Field
from starlette.requests import Request
from starlette.responses import Response

from harness.sse_guard import StreamControl
from reference_server.channels import Channel, ChannelsFull
from reference_server.frames import Frame
from reference_server.runtime import runtime
from reference_server.streaming import Stream, open_stream, resume_seq, stream_route

__all__ = ["router"]

router = APIRouter(tags=["conformance"])

ChannelName = Annotated[str, Path(pattern=r"^[A-Za-z0-9_.-]{1,64}$")]


def _channel(request: Request, name: str) -> Channel:
    try:
        return runtime(request).channels.get(name)
    except ChannelsFull as full:
        raise HTTPException(429, str(full)) from full


class Publication(BaseModel):
    data: str = Field(max_length=16_384)
    event: str | None = Field(default=None, max_length=64, pattern=r"^[^\r\n]*$")


@router.post("/broadcast/{channel}")
async def publish(request: Request, channel: ChannelName, body: Publication) -> dict[str, Any]:
    """Publish one event to every subscriber of ``channel``; answer its id."""
    target = _channel(request, channel)
    event_id = target.publish(body.data, body.event)
    return {"id": event_id, "subscribers": target.subscribers}


@stream_route(router, "/broadcast/{channel}")
async def subscribe(
    request: Request,
    channel: ChannelName,
    stream: Annotated[Stream, Depends(open_stream)],
    after: Annotated[int | None, Depends(resume_seq)],
) -> Response:
    """Events published to ``channel`` from now on (after ``Last-Event-ID`` when resuming)."""
    source = _channel(request, channel)

    def produce(control: StreamControl) -> AsyncGenerator[Frame, None]:
        return source.subscribe(control, after)

    return await stream.respond(produce)
