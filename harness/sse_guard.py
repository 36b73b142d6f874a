"""The one place where sse-starlette's output is kept within the rules of SPEC.md.

sse-starlette is the transport of every stream this project serves (flushing, client-disconnect
detection, graceful shutdown on SIGTERM), but left to itself it emits what the rules forbid. Each
quirk below is verified against sse-starlette 3.7 in ``tests/test_reference_sse_guard.py``:

==========================================  ==================================  =================
sse-starlette, raw                          rule it breaks                      the guard
==========================================  ==================================  =================
``ServerSentEvent(retry=True)`` -> True      S-11 (digits only)                  bytes only, made
``ServerSentEvent(retry=-1)`` -> ``-1``      S-11                                by
``ServerSentEvent(id="a\\0b")`` keeps NUL    S-10 (clients ignore the field)     ``harness.stream
``ServerSentEvent(id="a\\nb")`` -> ``ab``    S-10 (silently changes the id)      .encode``, which
                                                                                 refuses all four
``\\r\\n`` separator by default             none, but it is not what we encode  ``sep="\\n"``
``Connection: keep-alive`` always, even     S-22 over HTTP/2                    header removed
over a caller's own ``Connection`` header
a ping comment every 15 s, CRLF, with a     S-16 is ADVICE; the cadence is      interval from
timestamp in it                             ours to choose                      settings, our
                                                                                 encoder, 0 = off
==========================================  ==================================  =================

So a stream handed to :class:`GuardedEventSourceResponse` is an iterable of ``bytes`` that reach
the wire unchanged; sse-starlette never formats a field itself. Faults that must break the rules
(``reference_server.faults``) do so on those bytes, after encoding, never through sse-starlette.

:class:`StreamControl` is the other half of the transport contract: producers wait through it, so
a stream ends cleanly (final chunk, no cut event) when the server shuts down and never outlives
its time bound.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterable, Callable, Mapping
from typing import Literal

import anyio
from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.types import Message

from harness.stream import encode

__all__ = ["KEEPALIVE_COMMENT", "GuardedEventSourceResponse", "StreamControl", "StreamEnded"]

#: The keep-alive block: a comment, encoded by the project's encoder.
KEEPALIVE_COMMENT = encode(comment="keep-alive")


class _Encoded(ServerSentEvent):
    """A ping whose bytes were made by ``harness.stream.encode``, not by sse-starlette."""

    def __init__(self, block: bytes) -> None:
        super().__init__()
        self._block = block

    def encode(self) -> bytes:
        return self._block


def _keepalive() -> ServerSentEvent:
    return _Encoded(KEEPALIVE_COMMENT)


class StreamEnded(Exception):
    """Raised by :meth:`StreamControl.pause` to end a producer early; not an error."""

    def __init__(self, reason: Literal["shutdown", "limit"]) -> None:
        super().__init__(reason)
        self.reason = reason


class StreamControl:
    """Bounded, shutdown-aware waiting for one producing generator.

    ``shutdown`` is handed to sse-starlette, which sets it on SIGTERM; a producer waiting in
    :meth:`pause` then raises :class:`StreamEnded` so its generator returns and the response ends
    with a proper final chunk, instead of being cancelled in the middle of a write.
    """

    def __init__(self, max_duration_s: float, *, shutdown_grace_s: float = 2.0) -> None:
        self.shutdown = anyio.Event()
        self.deadline = time.monotonic() + max_duration_s
        # A plain wait sleeps in slices and looks at ``shutdown`` between them, often enough to
        # end within half the grace period sse-starlette allows (it notices SIGTERM itself by
        # polling every 0.5 s). A timer per slice is cheap; waiting on the event under a timeout
        # costs a cancel scope and a cancellation per wait, which at thousands of streams was
        # most of the server's CPU.
        self.poll_s = min(1.0, max(0.05, shutdown_grace_s / 2))

    async def pause(self, seconds: float, wake: anyio.Event | None = None) -> None:
        """Wait ``seconds`` (or until ``wake`` is set); raise :class:`StreamEnded` at the bounds.

        ``pause(0)`` still yields to the event loop, so a producer with no interval cannot starve
        other streams or the disconnect listener.
        """
        now = time.monotonic()
        if now >= self.deadline:
            raise StreamEnded("limit")
        end = min(now + seconds, self.deadline)
        if seconds <= 0:
            await asyncio.sleep(0)  # anyio's checkpoint costs a sniffio lookup per event
        elif wake is not None:
            with anyio.move_on_after(end - now):
                await _first_of(self.shutdown, wake)
        else:
            while not self.shutdown.is_set() and (left := end - time.monotonic()) > 0:
                await asyncio.sleep(min(left, self.poll_s))
        if self.shutdown.is_set():
            raise StreamEnded("shutdown")
        if time.monotonic() >= self.deadline:
            raise StreamEnded("limit")


async def _first_of(*events: anyio.Event) -> None:
    async with anyio.create_task_group() as group:

        async def wait(event: anyio.Event) -> None:
            await event.wait()
            group.cancel_scope.cancel()

        for event in events:
            group.start_soon(wait, event)


class GuardedEventSourceResponse(EventSourceResponse):
    """``EventSourceResponse`` that sends the given bytes and nothing sse-starlette made up.

    ``keepalive_s`` sets the comment interval (0 turns keep-alive off); ``control.shutdown`` lets
    the producer end cleanly within ``shutdown_grace_s`` of a SIGTERM; ``on_disconnect`` runs as
    soon as the client is seen to go away (before the producer is cancelled).
    """

    #: Class-level too (sse-starlette sets it per instance only), so OpenAPI documents streams.
    media_type = "text/event-stream"

    def __init__(
        self,
        body: AsyncIterable[bytes],
        *,
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        keepalive_s: float = 15.0,
        control: StreamControl | None = None,
        shutdown_grace_s: float = 0.0,
        send_timeout_s: float | None = None,
        on_disconnect: Callable[[], None] | None = None,
    ) -> None:
        async def disconnected(_message: Message) -> None:
            if on_disconnect is not None:
                on_disconnect()

        super().__init__(
            body,
            status_code=status_code,
            headers=headers,
            ping=keepalive_s,
            sep="\n",
            ping_message_factory=_keepalive,
            send_timeout=send_timeout_s,
            client_close_handler_callable=disconnected,
            shutdown_event=control.shutdown if control is not None else None,
            shutdown_grace_period=shutdown_grace_s if control is not None else 0.0,
        )
        # sse-starlette sets this unconditionally; it is forbidden over HTTP/2 (S-22).
        del self.headers["connection"]
