"""Broadcast channels: fan-out of published events, with a bounded replay buffer for resuming.

Subscribers do not get queues of their own: each reads the channel's replay buffer from its own
cursor (the next id it needs) and sleeps on a wake-up event when it has caught up. So a slow
subscriber costs no memory; if it falls further behind than the buffer holds, it is told with a
comment and continues from the oldest event still held.
"""

from __future__ import annotations

import math
from collections import OrderedDict, deque
from collections.abc import AsyncGenerator

import anyio

from harness.sse_guard import StreamControl
from reference_server.frames import Frame

__all__ = ["Channel", "Channels", "ChannelsFull"]


class ChannelsFull(Exception):
    """Every channel slot holds a channel with subscribers; none can be evicted."""


class Channel:
    def __init__(self, replay: int) -> None:
        self.next_id = 0
        self.subscribers = 0
        self._replay: deque[Frame] = deque(maxlen=replay)
        self._wakers: set[anyio.Event] = set()

    def publish(self, data: str, event: str | None) -> int:
        """Add one event (its id is the channel's next sequence number) and wake subscribers."""
        event_id = self.next_id
        self.next_id += 1
        self._replay.append(Frame(data=data, event=event, id=str(event_id)))
        for waker in self._wakers:
            waker.set()
        self._wakers.clear()
        return event_id

    def _oldest(self) -> int:
        return self.next_id - len(self._replay)

    async def subscribe(
        self, control: StreamControl, after: int | None
    ) -> AsyncGenerator[Frame, None]:
        """Events after id ``after`` (from the next one published when None), then live ones."""
        cursor = self.next_id if after is None else min(after + 1, self.next_id)
        self.subscribers += 1
        try:
            while True:
                oldest = self._oldest()
                if cursor < oldest:
                    yield Frame(comment=f"replay gap: events {cursor}..{oldest - 1} are gone")
                    cursor = oldest
                for frame in list(self._replay)[cursor - oldest :]:
                    yield frame
                    cursor += 1
                if cursor >= self.next_id:
                    waker = anyio.Event()
                    self._wakers.add(waker)
                    try:
                        await control.pause(math.inf, wake=waker)
                    finally:
                        self._wakers.discard(waker)
        finally:
            self.subscribers -= 1


class Channels:
    """At most ``limit`` channels by name; an idle one (no subscribers) makes room for a new one."""

    def __init__(self, limit: int, replay: int) -> None:
        self._limit = limit
        self._replay = replay
        self._channels: OrderedDict[str, Channel] = OrderedDict()

    def get(self, name: str) -> Channel:
        channel = self._channels.get(name)
        if channel is not None:
            self._channels.move_to_end(name)
            return channel
        if len(self._channels) >= self._limit:
            idle = next((n for n, c in self._channels.items() if c.subscribers == 0), None)
            if idle is None:
                raise ChannelsFull(f"all {self._limit} channels have subscribers")
            del self._channels[idle]
        channel = self._channels[name] = Channel(self._replay)
        return channel
