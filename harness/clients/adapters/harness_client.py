"""``harness.client.EventSource``, the project's own client, as any user would drive it."""

from __future__ import annotations

import asyncio

from harness.client import EventSource
from harness.clients.protocol import Emit, event

DIST = "sse-harness"


def run(url: str, types: list[str], emit: Emit) -> None:
    asyncio.run(_run(url, emit))


async def _run(url: str, emit: Emit) -> None:
    # No overall timeout: an EventSource has no deadline, and the matrix bounds every cell.
    async with EventSource(url, timeout=None, on_open=lambda _conn: emit("open")) as source:
        async for item in source:
            event(emit, item.type, item.data, item.last_event_id, {})
