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

and three that cost CPU at thousands of streams (same test module; figures from
``benchmarks/bench_reference_server.py``):

==========================================  ==========================================  =========
sse-starlette, raw                          cost                                        the guard
==========================================  ==========================================  =========
every send under ``anyio.move_on_after``     a cancel scope and a timer per event        one shared
(when ``send_timeout`` is set)              (~11 us)                                    watchdog
ping under an ``anyio.Lock``                 a shielded checkpoint per ping even when    asyncio
                                            nobody holds it (~9 us)                     Lock
pings and producers sleep one timer each    one timer per stream per wait               shared
                                                                                        timer slots
==========================================  ==========================================  =========

So a stream handed to :class:`GuardedEventSourceResponse` is an iterable of ``bytes`` that reach
the wire unchanged; sse-starlette never formats a field itself. Faults that must break the rules
(``reference_server.faults``) do so on those bytes, after encoding, never through sse-starlette.

:class:`StreamControl` is the other half of the transport contract: producers wait through it, so
a stream ends cleanly (final chunk, no cut event) when the server shuts down and never outlives
its time bound.
"""

from __future__ import annotations

import asyncio
import math
import time
import weakref
from collections.abc import AsyncIterable, Callable, Mapping
from typing import Literal, TypeVar

import anyio
from sse_starlette import EventSourceResponse
from sse_starlette.sse import SendTimeoutError
from starlette.types import Message, Send

from harness.stream import encode

__all__ = [
    "KEEPALIVE_COMMENT",
    "GuardedEventSourceResponse",
    "StreamControl",
    "StreamEnded",
    "TimerSlots",
    "timer_slots",
]

#: The keep-alive block: a comment, encoded by the project's encoder.
KEEPALIVE_COMMENT = encode(comment="keep-alive")


class TimerSlots:
    """Waits that end in the same ``resolution_s`` slot share one timer.

    Thousands of streams of one cadence otherwise arm and fire thousands of timers a second;
    sharing a slot's timer wakes each waiter for the price of a future. A wait never ends early
    (its slot is rounded up, and fires a millisecond late: uvloop rounds timers to milliseconds),
    and at most ``resolution_s`` + 1 ms late, far inside the lateness a client can tell apart.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, resolution_s: float = 0.005) -> None:
        self._loop = loop
        self._resolution_s = resolution_s
        self._slots: dict[int, list[asyncio.Future[None]]] = {}

    def wait_until(self, deadline: float) -> asyncio.Future[None]:
        """A future set once ``time.monotonic()`` has reached ``deadline``."""
        slot = math.ceil(deadline / self._resolution_s)
        waiters = self._slots.get(slot)
        if waiters is None:
            waiters = self._slots[slot] = []
            self._loop.call_at(slot * self._resolution_s + 0.001, self._fire, slot)
        future: asyncio.Future[None] = self._loop.create_future()
        waiters.append(future)
        return future

    def _fire(self, slot: int) -> None:
        for future in self._slots.pop(slot):
            if not future.done():  # a cancelled waiter (its stream ended) stays until its slot
                future.set_result(None)


_SLOTS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, TimerSlots] = (
    weakref.WeakKeyDictionary()
)


def timer_slots() -> TimerSlots:
    """The running loop's :class:`TimerSlots` (asyncio's ``loop.time()`` is ``monotonic``)."""
    return _of_running_loop(_SLOTS, TimerSlots)


_Shared = TypeVar("_Shared")


def _of_running_loop(
    registry: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Shared],
    make: Callable[[asyncio.AbstractEventLoop], _Shared],
) -> _Shared:
    """The one ``make(loop)`` of the running loop: shared by its streams, never across loops (a
    forked worker or a test's fresh loop gets its own)."""
    loop = asyncio.get_running_loop()
    found = registry.get(loop)
    if found is None:
        found = registry[loop] = make(loop)
    return found


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
        self._slots: TimerSlots | None = None

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
            slots = self._slots = self._slots or timer_slots()
            while not self.shutdown.is_set() and (left := end - time.monotonic()) > 0:
                await slots.wait_until(
                    end if left <= self.poll_s else time.monotonic() + self.poll_s
                )
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


class _SendWatchdog:
    """Send timeouts for every stream of a loop, checked by one timer a second.

    A send to uvicorn returns at once unless the client stopped reading, so arming a timer per
    send (as sse-starlette does) pays for a case that almost never happens. Here a send only
    notes its deadline; a timeout is noticed up to ``check_s`` after it passed, and ends the
    stream as sse-starlette's would (``SendTimeoutError``).
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, check_s: float = 1.0) -> None:
        self._loop = loop
        self._check_s = check_s
        self._deadlines: dict[asyncio.Task[object], float] = {}
        self._expired: set[asyncio.Task[object]] = set()
        self._armed = False

    async def send(self, send: Send, message: Message, timeout_s: float) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._deadlines[task] = time.monotonic() + timeout_s
        if not self._armed:
            self._armed = True
            self._loop.call_later(self._check_s, self._check)
        try:
            await send(message)
        except asyncio.CancelledError:
            if task not in self._expired:
                raise
            task.uncancel()
            raise SendTimeoutError() from None
        finally:
            self._deadlines.pop(task, None)
            self._expired.discard(task)

    def _check(self) -> None:
        now = time.monotonic()
        for task, deadline in list(self._deadlines.items()):
            if deadline <= now and task not in self._expired:
                self._expired.add(task)
                task.cancel()
        self._armed = bool(self._deadlines)
        if self._armed:
            self._loop.call_later(self._check_s, self._check)


_WATCHDOGS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _SendWatchdog] = (
    weakref.WeakKeyDictionary()
)


def _watchdog() -> _SendWatchdog:
    return _of_running_loop(_WATCHDOGS, _SendWatchdog)


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
            send_timeout=send_timeout_s,
            client_close_handler_callable=disconnected,
            shutdown_event=control.shutdown if control is not None else None,
            shutdown_grace_period=shutdown_grace_s if control is not None else 0.0,
        )
        # sse-starlette sets this unconditionally; it is forbidden over HTTP/2 (S-22).
        del self.headers["connection"]
        # Only the pings and the final chunk take it; anyio's Lock yields even when free.
        self._send_lock = asyncio.Lock()  # type: ignore[assignment]

    async def _send_with_timeout(self, send: Send, message: Message) -> None:
        if self.send_timeout is None:
            await send(message)
        else:
            await _watchdog().send(send, message, self.send_timeout)

    async def _ping(self, send: Send) -> None:
        """sse-starlette's ping loop, on shared timer slots and with our encoder's comment."""
        slots = timer_slots()
        while self.active:
            await slots.wait_until(time.monotonic() + self.ping_interval)
            async with self._send_lock:
                if self.active:
                    message = {"type": "http.response.body", "body": KEEPALIVE_COMMENT}
                    await self._send_with_timeout(send, {**message, "more_body": True})
