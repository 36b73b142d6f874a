"""The endpoints users know from the examples this project grew from: ``/``, ``/sse``, ``/sse2``,
``/sse3``. Their wire format is kept (``GET /`` still uses CRLF and ``retry: 15000``)."""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import count as naturals
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field
from starlette.responses import Response

from harness.sse_guard import GuardedEventSourceResponse, StreamControl
from reference_server.frames import Frame
from reference_server.pacing import Schedule, merge
from reference_server.streaming import Produce, Stream, open_stream, stream_route
from reference_server.typed_events import BaseEvent, Echo, EchoPayload, ReverseEcho

__all__ = ["SENTENCE", "router"]

router = APIRouter(tags=["seeds"])

SENTENCE = "七夕情人節即將來臨,我們為您準備了精美的鮮花和美味的蛋糕"
MAX_MESSAGE = 4096


def _characters(text: str, interval_s: float) -> Produce:
    async def produce(control: StreamControl) -> AsyncGenerator[Frame, None]:
        schedule = Schedule(control, interval_s)
        for k, char in enumerate(text):
            await schedule.tick(k)
            yield Frame(data=char, event="message", retry=15000)

    return produce


@stream_route(router, "/")
async def sentence(stream: Annotated[Stream, Depends(open_stream)]) -> Response:
    """The sentence, one character per ``message`` event, CRLF line ends."""
    interval = stream.runtime.settings.char_interval_s
    return await stream.respond(_characters(SENTENCE, interval), eol="\r\n")


class Message(BaseModel):
    message: str = Field(min_length=1, max_length=MAX_MESSAGE)


@router.post("/sse", response_class=GuardedEventSourceResponse)
async def message_characters(
    body: Message, stream: Annotated[Stream, Depends(open_stream)]
) -> Response:
    """The posted message, one character per ``message`` event, like ``GET /``."""
    interval = stream.runtime.settings.char_interval_s
    return await stream.respond(_characters(body.message, interval), eol="\r\n")


@dataclass(frozen=True)
class EchoQuery:
    message: str
    count: int | None
    interval_ms: int | None


async def echo_query(
    message: Annotated[str, Query(min_length=1, max_length=MAX_MESSAGE)],
    count: Annotated[
        int | None, Query(ge=1, le=1_000_000, description="events; none: endless")
    ] = None,
    interval_ms: Annotated[int | None, Query(ge=0, le=3_600_000)] = None,
) -> EchoQuery:
    return EchoQuery(message, count, interval_ms)


EchoFrame = Callable[[int, datetime], Frame]


def _echoes(stream: Stream, query: EchoQuery, make: EchoFrame) -> Produce:
    """``make(n, now)`` for n = 0, 1, ... once per interval."""
    interval_ms = query.interval_ms
    interval_s = (
        stream.runtime.settings.echo_interval_s if interval_ms is None else interval_ms / 1000
    )

    async def produce(control: StreamControl) -> AsyncGenerator[Frame, None]:
        schedule = Schedule(control, interval_s)
        numbers = naturals() if query.count is None else range(query.count)
        for n in numbers:
            await schedule.tick(n)
            yield make(n, datetime.now(UTC))

    return produce


@stream_route(router, "/sse")
async def echo(
    stream: Annotated[Stream, Depends(open_stream)],
    query: Annotated[EchoQuery, Depends(echo_query)],
) -> Response:
    """``event: echo``, ids 0, 1, 2 ..., data ``{"message", "created_at"}`` built as a dict."""

    def make(n: int, now: datetime) -> Frame:
        data = {"message": query.message, "created_at": now.isoformat()}
        return Frame(data=json.dumps(data, ensure_ascii=False), event="echo", id=str(n))

    return await stream.respond(_echoes(stream, query, make))


def _typed(kind: type[BaseEvent[EchoPayload]], message: str) -> EchoFrame:
    def make(n: int, now: datetime) -> Frame:
        return kind(id=n, payload=EchoPayload(message=message, created_at=now)).to_frame()

    return make


@stream_route(router, "/sse2")
async def typed_echo(
    stream: Annotated[Stream, Depends(open_stream)],
    query: Annotated[EchoQuery, Depends(echo_query)],
) -> Response:
    """The ``/sse`` stream built from typed events (``Echo``)."""
    return await stream.respond(_echoes(stream, query, _typed(Echo, query.message)))


@stream_route(router, "/sse3")
async def merged_echo(
    stream: Annotated[Stream, Depends(open_stream)],
    query: Annotated[EchoQuery, Depends(echo_query)],
) -> Response:
    """``echo`` and ``reverse_echo`` (message reversed) merged, each with ids from 0."""
    echoes = _echoes(stream, query, _typed(Echo, query.message))
    reversed_echoes = _echoes(stream, query, _typed(ReverseEcho, query.message[::-1]))

    def produce(control: StreamControl) -> AsyncGenerator[Frame, None]:
        return merge(echoes(control), reversed_echoes(control))

    return await stream.respond(produce)
