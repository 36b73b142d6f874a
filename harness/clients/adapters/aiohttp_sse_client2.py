"""aiohttp-sse-client2's ``EventSource`` with its defaults, reporting open and error callbacks.

A message's ``type`` is None for the default type; ``last_event_id`` is the last event ID string.
"""

from __future__ import annotations

import asyncio

from aiohttp_sse_client2 import client

from harness.clients.protocol import Emit, event

DIST = "aiohttp-sse-client2"


def run(url: str, types: list[str], emit: Emit) -> None:
    asyncio.run(_run(url, emit))


async def _run(url: str, emit: Emit) -> None:
    async with client.EventSource(
        url, on_open=lambda: emit("open"), on_error=lambda: emit("error")
    ) as source:
        async for item in source:
            event(emit, item.type, item.data, item.last_event_id, {"type": item.type})
