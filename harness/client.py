"""EventSource semantics over aiohttp: reconnect, ``Last-Event-ID``, ``retry`` and a timing trace.

This is the client the harness measures *with*, so it must be right (SPEC.md C-R*, C-H*) and
cheap enough that its own cost does not show up in load metrics. It is a thin aiohttp driver:
every decision of the processing model (what to send, whether a response is a stream, when to
reconnect and when to fail) is :class:`harness.connection.SourceMachine`'s, and all parsing is
:class:`harness.stream.Parser`'s, the same ones the load reader drives. This module moves bytes,
keeps time (deadline, reconnection wait) and records the trace.

Usage::

    async with EventSource(url, timeout=30) as source:
        async for event in source:
            ...
    source.trace.ttfe, source.trace.connections[0].connect

How a source ends:

* iteration simply stops when the source is closed by the user (C-H1), or when the body ends
  normally and ``reconnect=False``;
* otherwise it raises a subclass of :class:`SSEError`: a bad status or content type fails the
  source and is never retried (C-H3, C-H4, C-H7); a lost connection that may not be resumed
  (``reconnect=False``, or ``max_reconnects`` used up) raises :class:`SSEConnectionError`; the
  overall ``timeout`` raises :class:`SSETimeoutError` (a typed error rather than a quiet end, so a
  truncated measurement can never pass for a complete one); a parser bound raises
  :class:`SSELimitError` after the events that arrived intact before it.

Timestamps in the trace come from :func:`time.monotonic`, the clock asyncio schedules with, so
trace times, deadlines and the reconnection wait are directly comparable. On Linux it is
``CLOCK_MONOTONIC``, shared by every process on the host (server stamps taken with
``time.monotonic()`` in another process compare directly); :attr:`Trace.wall_offset` converts to
wall-clock time for anything else.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
import time
from array import array
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Final

import aiohttp
from yarl import URL

from harness.connection import (
    DEFAULT_MAX_RECONNECTS,
    DEFAULT_RETRY_MS,
    Fail,
    Finished,
    Request,
    SourceMachine,
    SSEConnectionError,
    SSEContentTypeError,
    SSEError,
    SSELimitError,
    SSEReconnectLimitError,
    SSEStatusError,
    SSETimeoutError,
)
from harness.stream import DEFAULT_MAX_EVENT, DEFAULT_MAX_LINE, Event

__all__ = [
    "ConnectionTrace",
    "EventSource",
    "ReconnectTrace",
    "SSEConnectionError",
    "SSEContentTypeError",
    "SSEError",
    "SSELimitError",
    "SSEReconnectLimitError",
    "SSEStatusError",
    "SSETimeoutError",
    "Trace",
]

#: The clock of every timestamp in a :class:`Trace` (and of asyncio's loop).
clock: Final = time.monotonic

DEFAULT_TIMEOUT_S: Final = 60.0
DEFAULT_TRACE_LIMIT: Final = 100_000
# aiohttp's total timer may fire a hair before the deadline (loop clock resolution); treat that as
# the deadline so it is reported as SSETimeoutError rather than as a network error.
_DEADLINE_SLACK_S: Final = 1e-3
# What aiohttp refuses in a header value (RFC 9110 5.5). An id may legally hold these (only NUL is
# excluded, C-P10) and fetch would send them, but aiohttp cannot: that is a typed failure here.
_UNSENDABLE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
# ConnectionTrace.end of a connection that failed, by the error's type.
_FAILED_END: Final[dict[type[SSEError], str]] = {
    SSEStatusError: "status",
    SSEContentTypeError: "content-type",
    SSELimitError: "limit",
}


# -- trace ----------------------------------------------------------------------------------------


@dataclass(slots=True)
class ConnectionTrace:
    """One connection of the source (a request, the redirects it followed, the body of the
    final response): the unit that connect time and TTFE are defined on.

    ``end`` says how the connection ended: ``"eof"`` (body ended normally), ``"network"``,
    ``"closed"`` (by the user), ``"status"``, ``"content-type"``, ``"failed"`` (a futile redirect,
    an unsendable Last-Event-ID), ``"limit"``, ``"timeout"`` or ``"cancelled"``.
    """

    index: int
    started: float
    #: The Last-Event-ID header sent; ``""`` means the header was omitted (C-R4).
    last_event_id: str
    headers_at: float | None = None
    status: int | None = None
    #: Final URL after redirects (the next request still goes to the original URL, C-R5).
    url: str | None = None
    redirects: int = 0
    content_type: str | None = None
    headers: Mapping[str, str] | None = None
    first_chunk_at: float | None = None
    first_event_at: float | None = None
    ended_at: float | None = None
    end: str | None = None
    error: str | None = None
    chunks: int = 0
    nbytes: int = 0
    events: int = 0
    #: Where this connection's entries start in :attr:`Trace.chunk_times` / ``event_times``.
    chunk_index: int = 0
    event_index: int = 0

    @property
    def connect(self) -> float | None:
        """Request start to response headers, in seconds."""
        return None if self.headers_at is None else self.headers_at - self.started

    @property
    def ttfe(self) -> float | None:
        """Request start to the first event this connection dispatched, in seconds."""
        return None if self.first_event_at is None else self.first_event_at - self.started

    @property
    def duration(self) -> float | None:
        return None if self.ended_at is None else self.ended_at - self.started


@dataclass(slots=True, frozen=True)
class ReconnectTrace:
    """A reconnection decision: when the wait began, how long it was, and why it happened."""

    at: float
    delay: float
    after: str


@dataclass(slots=True)
class Trace:
    """Monotonic timestamps of one source, bounded in memory however long the stream runs.

    Per-connection summaries are always complete (their number is bounded by ``max_reconnects``).
    Per-chunk and per-event entries stop after ``limit`` entries each; what was not recorded is
    counted in ``dropped_chunks`` / ``dropped_events``. Events completed by one chunk share one
    timestamp: the instant the parser returned them, i.e. when they were dispatched; the time the
    application then spends on each is its own, not the client's.
    """

    limit: int = DEFAULT_TRACE_LIMIT
    #: Add to a trace timestamp to get a ``time.time()`` value.
    wall_offset: float = field(default_factory=lambda: time.time() - clock())
    opened_at: float | None = None
    closed_at: float | None = None
    connections: list[ConnectionTrace] = field(default_factory=list)
    reconnects: list[ReconnectTrace] = field(default_factory=list)
    chunk_times: array[float] = field(default_factory=lambda: array("d"))
    chunk_sizes: array[int] = field(default_factory=lambda: array("q"))
    event_times: array[float] = field(default_factory=lambda: array("d"))
    dropped_chunks: int = 0
    dropped_events: int = 0

    @property
    def events(self) -> int:
        """Events dispatched over all connections (recorded or not)."""
        return sum(c.events for c in self.connections)

    @property
    def nbytes(self) -> int:
        return sum(c.nbytes for c in self.connections)

    @property
    def connect(self) -> float | None:
        """Connect time of the first connection (DESIGN.md: request start to headers)."""
        return self.connections[0].connect if self.connections else None

    @property
    def ttfe(self) -> float | None:
        """First request start to the first event of the source, over reconnects if need be."""
        first = next(
            (c.first_event_at for c in self.connections if c.first_event_at is not None), None
        )
        return None if first is None else first - self.connections[0].started

    def gaps(self) -> list[float]:
        """Seconds between consecutive recorded events (0.0 for events of the same chunk)."""
        t = self.event_times
        return [t[i] - t[i - 1] for i in range(1, len(t))]

    def _begin(self, last_event_id: str) -> ConnectionTrace:
        conn = ConnectionTrace(
            index=len(self.connections),
            started=clock(),
            last_event_id=last_event_id,
            chunk_index=len(self.chunk_times),
            event_index=len(self.event_times),
        )
        self.connections.append(conn)
        return conn


# -- the source -----------------------------------------------------------------------------------


class EventSource:
    """An EventSource (WHATWG 9.2) as an async iterator of :class:`harness.stream.Event`.

    Bounded by construction: ``timeout`` seconds for the whole source (``None`` opts out),
    ``max_reconnects`` reconnections, ``idle_timeout`` seconds per read (``None``: none; an idle
    timeout counts as a network error, so it reconnects) and the parser's ``max_line`` and
    ``max_event`` bytes. ``default_retry_ms`` is the reconnection time until the server sends
    ``retry:``. ``last_event_id`` seeds the first request (for resume tests); a browser starts
    with ``""``, which sends no header.

    ``body`` (bytes, str, or anything ``json.dumps`` accepts) and ``headers`` are extensions:
    user headers may override ``Accept`` and ``Cache-Control`` but ``Last-Event-ID`` is the
    source's own. Pass ``session`` to share a connection pool (the source then leaves it open).
    ``on_open`` is called with the connection's trace once the headers are accepted and before
    the body is read (C-H5).

    Every decision (status, type, redirects, retry, Last-Event-ID, reconnect bounds) is taken by
    :class:`harness.connection.SourceMachine`; this class moves bytes and keeps time.
    """

    def __init__(
        self,
        url: str | URL,
        *,
        method: str = "GET",
        headers: Mapping[str, str] | None = None,
        body: Any = None,
        reconnect: bool = True,
        max_reconnects: int = DEFAULT_MAX_RECONNECTS,
        timeout: float | None = DEFAULT_TIMEOUT_S,
        idle_timeout: float | None = None,
        default_retry_ms: int = DEFAULT_RETRY_MS,
        last_event_id: str = "",
        max_line: int = DEFAULT_MAX_LINE,
        max_event: int = DEFAULT_MAX_EVENT,
        trace_limit: int = DEFAULT_TRACE_LIMIT,
        session: aiohttp.ClientSession | None = None,
        on_open: Callable[[ConnectionTrace], object] | None = None,
    ) -> None:
        if trace_limit < 0:
            raise ValueError("trace_limit must be >= 0")
        self.url = URL(url)
        given = dict(headers or {})
        if body is not None and not isinstance(body, (bytes, str)):
            body = json.dumps(body)
            if not any(name.lower() == "content-type" for name in given):
                given["Content-Type"] = "application/json"
        self._machine = SourceMachine(
            str(self.url),
            method=method,
            headers=given.items(),
            body=body.encode("utf-8") if isinstance(body, str) else body,
            reconnect=reconnect,
            max_reconnects=max_reconnects,
            default_retry_ms=default_retry_ms,
            last_event_id=last_event_id,
            max_line=max_line,
            max_event=max_event,
        )
        self.timeout = timeout
        self.idle_timeout = idle_timeout
        self.on_open = on_open
        self.trace = Trace(limit=trace_limit)
        self._session = session
        self._own_session = session is None
        self._response: aiohttp.ClientResponse | None = None
        self._iterator: AsyncGenerator[Event, None] | None = None
        self._deadline = math.inf
        self._closed = False
        self._wake = asyncio.Event()

    # -- state a caller may read ---------------------------------------------------------------

    @property
    def last_event_id(self) -> str:
        """The last event ID string (C-D1), live during a connection."""
        return self._machine.last_event_id

    @property
    def retry_ms(self) -> int:
        """The reconnection time that the next reconnect will wait."""
        return self._machine.retry_ms

    @property
    def closed(self) -> bool:
        return self._closed

    # -- lifecycle -----------------------------------------------------------------------------

    async def __aenter__(self) -> EventSource:
        self.trace.opened_at = clock()
        if self.timeout is not None:
            self._deadline = self.trace.opened_at + self.timeout
        if self._session is None:
            # No timeout ceiling: the deadline should be honoured to the millisecond.
            connector = aiohttp.TCPConnector(timeout_ceil_threshold=math.inf)
            self._session = aiohttp.ClientSession(connector=connector)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """C-H1: end the source for good; a read or reconnect wait in progress ends at once."""
        if self._closed:
            return
        self._closed = True
        self._machine.close()
        self._wake.set()
        if self._response is not None:
            self._response.close()  # aborts a pending read in another task
        iterator = self._iterator
        # A generator suspended at a yield is closed now (its finally releases the response);
        # one awaiting a read in another task sees the aborted response and stops by itself.
        if iterator is not None and not getattr(iterator, "ag_running", False):
            await iterator.aclose()
        if self._own_session and self._session is not None:
            await self._session.close()
        self.trace.closed_at = clock()

    def __aiter__(self) -> AsyncIterator[Event]:
        if self._session is None:
            raise RuntimeError("use 'async with EventSource(...) as source' before iterating")
        if self._iterator is None:
            self._iterator = self._events()
        return self._iterator

    # -- the driver ----------------------------------------------------------------------------

    async def _events(self) -> AsyncGenerator[Event, None]:
        machine = self._machine
        trace = self.trace
        limit = trace.limit
        chunk_times = trace.chunk_times
        chunk_sizes = trace.chunk_sizes
        event_times = trace.event_times
        while not self._closed:
            request = machine.connect()
            conn = trace._begin(machine.last_event_id)
            error: BaseException | None = None
            conn.end = "cancelled"  # overwritten unless the task is cancelled
            try:
                response = await self._open(conn, request)
                if response is None:  # closed while the request was out
                    return
                read = response.content.readany
                feed = machine.feed
                over: SSELimitError | None = None
                while True:
                    chunk = await read()
                    if not chunk:
                        break
                    now = clock()
                    size = len(chunk)
                    conn.chunks += 1
                    conn.nbytes += size
                    if conn.first_chunk_at is None:
                        conn.first_chunk_at = now
                    if len(chunk_times) < limit:
                        chunk_times.append(now)
                        chunk_sizes.append(size)
                    else:
                        trace.dropped_chunks += 1
                    try:
                        events = feed(chunk)
                    except SSELimitError as exc:  # what arrived intact is still delivered
                        events, over = exc.events, exc
                    if events:
                        now = clock()
                        n = len(events)
                        conn.events += n
                        if conn.first_event_at is None:
                            conn.first_event_at = now
                        # One stamp per event, as a memcpy: from a list, 40 ns per event.
                        stamps = min(n, limit - len(event_times))
                        event_times.extend(array("d", (now,)) * stamps)
                        trace.dropped_events += n - stamps
                        for event in events:
                            yield event
                    if over is not None:
                        raise over
                conn.end = "eof"
            except SSEError as exc:  # the machine has failed the source
                conn.end, conn.error = _FAILED_END.get(type(exc), "failed"), str(exc)
                raise
            except (aiohttp.ClientError, OSError, TimeoutError) as exc:
                conn.end, conn.error, error = "network", repr(exc), exc
            finally:
                conn.ended_at = clock()
                if self._closed:
                    conn.end = "closed"
                self._release()
            if self._closed:
                return
            remaining = self._deadline - clock() - _DEADLINE_SLACK_S
            decision = (
                machine.eof(remaining) if error is None else machine.network_error(error, remaining)
            )
            if isinstance(decision, Finished):
                return
            if isinstance(decision, Fail):
                if error is not None and remaining <= 0:
                    conn.end = "timeout"  # the deadline is what cut this connection
                raise decision.reason
            trace.reconnects.append(ReconnectTrace(clock(), decision.delay_s, conn.end))
            await self._wait(decision.delay_s)

    async def _open(self, conn: ConnectionTrace, request: Request) -> aiohttp.ClientResponse | None:
        """Send ``request`` and the redirects the machine follows; None if closed meanwhile."""
        assert self._session is not None
        machine = self._machine
        if _UNSENDABLE.search(machine.last_event_id):
            raise machine.fail(
                SSEConnectionError(
                    f"cannot resume: Last-Event-ID {machine.last_event_id!r} holds a control"
                    " character that aiohttp refuses to send"
                )
            ).reason
        while True:
            remaining = self._deadline - clock()
            if remaining <= 0:
                raise TimeoutError("source deadline reached before connecting")
            timeout = aiohttp.ClientTimeout(
                total=None if math.isinf(remaining) else remaining, sock_read=self.idle_timeout
            )
            try:
                response = await self._session.request(
                    request.method,
                    request.url,
                    headers=request.headers,
                    data=request.body,
                    timeout=timeout,
                    allow_redirects=False,
                )
            except aiohttp.InvalidURL as exc:  # e.g. a redirect target aiohttp cannot parse
                raise machine.fail(SSEConnectionError(f"invalid URL: {exc}"), exc).reason from exc
            self._response = response
            if self._closed:
                return None
            headers = response.headers
            decision = machine.response(
                response.status,
                headers.get("Content-Type"),
                location=headers.get("Location"),
                reason=response.reason,
            )
            if not isinstance(decision, Request):
                break
            response.release()
            request = decision
        conn.headers_at = clock()
        conn.status = response.status
        conn.url = str(response.url)
        conn.redirects = request.redirects
        conn.headers = headers
        conn.content_type = headers.get("Content-Type")
        if isinstance(decision, Fail):
            raise decision.reason
        if self.on_open is not None:  # C-H5: announced before the body is read
            self.on_open(conn)
        return response

    def _release(self) -> None:
        response, self._response = self._response, None
        if response is not None:
            if response.content.at_eof():
                response.release()  # clean end: the connection may be reused for the reconnect
            else:
                response.close()

    async def _wait(self, delay: float) -> None:
        """C-H8: the reconnection time, cut short by close()."""
        try:
            async with asyncio.timeout(delay):
                await self._wake.wait()
        except TimeoutError:
            pass
