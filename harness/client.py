"""EventSource semantics over aiohttp: reconnect, ``Last-Event-ID``, ``retry`` and a timing trace.

This is the client the harness measures *with*, so it must be right (SPEC.md C-R*, C-H*) and
cheap enough that its own cost does not show up in load metrics. All parsing is delegated to
:class:`harness.stream.Parser` (one parser for the whole project); this module only moves bytes
from the socket into it and decides, per the processing model, when to reconnect and when to fail.

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
from multidict import CIMultiDict
from yarl import URL

from harness.stream import (
    DEFAULT_MAX_EVENT,
    DEFAULT_MAX_LINE,
    EVENT_STREAM,
    Event,
    Parser,
    StreamLimitError,
    media_type,
)

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

DEFAULT_RETRY_MS: Final = 3000  # C-H9: "a few seconds"
DEFAULT_TIMEOUT_S: Final = 60.0
DEFAULT_MAX_RECONNECTS: Final = 10
DEFAULT_TRACE_LIMIT: Final = 100_000
# aiohttp's total timer may fire a hair before the deadline (loop clock resolution); treat that as
# the deadline so it is reported as SSETimeoutError rather than as a network error.
_DEADLINE_SLACK_S: Final = 1e-3
# What aiohttp refuses in a header value (RFC 9110 5.5). An id may legally hold these (only NUL is
# excluded, C-P10) and fetch would send them, but aiohttp cannot: that is a typed failure here.
_UNSENDABLE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


# -- errors ---------------------------------------------------------------------------------------


class SSEError(Exception):
    """Base of every way a source can fail; catch this to treat them alike."""


class SSEStatusError(SSEError):
    """The response status was not 200 (C-H3): the source fails and never reconnects."""

    def __init__(self, status: int, reason: str | None = None, url: str | None = None) -> None:
        super().__init__(f"HTTP status {status} {reason or ''}".rstrip() + f" from {url}")
        self.status = status
        self.reason = reason
        self.url = url


class SSEContentTypeError(SSEError):
    """The Content-Type essence was not ``text/event-stream`` (C-H4); ``None`` when missing."""

    def __init__(self, content_type: str | None, url: str | None = None) -> None:
        super().__init__(f"Content-Type {content_type!r} is not {EVENT_STREAM} (from {url})")
        self.content_type = content_type
        self.url = url


class SSEConnectionError(SSEError):
    """The connection was lost and may not be resumed; ``__cause__`` holds the network error."""


class SSEReconnectLimitError(SSEConnectionError):
    """The stream ended or broke again after ``max_reconnects`` reconnections."""

    def __init__(self, reconnects: int) -> None:
        super().__init__(f"stream lost after {reconnects} reconnects (max_reconnects reached)")
        self.reconnects = reconnects


class SSETimeoutError(SSEError, TimeoutError):
    """The source's overall ``timeout`` expired (or would expire before the next reconnect)."""


class SSELimitError(SSEError):
    """A parser bound (``max_line``/``max_event``) was exceeded; the stream cannot be trusted."""

    def __init__(self, limit: str, offset: int) -> None:
        super().__init__(f"{limit} exceeded at stream offset {offset}")
        self.limit = limit
        self.offset = offset


# -- trace ----------------------------------------------------------------------------------------


