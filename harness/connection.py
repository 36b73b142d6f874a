"""Sans-I/O EventSource connection machine: I/O results in, decisions out (SPEC.md C-R*, C-H*).

The asyncio client and the gevent load reader must agree on when a source opens, reconnects and
fails, and a property test can only check that agreement exhaustively if no socket and no clock
is involved. So, like h11, this machine never does I/O and never reads a clock: a driver sends
the :class:`Request` it is handed, reports what happened (:meth:`SourceMachine.response`,
:meth:`~SourceMachine.feed`, :meth:`~SourceMachine.eof`, :meth:`~SourceMachine.network_error`,
:meth:`~SourceMachine.close`) and acts on the decision it gets back. Time enters only as the
``remaining_s`` a driver passes from its own deadline; the reconnection wait is the driver's, for
the :attr:`Reconnect.delay_s` it was told.

Words, each with one meaning here:

* a *source* is the logical EventSource, over all its connections;
* a *connection* is one request and its response: the first request (always to the source's URL,
  C-R5), the redirects followed within it, and the body of the final response;
* *eof*: the server ended a body normally (C-H6);
* *closed*: the **user** closed the source (C-H1); never the server, never a failure;
* *failed*: the source failed (C-H3, C-H4, a futile redirect, a bound): it never reconnects (C-H7);
* *finished*: the body ended while reconnecting is switched off (``reconnect=False``): a clean end.

The server ending a body is ``eof`` everywhere (here, in the load reader's stream ends and in the
server probe's captures); ``closed`` is only ever the user's doing.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Final, Literal
from urllib.parse import urljoin, urlsplit

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
    "DEFAULT_MAX_RECONNECTS",
    "DEFAULT_MAX_REDIRECTS",
    "DEFAULT_RETRY_MS",
    "Fail",
    "Finished",
    "Open",
    "Reconnect",
    "Request",
    "SSEConnectionError",
    "SSEContentTypeError",
    "SSEError",
    "SSELimitError",
    "SSEReconnectLimitError",
    "SSEStatusError",
    "SSETimeoutError",
    "SourceMachine",
    "State",
]

DEFAULT_RETRY_MS: Final = 3000  # C-H9: "a few seconds"
DEFAULT_MAX_RECONNECTS: Final = 10
DEFAULT_MAX_REDIRECTS: Final = 10  # aiohttp's default; fetch allows 20
REDIRECTS: Final = frozenset((301, 302, 303, 307, 308))
# fetch "HTTP-redirect fetch": a redirect that turns the request into a GET drops these with the
# body, and one that changes origin drops the credentials.
_BODY_HEADERS: Final = frozenset(
    ("content-encoding", "content-language", "content-location", "content-type")
)
_CREDENTIAL_HEADERS: Final = frozenset(("authorization",))
_DEFAULT_PORTS: Final = {"http": 80, "https": 443}


# -- errors: the one set for the whole project ----------------------------------------------------


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
    """The driver's deadline expired (or would expire before the next reconnect)."""


class SSELimitError(SSEError):
    """A parser bound (``max_line``/``max_event``) was exceeded; the stream cannot be trusted.

    ``events`` are those the same chunk completed before the breach: what arrived intact is
    still delivered, before the error.
    """

    def __init__(self, limit: str, offset: int, events: list[Event] | None = None) -> None:
        super().__init__(f"{limit} exceeded at stream offset {offset}")
        self.limit = limit
        self.offset = offset
        self.events: list[Event] = events if events is not None else []


# -- decisions ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Request:
    """Send this request; report its response head to :meth:`SourceMachine.response`."""

    method: str
    url: str
    #: Complete header list, ``Last-Event-ID`` included when it is to be sent (C-R4).
    headers: tuple[tuple[str, str], ...]
    body: bytes | None
    #: 0 for a connection's first request (to the source's URL, C-R5); n for the n-th redirect.
    redirects: int = 0


@dataclass(frozen=True, slots=True)
class Open:
    """C-H5: the response is an event stream; announce it, then feed its body."""

    #: The URL that answered, after redirects.
    url: str


@dataclass(frozen=True, slots=True)
class Reconnect:
    """C-H6, C-H2: wait ``delay_s`` (the reconnection time, C-H8), then :meth:`connect` again."""

    delay_s: float
    #: What the next request will send as ``Last-Event-ID`` ("" for none).
    last_event_id: str


@dataclass(frozen=True, slots=True)
class Fail:
    """The source failed for good (C-H7): raise or record ``reason``; never connect again."""

    reason: SSEError


@dataclass(frozen=True, slots=True)
class Finished:
    """The body ended and the source does not reconnect (``reconnect=False``): a clean end."""


#: idle: nothing sent yet; connecting: a request is out, its head awaited; open: the body is
#: being fed; waiting: a Reconnect was decided; failed, closed (by the user), finished: final.
State = Literal["idle", "connecting", "open", "waiting", "failed", "closed", "finished"]
_FINAL: Final = frozenset(("failed", "closed", "finished"))
_FINISHED: Final = Finished()


