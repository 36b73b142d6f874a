"""The event stores behind ``/mcp``'s resumability: what the SDK's transport stores, and replays.

The SDK's ``StreamableHTTPServerTransport`` hands every message it sends on a stream to an
``EventStore`` (``store_event(stream_id, message)``, ``None`` for a priming event) and uses the
returned id as the SSE ``id:``; on a GET with ``Last-Event-ID`` it asks the store to replay what
followed that id (``replay_events_after``). A stream id is the JSON-RPC id of the request the
stream answers, or ``_GET_stream`` for the standalone GET stream: ids a client chooses, so two
sessions have the same ones. A store that serves several sessions therefore mixes them up; the
clean ``/mcp`` gives each session a store of its own (``server.SessionStoreManager``).

:class:`MemoryEventStore` is the clean store. The three subclasses each override one hook to
break one rule; the fourth store fault (``replay_across_sessions``) is the clean store shared by
every session, the SDK's own wiring, and needs no class.
"""

from __future__ import annotations

import itertools
import secrets
from collections import deque
from dataclasses import dataclass

from mcp.server.streamable_http import EventCallback, EventId, EventMessage, EventStore, StreamId
from mcp.types import JSONRPCMessage

__all__ = ["MemoryEventStore", "PerStreamIds", "ReplaysAllStreams", "SkipsFirstReplayed"]

#: Events a store keeps (the oldest go first): a session's recent history, bounded.
KEPT = 1000


@dataclass(frozen=True, slots=True)
class _Event:
    #: 1, 2, 3 ... in the order the store got them (consecutive in ``_events``).
    seq: int
    event_id: EventId
    stream_id: StreamId
    message: JSONRPCMessage | None


class MemoryEventStore(EventStore):
    """One session's events, in the order they were stored.

    Ids are ``<tag>-<n>``: ``n`` counts every event of the store, so ids are unique across all
    its streams (M-06), and ``tag`` is random per store, so an id from another session's store
    is unknown here and replays nothing (M-10). A replay sends the events after the given id on
    that id's stream only, priming events left out (they carry no message).
    """

    def __init__(self, kept: int = KEPT) -> None:
        self._tag = secrets.token_hex(4)
        self._count = itertools.count(1)
        self._events: deque[_Event] = deque(maxlen=kept)

    def _next_id(self, stream_id: StreamId, seq: int) -> EventId:
        return f"{self._tag}-{seq}"

    def _replays(self, event: _Event, stream_id: StreamId) -> bool:
        """Whether ``event`` belongs to the resume of ``stream_id``."""
        return event.stream_id == stream_id

    async def store_event(self, stream_id: StreamId, message: JSONRPCMessage | None) -> EventId:
        seq = next(self._count)
        event_id = self._next_id(stream_id, seq)
        self._events.append(_Event(seq, event_id, stream_id, message))
        return event_id

    async def replay_events_after(
        self, last_event_id: EventId, send_callback: EventCallback
    ) -> StreamId | None:
        # The newest event of that id: with per-stream numbering (PerStreamIds) ids repeat.
        last = next((e for e in reversed(self._events) if e.event_id == last_event_id), None)
        if last is None:
            return None
        seq = last.seq
        while (event := self._after(seq)) is not None:
            seq = event.seq
            if event.message is not None and self._replays(event, last.stream_id):
                await send_callback(EventMessage(event.message, event.event_id))
        return last.stream_id

    def _after(self, seq: int) -> _Event | None:
        """The event stored next after number ``seq``, looked up anew at each step: while a
        replay waits on its client, the call it resumes goes on storing, and the SDK sends
        live only what is stored once the replay is over."""
        if not self._events:
            return None
        at = max(seq + 1 - self._events[0].seq, 0)
        return self._events[at] if at < len(self._events) else None


class PerStreamIds(MemoryEventStore):
    """``ids_per_stream``: ids count 1, 2, 3 ... afresh on each stream, so the streams of one
    session share ids (breaks M-06)."""

    def __init__(self, kept: int = KEPT) -> None:
        super().__init__(kept)
        self._per_stream: dict[StreamId, itertools.count[int]] = {}

    def _next_id(self, stream_id: StreamId, seq: int) -> EventId:
        return str(next(self._per_stream.setdefault(stream_id, itertools.count(1))))


class ReplaysAllStreams(MemoryEventStore):
    """``replay_all_streams``: a resume replays what every stream of the session sent after the
    id, not only the dropped stream's (breaks M-10)."""

    def _replays(self, event: _Event, stream_id: StreamId) -> bool:
        return True


class SkipsFirstReplayed(MemoryEventStore):
    """``resume_skips_one``: a resume leaves out the first message after the id it resumes
    from, and replays the rest (breaks M-09)."""

    async def replay_events_after(
        self, last_event_id: EventId, send_callback: EventCallback
    ) -> StreamId | None:
        skipped = False

        async def send_after_the_first(event: EventMessage) -> None:
            nonlocal skipped
            if skipped:
                await send_callback(event)
            skipped = True

        return await super().replay_events_after(last_event_id, send_after_the_first)