@dataclass(slots=True)
class ConnectionTrace:
    """One HTTP request of the source: the unit that connect time and TTFE are defined on.

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
        self.url = URL(url)
        if self.url.scheme not in ("http", "https"):
            raise ValueError(f"not an http(s) URL: {url}")
        if max_reconnects < 0 or default_retry_ms < 0 or trace_limit < 0:
            raise ValueError("max_reconnects, default_retry_ms and trace_limit must be >= 0")
        self.method = method.upper()
        self.reconnect = reconnect
        self.max_reconnects = max_reconnects
        self.timeout = timeout
        self.idle_timeout = idle_timeout
        self.max_line = max_line
        self.max_event = max_event
        self.on_open = on_open
        self.trace = Trace(limit=trace_limit)
        self._headers: CIMultiDict[str] = CIMultiDict(
            {"Accept": EVENT_STREAM, "Cache-Control": "no-cache"}  # C-R2, C-R3
        )
        if headers:
            for name, value in headers.items():
                self._headers[name] = value
        self._headers.popall("Last-Event-ID", None)
        self._body = self._encode_body(body)
        self._last_event_id = last_event_id
        self._retry_ms = default_retry_ms
        self._session = session
        self._own_session = session is None
        self._parser: Parser | None = None
        self._response: aiohttp.ClientResponse | None = None
        self._iterator: AsyncGenerator[Event, None] | None = None
        self._deadline = math.inf
        self._closed = False
        self._wake = asyncio.Event()

    def _encode_body(self, body: Any) -> bytes | None:
        if body is None or isinstance(body, bytes):
            return body
        if isinstance(body, str):
            return body.encode("utf-8")
        if "Content-Type" not in self._headers:
            self._headers["Content-Type"] = "application/json"
        return json.dumps(body).encode("utf-8")

    # -- state a caller may read ---------------------------------------------------------------

    @property
    def last_event_id(self) -> str:
        """The last event ID string (C-D1), live during a connection."""
        return self._parser.last_event_id if self._parser else self._last_event_id

    @property
    def retry_ms(self) -> int:
        """The reconnection time that the next reconnect will wait."""
        parser = self._parser
        return parser.retry if parser and parser.retry is not None else self._retry_ms

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

    # -- the processing model ------------------------------------------------------------------

    async def _events(self) -> AsyncGenerator[Event, None]:
        trace = self.trace
        limit = trace.limit
        chunk_times = trace.chunk_times
        chunk_sizes = trace.chunk_sizes
        event_times = trace.event_times
        reconnects = 0
        while not self._closed:
            parser = self._parser = Parser(
                max_line=self.max_line, max_event=self.max_event, last_event_id=self._last_event_id
            )
            conn = trace._begin(self._last_event_id)
            error: BaseException | None = None
            conn.end = "cancelled"  # overwritten unless the task is cancelled
            try:
                response = await self._open(conn)
                read = response.content.readany
                feed = parser.feed
                over: StreamLimitError | None = None
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
                    except StreamLimitError as exc:  # what arrived intact is still delivered
                        events, over = exc.events, exc
                    if events:
                        now = clock()
                        n = len(events)
                        conn.events += n
                        if conn.first_event_at is None:
                            conn.first_event_at = now
                        room = limit - len(event_times)
                        if n <= room:
                            event_times.extend([now] * n)
                        else:
                            event_times.extend([now] * room)
                            trace.dropped_events += n - room
                        for event in events:
                            yield event
                    if over is not None:
                        raise over
                conn.end = "eof"
            except SSEError as exc:
                conn.end = (
                    "status"
                    if isinstance(exc, SSEStatusError)
                    else "content-type"
                    if isinstance(exc, SSEContentTypeError)
                    else "failed"
                )
                conn.error = str(exc)
                raise
            except StreamLimitError as exc:
                conn.end, conn.error = "limit", str(exc)
                raise SSELimitError(exc.limit, exc.offset) from exc
            except (aiohttp.ClientError, OSError, TimeoutError) as exc:
                conn.end, conn.error, error = "network", repr(exc), exc
            finally:
                conn.ended_at = clock()
                if self._closed:
                    conn.end = "closed"
                self._finish_connection(parser)

            # The connection is over and did not fail: decide whether and when to reconnect.
            if self._closed or (error is None and not self.reconnect):
                return
            if clock() >= self._deadline - _DEADLINE_SLACK_S:
                if error is not None:
                    conn.end = "timeout"  # the deadline is what cut this connection
                raise SSETimeoutError(f"source timeout of {self.timeout} s expired") from error
            if not self.reconnect:
                raise SSEConnectionError(f"connection lost: {error!r}") from error
            if reconnects >= self.max_reconnects:
                raise SSEReconnectLimitError(reconnects) from error
            delay = self._retry_ms / 1000
            if clock() + delay >= self._deadline:
                raise SSETimeoutError(
                    f"source timeout of {self.timeout} s expires before the reconnection"
                    f" time of {self._retry_ms} ms"
                ) from error
            trace.reconnects.append(ReconnectTrace(clock(), delay, conn.end))
            await self._wait(delay)
            reconnects += 1

    def _finish_connection(self, parser: Parser) -> None:
        """Carry the last event ID and reconnection time over to the next connection."""
        parser.close()  # C-P7: an unterminated event is dropped and its id not committed
        self._last_event_id = parser.last_event_id
        if parser.retry is not None:
            self._retry_ms = parser.retry
        self._parser = None
        response, self._response = self._response, None
        if response is not None:
            if response.content.at_eof():
                response.release()  # clean end: the connection may be reused for the reconnect
            else:
                response.close()

    async def _open(self, conn: ConnectionTrace) -> aiohttp.ClientResponse:
        """Send the request (always to the original URL, C-R5) and vet the response headers."""
        assert self._session is not None
        headers = self._headers.copy()
        if self._last_event_id:  # C-R4: only when non-empty
            if _UNSENDABLE.search(self._last_event_id):
                raise SSEConnectionError(
                    f"cannot resume: Last-Event-ID {self._last_event_id!r} holds a control"
                    " character that aiohttp refuses to send"
                )
            headers["Last-Event-ID"] = self._last_event_id
        remaining = self._deadline - clock()
        if remaining <= 0:
            raise TimeoutError("source deadline reached before connecting")
        timeout = aiohttp.ClientTimeout(
            total=None if math.isinf(remaining) else remaining, sock_read=self.idle_timeout
        )
        try:
            response = await self._session.request(
                self.method, self.url, headers=headers, data=self._body, timeout=timeout
            )
        except aiohttp.TooManyRedirects as exc:  # a redirect loop: reconnecting is futile
            raise SSEStatusError(exc.status, "too many redirects", str(self.url)) from exc
        except aiohttp.InvalidURL as exc:  # e.g. a redirect to a non-HTTP URL: futile too
            raise SSEConnectionError(f"invalid redirect target: {exc}") from exc
        self._response = response
        conn.headers_at = clock()
        conn.status = response.status
        conn.url = str(response.url)
        conn.redirects = len(response.history)
        conn.headers = response.headers
        conn.content_type = content_type = response.headers.get("Content-Type")
        if response.status != 200:  # C-H3
            raise SSEStatusError(response.status, response.reason, conn.url)
        if media_type(content_type) != EVENT_STREAM:  # C-H4
            raise SSEContentTypeError(content_type, conn.url)
        if self.on_open is not None:  # C-H5: announced before the body is read
            self.on_open(conn)
        return response

    async def _wait(self, delay: float) -> None:
        """C-H8: the reconnection time, cut short by close()."""
        try:
            async with asyncio.timeout(delay):
                await self._wake.wait()
        except TimeoutError:
            pass