def _not_open(data: bytes) -> list[Event]:
    raise RuntimeError("feed() is only valid while a response body is open")


class SourceMachine:
    """The EventSource processing model (WHATWG 9.2.2, 9.2.3) of one source, without I/O.

    A driver loops: :meth:`connect` gives a :class:`Request`; its response head goes to
    :meth:`response`, which answers another :class:`Request` (a redirect to follow), :class:`Open`
    or :class:`Fail`; after Open every body chunk goes to :meth:`feed`, and the end of the body to
    :meth:`eof` or :meth:`network_error` (which also covers a request that got no response).
    Those answer :class:`Reconnect`, :class:`Fail` or :class:`Finished`. After Reconnect, the
    driver waits and calls :meth:`connect` again. :meth:`close` is the user's, at any time.

    ``headers`` may override ``Accept`` and ``Cache-Control`` (C-R2, C-R3); ``Last-Event-ID`` is
    the machine's own. ``schemes`` are those the driver can fetch: the source URL must use one and
    a redirect elsewhere is futile. Reporting in the wrong state raises ``RuntimeError``: that is
    a driver bug, never a server's doing.
    """

    def __init__(
        self,
        url: str,
        *,
        method: str = "GET",
        headers: Iterable[tuple[str, str]] = (),
        body: bytes | None = None,
        reconnect: bool = True,
        max_reconnects: int = DEFAULT_MAX_RECONNECTS,
        default_retry_ms: int = DEFAULT_RETRY_MS,
        last_event_id: str = "",
        max_redirects: int = DEFAULT_MAX_REDIRECTS,
        max_line: int = DEFAULT_MAX_LINE,
        max_event: int = DEFAULT_MAX_EVENT,
        schemes: tuple[str, ...] = ("http", "https"),
    ) -> None:
        if not _fetchable(url, schemes):
            raise ValueError(f"not a {'/'.join(schemes)} URL: {url}")
        if max_reconnects < 0 or default_retry_ms < 0 or max_redirects < 0:
            raise ValueError("max_reconnects, default_retry_ms and max_redirects must be >= 0")
        self.url = url
        self.method = method.upper()
        self.body = body
        self.reconnect = reconnect
        self.max_reconnects = max_reconnects
        self.max_redirects = max_redirects
        self.max_line = max_line
        self.max_event = max_event
        self.schemes = schemes
        given = list(headers)
        names = {name.lower() for name, _ in given}
        defaults = (("Accept", EVENT_STREAM), ("Cache-Control", "no-cache"))  # C-R2, C-R3
        self.headers: tuple[tuple[str, str], ...] = (
            *((name, value) for name, value in defaults if name.lower() not in names),
            *((name, value) for name, value in given if name.lower() != "last-event-id"),
        )
        self._state: State = "idle"
        self._reconnects = 0
        self._retry_ms = default_retry_ms
        self._last_event_id = last_event_id
        self._request: Request | None = None
        self._parser: Parser | None = None
        self._feed: Callable[[bytes], list[Event]] = _not_open

    # -- what a driver may read ----------------------------------------------------------------

    @property
    def state(self) -> State:
        return self._state

    @property
    def reconnects(self) -> int:
        """Connections begun after the first one; never more than ``max_reconnects``."""
        return self._reconnects

    @property
    def last_event_id(self) -> str:
        """The last event ID string (C-D1), live while a body is fed."""
        return self._parser.last_event_id if self._parser else self._last_event_id

    @property
    def retry_ms(self) -> int:
        """The reconnection time the next reconnect will wait, live while a body is fed."""
        parser = self._parser
        return parser.retry if parser and parser.retry is not None else self._retry_ms

    @property
    def buffered(self) -> int:
        """Bytes of an unfinished line or event held now: what C-P7 drops if the body ends."""
        return self._parser.buffered if self._parser else 0

    # -- reports from the driver ---------------------------------------------------------------

    def connect(self) -> Request:
        """The first request of a connection: the source's URL, method and body (C-R1, C-R5)."""
        if self._state == "waiting":
            self._reconnects += 1
        elif self._state != "idle":
            raise RuntimeError(f"connect() in state {self._state!r}")
        headers = self.headers
        if self._last_event_id:  # C-R4: only when non-empty
            headers = (*headers, ("Last-Event-ID", self._last_event_id))
        return self._send(Request(self.method, self.url, headers, self.body))

    def response(
        self,
        status: int,
        content_type: str | None,
        *,
        location: str | None = None,
        reason: str | None = None,
    ) -> Request | Open | Fail:
        """The last request's response head: follow (C-R5), open (C-H5), fail (C-H3, C-H4)."""
        request = self._expect_request()
        if status in REDIRECTS and location is not None:
            return self._redirect(request, status, location)
        if status != 200:
            return self.fail(SSEStatusError(status, reason, request.url))
        if media_type(content_type) != EVENT_STREAM:
            return self.fail(SSEContentTypeError(content_type, request.url))
        self._state = "open"
        self._parser = parser = Parser(
            max_line=self.max_line, max_event=self.max_event, last_event_id=self._last_event_id
        )
        self._feed = parser.feed
        return Open(request.url)

    def feed(self, data: bytes) -> list[Event]:
        """Body bytes, any chunking; the events they complete. Raises :class:`SSELimitError`.

        The hot path: no state check beyond the parser's own, so it costs one call per chunk.
        """
        try:
            return self._feed(data)
        except StreamLimitError as exc:
            self._end_connection()
            self._state = "failed"
            raise SSELimitError(exc.limit, exc.offset, exc.events) from exc

    def eof(self, remaining_s: float = math.inf) -> Reconnect | Fail | Finished:
        """The body ended normally (C-H6); ``remaining_s`` is the time left to the deadline."""
        if self._state != "open":
            raise RuntimeError(f"eof() in state {self._state!r}")
        self._end_connection()
        if not self.reconnect:
            self._state = "finished"
            return _FINISHED
        return self._after(None, remaining_s)

    def network_error(
        self, error: BaseException, remaining_s: float = math.inf
    ) -> Reconnect | Fail:
        """The request or the body broke off (C-H2): reconnect unless futile or not allowed."""
        if self._state not in ("connecting", "open"):
            raise RuntimeError(f"network_error() in state {self._state!r}")
        self._end_connection()
        if not self.reconnect and remaining_s > 0:
            return self.fail(SSEConnectionError(f"connection lost: {error!r}"), error)
        return self._after(error, remaining_s)

    def fail(self, reason: SSEError, cause: BaseException | None = None) -> Fail:
        """Fail the source (C-H7), e.g. for a reason only the driver can see (a header it cannot
        send). ``cause`` becomes the reason's ``__cause__``."""
        if self._state in _FINAL:
            raise RuntimeError(f"fail() in state {self._state!r}")
        self._end_connection()
        self._state = "failed"
        if cause is not None:
            reason.__cause__ = cause
        return Fail(reason)

    def close(self) -> None:
        """C-H1: the user ends the source; no request follows. A final state is left as it is."""
        if self._state not in _FINAL:
            self._end_connection()
            self._state = "closed"

    # -- internals -----------------------------------------------------------------------------

    def _send(self, request: Request) -> Request:
        self._state = "connecting"
        self._request = request
        return request

    def _expect_request(self) -> Request:
        if self._state != "connecting" or self._request is None:
            raise RuntimeError(f"response() in state {self._state!r}")
        return self._request

    def _redirect(self, request: Request, status: int, location: str) -> Request | Fail:
        """Follow a redirect the way fetch does; a loop or a scheme the driver lacks is futile."""
        if request.redirects >= self.max_redirects:
            return self.fail(SSEStatusError(status, "too many redirects", request.url))
        url = urljoin(request.url, location)
        if not _fetchable(url, self.schemes):
            return self.fail(SSEConnectionError(f"futile redirect from {request.url} to {url}"))
        method, body, headers = request.method, request.body, request.headers
        if (status == 303 and method != "HEAD") or (status in (301, 302) and method == "POST"):
            method, body = "GET", None
            headers = _without(headers, _BODY_HEADERS)
        if _origin(url) != _origin(request.url):
            headers = _without(headers, _CREDENTIAL_HEADERS)
        return self._send(Request(method, url, headers, body, request.redirects + 1))

    def _after(self, error: BaseException | None, remaining_s: float) -> Reconnect | Fail:
        """A connection is over: reconnect after the reconnection time, unless a bound forbids."""
        if remaining_s <= 0:
            return self.fail(SSETimeoutError("the source's deadline has passed"), error)
        if self._reconnects >= self.max_reconnects:
            return self.fail(SSEReconnectLimitError(self._reconnects), error)
        delay_s = self._retry_ms / 1000
        if delay_s >= remaining_s:
            return self.fail(
                SSETimeoutError(
                    f"the source's deadline comes before the reconnection time of"
                    f" {self._retry_ms} ms"
                ),
                error,
            )
        self._state = "waiting"
        return Reconnect(delay_s, self._last_event_id)

    def _end_connection(self) -> None:
        """Carry the last event ID and reconnection time over to the next connection."""
        parser = self._parser
        if parser is not None:
            parser.close()  # C-P7: an unterminated event is dropped and its id not committed
            self._last_event_id = parser.last_event_id
            if parser.retry is not None:
                self._retry_ms = parser.retry
            self._parser = None
        self._feed = _not_open
        self._request = None


def _fetchable(url: str, schemes: tuple[str, ...]) -> bool:
    parts = urlsplit(url)
    return parts.scheme in schemes and bool(parts.hostname)


def _origin(url: str) -> tuple[str, str | None, int | None]:
    parts = urlsplit(url)
    return parts.scheme, parts.hostname, parts.port or _DEFAULT_PORTS.get(parts.scheme)


def _without(
    headers: tuple[tuple[str, str], ...], names: frozenset[str]
) -> tuple[tuple[str, str], ...]:
    return tuple((name, value) for name, value in headers if name.lower() not in names)
