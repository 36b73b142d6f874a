"""The resumable counter: the stream load tests and resume cases measure against.

Event ``n`` has ``id: n`` and a payload that depends only on ``n`` and the query, so a client that
reconnects with ``Last-Event-ID: n`` gets ``n + 1`` onwards with no gap and no duplicate, even
from a restarted server: there is no state to lose. Its data is compact JSON::

    {"seq": n, "intended": <Unix time the schedule meant to send it>,
     "sent": <Unix time it was sent>, "pad": <payload_bytes characters derived from n>}

The schedule is anchored when the connection starts: on a resume, the first resumed event is
intended at connection time and the following ones ``interval_ms`` apart, so lateness measured
against ``intended`` never counts the reconnect gap. Resuming after the last id answers 204, which
tells a conforming client to stop reconnecting (S-13).
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from starlette.responses import Response

from harness.sse_guard import StreamControl
from reference_server.frames import Frame
from reference_server.pacing import Schedule
from reference_server.streaming import Stream, open_stream, resume_seq, stream_route

__all__ = ["pad", "payload", "router"]

router = APIRouter(tags=["conformance"])


def pad(n: int, size: int) -> str:
    """``size`` characters that depend only on ``n`` (so a resumed payload is checkable)."""
    if not size:
        return ""  # the default, once per event: skip making the unit
    unit = f"{n:x}."
    return (unit * (size // len(unit) + 1))[:size]


def payload(seq: int, intended: float, sent: float, padding: str) -> str:
    """The event's compact JSON, by templating: under half the cost of ``json.dumps``

    Exact because every value is JSON as Python writes it: an int, floats (``repr`` is what
    ``json.dumps`` writes for a finite float) and ``padding``, which :func:`pad` makes of hex
    digits and dots only.
    """
    return f'{{"seq":{seq},"intended":{intended!r},"sent":{sent!r},"pad":"{padding}"}}'


@stream_route(router, "/counter")
async def counter(
    stream: Annotated[Stream, Depends(open_stream)],
    after: Annotated[int | None, Depends(resume_seq)],
    count: Annotated[int, Query(ge=1, le=100_000_000)] = 100,
    interval_ms: Annotated[int, Query(ge=0, le=3_600_000)] = 1000,
    payload_bytes: Annotated[int, Query(ge=0, le=65_536)] = 0,
    retry_ms: Annotated[
        int | None, Query(ge=0, le=3_600_000, description="send retry: with the first event")
    ] = None,
) -> Response:
    """Events ``0 .. count-1``, one per ``interval_ms``, resumable by ``Last-Event-ID``."""
    first = 0 if after is None else after + 1
    if first >= count:
        return Response(status_code=204)

    async def produce(control: StreamControl) -> AsyncGenerator[Frame, None]:
        schedule = Schedule(control, interval_ms / 1000)
        for n in range(first, count):
            intended = await schedule.tick(n - first)
            yield Frame(
                data=payload(n, intended, time.time(), pad(n, payload_bytes)),
                id=str(n),
                retry=retry_ms if n == first else None,
            )

    return await stream.respond(produce)
