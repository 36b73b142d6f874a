"""What every example app serves, so that the matrix compares libraries, not streams.

``GET /stream``: :data:`EVENTS` events, ids 1 to 20, data ``event N``, :data:`INTERVAL_S` apart,
then the end; a request with ``Last-Event-ID: k`` continues with k+1 (resumable, S-18).
``GET /idle``: a stream that sends no event at all, so only the library's keep-alive (if it has
one) crosses the wire, and HEAD is answered as the library's router answers it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

__all__ = [
    "EVENTS",
    "INTERVAL_S",
    "data",
    "event_ids",
    "framed_events",
    "paced_ids",
    "silence",
    "until_the_client_leaves",
]

EVENTS = 20
INTERVAL_S = 0.05


def event_ids(last_event_id: str | None) -> range:
    """The ids still to send after ``last_event_id`` (anything but an id of this stream starts
    from the first)."""
    try:
        last = int(last_event_id or 0)
    except ValueError:
        last = 0
    return range(min(max(last, 0), EVENTS) + 1, EVENTS + 1)


def data(n: int) -> str:
    return f"event {n}"


async def paced_ids(last_event_id: str | None) -> AsyncIterator[int]:
    """:func:`event_ids`, the first at once and each next one :data:`INTERVAL_S` later: the pace
    every async app streams at (each formats the events its library's way)."""
    for i, n in enumerate(event_ids(last_event_id)):
        if i:
            await asyncio.sleep(INTERVAL_S)
        yield n


async def until_the_client_leaves() -> None:
    """An idle stream's whole life: the server cancels the waiting task when the client goes."""
    await asyncio.Event().wait()


async def framed_events(last_event_id: str | None) -> AsyncIterator[str]:
    """:func:`paced_ids` as event-stream text, for the apps whose library has no SSE support and
    frames the events itself (a plain streaming response)."""
    async for n in paced_ids(last_event_id):
        yield f"id: {n}\ndata: {data(n)}\n\n"


async def silence() -> AsyncIterator[str]:
    """The idle stream of those apps: nothing until the client leaves."""
    await until_the_client_leaves()
    yield ""
