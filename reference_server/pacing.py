"""Timing and combining of producers: a drift-free schedule, and a merge of several producers."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator
from typing import TypeVar

from harness.sse_guard import StreamControl

__all__ = ["Schedule", "merge"]

T = TypeVar("T")


class Schedule:
    """Tick ``k`` is due ``k * interval_s`` after the schedule was made.

    Anchoring every tick to the start (rather than sleeping ``interval_s`` after each send) keeps
    a late tick from delaying all later ones, so lateness measured by a client is the server's
    real lag, not accumulated drift. The intended time of each tick is reported for that purpose.
    """

    def __init__(self, control: StreamControl, interval_s: float) -> None:
        self.control = control
        self.interval_s = interval_s
        self.anchor = time.time()
        self._anchor_mono = time.monotonic()

    async def tick(self, k: int) -> float:
        """Wait until tick ``k`` is due and return its intended Unix time."""
        offset = k * self.interval_s
        await self.control.pause_until(self._anchor_mono + offset)
        return self.anchor + offset


async def merge(*sources: AsyncGenerator[T, None]) -> AsyncGenerator[T, None]:
    """Interleave ``sources`` in the order their items are produced; end when all have ended.

    Each source's next step runs as its own task, so a slow source never holds up the others.
    Closing the merge cancels the steps still under way.
    """
    steps = {asyncio.ensure_future(anext(source)): source for source in sources}
    try:
        while steps:
            done, _ = await asyncio.wait(steps, return_when=asyncio.FIRST_COMPLETED)
            for step in done:
                source = steps.pop(step)
                try:
                    item = step.result()
                except StopAsyncIteration:
                    continue
                steps[asyncio.ensure_future(anext(source))] = source
                yield item
    finally:
        for step in steps:
            step.cancel()
