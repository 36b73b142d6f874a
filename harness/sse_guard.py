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
a ping comment every 15 s, CRLF, with a     S-16 is ADVICE; the cadence is      after an interval
timestamp in it, even on a stream that      ours to choose                      of silence (from
never falls silent                                                              settings), our
                                                                                 encoder, 0 = off
==========================================  ==================================  =================

and these that cost CPU at thousands of streams (same test module; figures from
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
a ping every interval on a busy stream      a write per stream per interval: at 1       pings after
                                            event/s and 15 s, one write in sixteen      silence only
every chunk passes the send wrapper of      a coroutine call per layer per chunk        chunks to
each middleware (five in the reference                                                  the server's
server)                                                                                 own send
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
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from harness.stream import encode

__all__ = [
    "KEEPALIVE_COMMENT",
    "SERVER_SEND",
    "GuardedEventSourceResponse",
    "ServerSend",
    "StreamControl",
    "StreamEnded",
    "TimerSlots",
    "expose_server_send",
    "timer_slots",
]

#: The keep-alive block: a comment, encoded by the project's encoder.
KEEPALIVE_COMMENT = encode(comment="keep-alive")


class TimerSlots:
    """Waits that end in the same slot share one timer.

    Thousands of streams of one cadence otherwise arm and fire thousands of timers a second;
    sharing a slot's timer wakes each waiter for the price of a future. Coarser slots wake the
    loop less often with more streams per wake-up: at 5,000 streams of 1 event/s, 20 ms slots
    cost a sixth less CPU per event than 5 ms ones. So a wait takes the coarsest slot (5, 10 or
    20 ms) within ``1/LATE_SHARE`` of its length: 5 ms below 0.4 s, 20 ms from 0.8 s.

    A wait never ends early (its slot is rounded up, and fires a millisecond late: uvloop rounds
    timers to milliseconds), and at most one slot + 1 ms late, far inside the lateness a client
    can tell apart.
    """

    #: Slot lengths in milliseconds, coarsest first.
    STEPS_MS = (20, 10, 5)
    #: A wait may end up to this fraction of its length late (1/40: 25 ms on a 1 s wait).
    LATE_SHARE = 40

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._slots: dict[int, list[asyncio.Future[None]]] = {}

    def wait_until(self, deadline: float) -> asyncio.Future[None]:
        """A future set once ``time.monotonic()`` has reached ``deadline``."""
        step = self._step_ms((deadline - time.monotonic()) * 1000)
        slot = math.ceil(deadline * 1000 / step) * step  # in milliseconds
        waiters = self._slots.get(slot)
        if waiters is None:
            waiters = self._slots[slot] = []
            self._loop.call_at(slot / 1000 + 0.001, self._fire, slot)
        future: asyncio.Future[None] = self._loop.create_future()
        waiters.append(future)
        return future

    def _step_ms(self, ahead_ms: float) -> int:
        """The coarsest of ``STEPS_MS`` within ``1/LATE_SHARE`` of the wait, else the finest."""
        for step in self.STEPS_MS:
            if step * self.LATE_SHARE <= ahead_ms:
                return step
        return self.STEPS_MS[-1]

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
        await self.pause_until(time.monotonic() + seconds, wake)

    async def pause_until(self, end: float, wake: anyio.Event | None = None) -> None:
        """:meth:`pause` until ``time.monotonic()`` reaches ``end`` (a schedule's due time).

        Written for the cost of a wait per event at thousands of streams: two clock reads and
        two looks at ``shutdown`` when one timer slice covers the wait.
        """
        now = time.monotonic()
        deadline = self.deadline
        if now >= deadline:
            raise StreamEnded("limit")
        end = min(end, deadline)
        if end <= now:
            await asyncio.sleep(0)  # anyio's checkpoint costs a sniffio lookup per event
            now = time.monotonic()
        elif wake is not None:
            with anyio.move_on_after(end - now):
                await _first_of(self.shutdown, wake)
            now = time.monotonic()
        else:
            slots = self._slots = self._slots or timer_slots()
            shutdown, poll_s = self.shutdown, self.poll_s
            while now < end and not shutdown.is_set():
                await slots.wait_until(end if end - now <= poll_s else now + poll_s)
                now = time.monotonic()
        if self.shutdown.is_set():
            raise StreamEnded("shutdown")
        if now >= deadline:
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
        # Given the loop, so it does not ask for the running one: on Python 3.11 that costs a
        # getpid() system call, per send.
        task = asyncio.current_task(self._loop)
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


#: The scope key under which :func:`expose_server_send` hands streams the server's ``send``.
SERVER_SEND = "sse_harness.server_send"


class ServerSend:
    """The ASGI server's own ``send``, and whether a response start has reached it.

    Every layer between the server and a response (Starlette's error and exception middleware,
    CORS, FastAPI's route) wraps ``send`` in a coroutine of its own that only looks at the
    response start: five calls per body chunk in the reference server, per event at thousands
    of streams. A guarded response sends its body chunks (``more_body``, never the start or the
    last one) straight to the server when the start got there unheld: a wrapper that holds the
    start (compression, ``head_held``) keeps every chunk on its way through the layers.
    """

    __slots__ = ("send", "started")

    def __init__(self, send: Send) -> None:
        self.send = send
        self.started = False

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.started = True
        await self.send(message)


def expose_server_send(app: ASGIApp) -> ASGIApp:
    """``app`` with the server's ``send`` in every HTTP scope (:class:`ServerSend`).

    Only for an app whose layers, once they let a response start through, pass its
    ``more_body`` chunks on unchanged: the guard cannot see inside a layer that rewrites them.
    """

    async def exposed(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            send = scope[SERVER_SEND] = ServerSend(send)
        await app(scope, receive, send)

    return exposed


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
        self._server_send: ServerSend | None = None
        self._chunk_send: Send | None = None  # chosen at the first chunk
        self._watched: tuple[_SendWatchdog, float] | None = None
        self._quiet_since = 0.0  # when the last chunk was sent (or the response began)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self._quiet_since = time.monotonic()
        self._server_send = scope.get(SERVER_SEND)
        if self.send_timeout is not None:
            self._watched = (_watchdog(), self.send_timeout)
        await super().__call__(scope, receive, send)

    async def _send_with_timeout(self, send: Send, message: Message) -> None:
        """sse-starlette's timed send: body chunks to the server's own send when they may
        (:class:`ServerSend`, decided once, at the first), timed by the loop's watchdog."""
        if message.get("more_body"):
            if self._chunk_send is None:
                server = self._server_send
                self._chunk_send = server.send if server is not None and server.started else send
            send = self._chunk_send
        if self._watched is None:
            await send(message)
        else:
            watchdog, timeout_s = self._watched
            await watchdog.send(send, message, timeout_s)
        self._quiet_since = time.monotonic()

    async def _ping(self, send: Send) -> None:
        """sse-starlette's ping loop, sending only after ``ping_interval`` of silence, on shared
        timer slots and with our encoder's comment."""
        slots = timer_slots()
        while self.active:
            due = self._quiet_since + self.ping_interval
            if time.monotonic() < due:
                await slots.wait_until(due)
                continue
            async with self._send_lock:
                if self.active:
                    message = {"type": "http.response.body", "body": KEEPALIVE_COMMENT}
                    await self._send_with_timeout(send, {**message, "more_body": True})
