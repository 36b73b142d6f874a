"""One bounded logical stream: connect, read, parse, record; reconnect with ``Last-Event-ID``.

This is where the metrics of DESIGN.md "Load metrics" are taken, with these clocks:

- ``perf_counter`` (monotonic) for everything measured on the reader alone: connect (request
  start to response head), TLS (TCP connect end to handshake end, ``https://`` only), TTFE
  (request start to the first dispatched event), gaps (between consecutive events of the
  stream, across a reconnect too: the consumer waited that long);
- ``time.time()`` for what compares with a server stamp: delivery latency (dispatch minus the
  payload's ``sent``) and lateness (dispatch minus its ``intended``).

An event's dispatch time is the moment the ``recv`` that completed it returned: the parser runs
right after, and every event one ``recv`` completes shares that moment (so their gap is 0).

Every stream is bounded by ``max_events`` and ``max_seconds``; every response head by
``timeout_s`` in all, every open stream by ``timeout_s`` without a line end (silence, or a
trickle of bytes that never ends a line); reconnects by ``max_reconnects``; what the parser holds
by the core's bounds (``harness.stream``: a line of 1 MiB, an event of 8 Mi characters) and the
response head by ``harness.load.transport.MAX_HEAD_BYTES``. Those bounds are the client's, never
a promise: a stream the server ends cleanly is a clean end unless the user declared more was due.
How a stream ends is one of :data:`ENDS`; why a stream failed is one of :data:`FAILURES`, counted
in ``streams.failures`` of load.json.

What to send, whether a response is a stream, and whether and when to reconnect are decided by
:class:`harness.connection.SourceMachine`, the same machine the asyncio client drives; this module
is its gevent driver and takes the measurements. Body bytes go from ``recv`` to the machine's
``feed`` (the parser) with nothing per event in between but the recording itself.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import gevent
from gevent.hub import Waiter, get_hub

from harness.connection import (
    Fail,
    Reconnect,
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
from harness.load.integrity import Sequence as IdSequence
from harness.load.metrics import Metrics
from harness.load.stamps import STAMPERS, StamperFactory
from harness.load.transport import (
    MAX_HEAD_BYTES,
    Endpoint,
    HeadTimeoutError,
    HeadTooLargeError,
    HTTPParseError,
    StreamConnection,
    TLSHandshakeError,
    tls_context,
)
from harness.stream import DEFAULT_MAX_EVENT, DEFAULT_MAX_LINE, Event

__all__ = [
    "ENDS",
    "FAILURES",
    "End",
    "RetryTooLongError",
    "StalledError",
    "StreamListener",
    "StreamObserver",
    "StreamResult",
    "StreamSpec",
    "halt_reading",
    "resume_reading",
    "run_stream",
]

#: bound: the client's event or time bound was reached (the normal end of a load stream);
#: done: the server said it was finished (the done sentinel, or 204 to a resume);
#: eof: the server ended the stream cleanly and nothing more was promised;
#: truncated: the network cut the stream (inside an event, or mid-body), or the server ended it
#: short of what the user declared it promises (:attr:`StreamSpec.expect_events`,
#: :attr:`StreamSpec.expect_endless`, the done event of :attr:`StreamSpec.done_data`);
#: error: no stream (connect, status, timeout, limit);
#: stopped: the load test stopped the user mid-stream.
End = Literal["bound", "done", "eof", "truncated", "error", "stopped"]
ENDS: tuple[End, ...] = ("bound", "done", "eof", "truncated", "error", "stopped")
#: How far :meth:`_Reader.fail` follows an error's causes (a chain is a few long).
_MAX_CAUSES = 8

#: Why a stream failed (ended ``error`` or ``truncated``), by the short, stable key load.json
#: counts it under (``streams.failures``), in words. ``status_<code>`` is added per status.
FAILURES: dict[str, str] = {
    "line_too_long": f"a line longer than {DEFAULT_MAX_LINE >> 20} MiB",
    "event_too_large": f"an event's data over {DEFAULT_MAX_EVENT >> 20} Mi characters",
    "head_too_large": f"a response head over {MAX_HEAD_BYTES >> 10} KiB (a header flood)",
    "no_head": "no whole response head within the timeout (no answer, or a trickled head)",
    "stalled": "no line end within the timeout on an open stream (silence, or a trickle)",
    "redirect_loop": "too many redirects",
    "retry_too_long": "a reconnection time (retry) longer than the stream's time bound",
    "content_type": "a response that is not text/event-stream",
    "tls": "the TLS handshake failed",
    "refused": "the connection was refused",
    "connect_failed": "no connection or no HTTP response",
    "connection_lost": "the connection broke off mid-stream",
    "reconnect_limit": "the stream broke again after max_reconnects reconnections",
    "deadline": "the stream's deadline passed while reconnecting",
    "cut": "the server ended the stream inside an event",
    "ended_short": "the server ended the stream short of what was promised",
}
#: The longest example message load.json keeps per failure key (a message may quote the target).
_EXAMPLE_CHARS = 300


class StalledError(SSETimeoutError):
    """An open stream brought no line end for ``timeout_s``: silence, or a trickle of bytes
    that never ends a line (each byte would otherwise restart the silence timer forever)."""


class RetryTooLongError(SSEError):
    """The server set a reconnection time longer than the stream's whole time bound, so the
    stream can never be resumed (a 10^6-digit ``retry`` asks for 10^(10^6) ms)."""


#: The errors that name their own failure key, subclasses before their bases.
_FAILURE_TYPES: tuple[tuple[type[BaseException], str], ...] = (
    (StalledError, "stalled"),
    (RetryTooLongError, "retry_too_long"),
    (SSEContentTypeError, "content_type"),
    (SSEReconnectLimitError, "reconnect_limit"),
    (SSETimeoutError, "deadline"),
    (HeadTimeoutError, "no_head"),
    (HeadTooLargeError, "head_too_large"),
    (TLSHandshakeError, "tls"),
    (ConnectionRefusedError, "refused"),
)


@dataclass(frozen=True, slots=True)
class StreamSpec:
    """What to request and how long to read."""

    url: str
    method: str = "GET"
    body: bytes | None = None
    headers: tuple[tuple[str, str], ...] = ()
    #: Events to read before closing (0: no bound): the client's own bound, never a promise. A
    #: stream the server ends cleanly before it is a clean end ("eof").
    max_events: int = 0
    max_seconds: float = 60.0
    #: What the user declared the server promises, if anything: at least this many events per
    #: stream (0: no promise), or a stream that never ends before the client's bound. A clean
    #: end short of either is "truncated"; without them only a broken stream is.
    expect_events: int = 0
    expect_endless: bool = False
    #: Longest wait for a connection's head, and longest silence on an open stream.
    timeout_s: float = 30.0
    reconnect: bool = False
    #: Wait before reconnecting when the server sent no ``retry``.
    reconnect_delay_s: float = 1.0
    max_reconnects: int = 100
    #: Track ids for loss and duplication (see ``harness.load.integrity``).
    track_ids: bool = True
    #: Data of the event that says the stream is complete (``[DONE]`` for chat completions).
    done_data: str | None = None
    stamps: StamperFactory = field(default=STAMPERS["json"])
    #: CA certificates (PEM) that ``https://`` servers must chain to (None: the system's).
    cafile: str | None = None
    #: Accept any certificate over ``https://`` (still TLS; nothing verified).
    insecure: bool = False

    def __post_init__(self) -> None:
        Endpoint(self.url)  # an unusable URL fails here, once, not in every stream
        if (
            min(self.max_events, self.expect_events) < 0
            or min(self.max_seconds, self.timeout_s) <= 0
        ):
            raise ValueError(
                "max_events and expect_events must be >= 0, max_seconds and timeout_s > 0"
            )
        if self.max_events and self.expect_events > self.max_events:
            raise ValueError(
                f"expecting {self.expect_events} events per stream but reading at most"
                f" {self.max_events}: the promise could never be checked (raise max_events)"
            )


class StreamListener(Protocol):
    """Told as things happen (Locust turns these into its few rows per stream).

    ``first_event`` is called from an event-loop callback (see :meth:`_Reader.read`), as every
    :class:`StreamObserver` method but ``on_end``: they must not wait (no sockets, no sleeps).
    """

    def connected(self, seconds: float, error: BaseException | None) -> None: ...
    def first_event(self, seconds: float) -> None: ...


class StreamObserver(Protocol):
    """Sees every event of one stream (profile metrics such as tokens); must not wait."""

    def on_event(self, event: Event, at: float) -> None: ...
    def on_end(self) -> None: ...


@dataclass(slots=True)
class StreamResult:
    end: End = "error"
    error: str | None = None
    events: int = 0
    bytes: int = 0
    reconnects: int = 0
    duration_s: float = 0.0
    ttfe_s: float | None = None
    #: The typed error behind ``error`` when the machine failed the stream (``harness.connection``).
    failure: SSEError | None = None


class _Reader:
    """The state of one logical stream while it runs."""

    def __init__(
        self,
        spec: StreamSpec,
        metrics: Metrics,
        listener: StreamListener | None,
        observer: StreamObserver | None,
    ) -> None:
        self.spec = spec
        self.metrics = metrics
        self.listener = listener
        self.observer = observer
        self.machine = SourceMachine(
            spec.url,
            method=spec.method,
            headers=spec.headers,
            body=spec.body,
            reconnect=spec.reconnect,
            max_reconnects=spec.max_reconnects,
            default_retry_ms=round(spec.reconnect_delay_s * 1000),
        )
        self.stamps = spec.stamps()
        self.ids = IdSequence()
        self.result = StreamResult()
        self.started = time.perf_counter()
        self.deadline = self.started + spec.max_seconds
        self.last_at: float | None = None
        self.resume_from: int | None = None  # numeric Last-Event-ID of a pending resume
        self.done = False
        self.cut = False  # the last connection ended inside an event, or mid-body
        h = metrics.histograms
        self._gap, self._latency, self._lateness = h["gap"], h["latency"], h["lateness"]
        # The connection being read, and what its event-loop callbacks share (see :meth:`read`).
        self._connection: StreamConnection | None = None
        self._received = 0
        self._last_line = 0.0  # when the last line end came (what the silence timer watches)
        self._trickled = False  # bytes came since then, but no line end
        self._waiter: Waiter[bool] = Waiter()
        self._watcher: Any = None  # gevent's io watcher (untyped)
        self._timer: Any = None  # gevent's timer watcher

    # -- one connection -------------------------------------------------------------------

    def connect(self) -> StreamConnection | Fail:
        """Send the machine's request (C-R4 on a reconnect) and follow its redirects (C-R5)."""
        machine = self.machine
        request = machine.connect()
        spec = self.spec
        begun = time.perf_counter()
        while True:
            endpoint = Endpoint(request.url)
            try:
                connection = StreamConnection(
                    endpoint,
                    method=request.method,
                    headers=request.headers,
                    body=request.body,
                    timeout_s=min(spec.timeout_s, max(self.deadline - begun, 0.001)),
                    context=tls_context(spec.cafile, spec.insecure) if endpoint.tls else None,
                )
            except TLSHandshakeError as exc:
                # Not a network error to retry: the next handshake would fail the same way.
                self._connected(time.perf_counter() - begun, exc)
                return machine.fail(SSEConnectionError(str(exc)), exc)
            except (OSError, HTTPParseError) as exc:
                self._connected(time.perf_counter() - begun, exc)
                raise
            if connection.tls_s is not None:
                self.metrics.histograms["tls"].record(connection.tls_s)
            decision = machine.response(
                connection.status,
                connection.header("content-type"),
                location=connection.header("location"),
            )
            if not isinstance(decision, Request):
                break
            connection.close()
            request = decision
        seconds = connection.headers_at - begun
        self.metrics.histograms["connect"].record(seconds)
        if isinstance(decision, Fail):
            connection.close()
            self._connected(seconds, decision.reason)
            return decision
        self._connected(seconds, None)
        return connection

    def _connected(self, seconds: float, error: BaseException | None) -> None:
        if self.listener is not None:
            self.listener.connected(seconds, error)

    def read(self, connection: StreamConnection) -> bool:
        """Read until the body ends (True) or a bound is reached (False).

        The body is read in event-loop callbacks, not by this greenlet: when the socket is
        readable, :meth:`_readable` takes what is there, parses and records it, and returns to
        the loop. A stream costs no greenlet switch, no timeout object and no wait per read, which
        is what lets one process hold 10,000 streams; this greenlet sleeps until the body ends, a
        bound is reached or something fails (raised here). Silence and the time bound share one
        timer that is re-armed only when it fires (:meth:`_check_time`).
        """
        self._connection = connection
        self._received = 0
        self._last_line = time.perf_counter()
        self._trickled = False
        self._waiter = Waiter()
        self._watcher = get_hub().loop.io(connection.fileno(), 1)  # 1: readable
        self._timer = None
        try:
            if not _halted:  # halted: read nothing more, wait to be stopped
                ended = self._take()  # what came with the head
                if ended is not None:
                    return ended
                _reading.add(self)
                self._watcher.start(self._readable)
                self._arm(self._last_line)
            ended = self._waiter.get()
            assert isinstance(ended, bool)
            return ended
        finally:
            _reading.discard(self)
            self._watcher.close()
            if self._timer is not None:
                self._timer.close()
            self.cut = self.machine.buffered > 0
            self.result.bytes += self._received
            self.metrics.counters["bytes"] += self._received

    def _readable(self) -> None:
        """The socket is readable (an event-loop callback: it must not wait)."""
        try:
            ended = self._take()
        except BaseException as exc:  # handed to the reading greenlet, raised there
            self._stop()
            self._waiter.throw(exc)
            return
        if ended is not None:
            self._stop()
            self._waiter.switch(ended)

    def _take(self) -> bool | None:
        """Parse and record what one non-blocking read brings; None while the body goes on.

        Only a line end is progress for the silence timer: bytes that never end a line (a
        trickle) must not hold a stream open for ever.
        """
        assert self._connection is not None
        pieces = self._connection.read_ready()
        now = time.perf_counter()
        if pieces is None:
            return True
        if not pieces:
            return None
        wall = time.time()
        self._trickled = True
        feed = self.machine.feed
        for piece in pieces:
            self._received += len(piece)
            if self._trickled and (b"\n" in piece or b"\r" in piece):
                self._last_line, self._trickled = now, False
            try:
                events = feed(piece)
            except SSELimitError as exc:
                if exc.events:
                    self.dispatch(exc.events, now, wall)
                raise
            if events and self.dispatch(events, now, wall):
                return False
        return True if self._connection.complete else None

    def _arm(self, now: float) -> None:
        """Wake :meth:`_check_time` when the stream would have been silent for ``timeout_s``, or
        at the time bound, whichever comes first."""
        if self._timer is not None:
            self._timer.close()
        wake = min(self._last_line + self.spec.timeout_s, self.deadline)
        self._timer = get_hub().loop.timer(max(wake - now, 0.0))
        self._timer.start(self._check_time)

    def _check_time(self) -> None:
        """The timer fired: the time bound, silence, or (bytes came since it was armed) re-arm."""
        now = time.perf_counter()
        if now >= self.deadline:
            self._stop()
            self._waiter.switch(False)
        elif now - self._last_line >= self.spec.timeout_s:
            self._stop()
            self._waiter.throw(TimeoutError())  # run() names it, as StalledError
        else:
            self._arm(now)

    def _stop(self) -> None:
        self._watcher.stop()
        if self._timer is not None:
            self._timer.stop()

    def dispatch(self, events: list[Event], now: float, wall: float) -> bool:
        """Record ``events`` (all completed at ``now``); True when the event bound is reached.

        It runs per ``recv``, with no Python call per event on the common path: ids, stamps and
        histograms each take the whole list (the histograms only append; they batch).
        """
        result, spec, metrics = self.result, self.spec, self.metrics
        if spec.max_events:
            events = events[: spec.max_events - result.events]
        n = len(events)
        gap = self._gap
        if self.last_at is None:
            result.ttfe_s = now - self.started
            metrics.histograms["ttfe"].record(result.ttfe_s)
            if self.listener is not None:
                self.listener.first_event(result.ttfe_s)
        else:
            gap.record(now - self.last_at)
        if n > 1:  # completed by one recv: dispatched together
            gap.record(0.0, n - 1)
        self.last_at = now
        result.events += n
        metrics.counters["events"] += n
        metrics.events_per_s[int(wall)] += n
        if self.resume_from is not None:
            self._resumed(events[0].last_event_id == str(self.resume_from + 1))
        if spec.track_ids:
            self.ids.see_many([event.last_event_id for event in events])
        sents, intendeds = self.stamps(events, wall)
        if sents:
            self._latency.record_many([wall - sent for sent in sents])
        if intendeds:
            self._lateness.record_many([wall - intended for intended in intendeds])
        observer, done_data = self.observer, spec.done_data
        if observer is not None or done_data is not None:
            for event in events:
                if observer is not None:
                    observer.on_event(event, now)
                if done_data is not None and event.data == done_data:
                    self.done = True
        return bool(spec.max_events) and result.events >= spec.max_events

    def _resumed(self, exact: bool) -> None:
        self.metrics.counters["resume_exact" if exact else "resume_inexact"] += 1
        self.resume_from = None

    # -- the logical stream -----------------------------------------------------------------

    def run(self) -> None:
        machine, result = self.machine, self.result
        while True:
            try:
                connection = self.connect()
            except (OSError, HTTPParseError) as exc:
                decision = machine.network_error(exc, self.deadline - time.perf_counter())
                if isinstance(decision, Reconnect):
                    self.wait(decision)
                    continue
                return self.fail(self.given_up(decision))
            if isinstance(connection, Fail):
                reason = connection.reason
                resuming = self.resume_from is not None
                if resuming and isinstance(reason, SSEStatusError) and reason.status == 204:
                    self._resumed(True)  # 204 to a resume: the server has nothing after that id
                    result.end = self.promised_end("done")
                    return
                return self.fail(reason)
            try:
                ended = self.read(connection)
            except SSELimitError as exc:
                return self.fail(exc)
            except TimeoutError:
                return self.fail(machine.fail(self.stalled()).reason)
            except (OSError, HTTPParseError) as exc:
                self.cut = True
                decision = machine.network_error(exc, self.deadline - time.perf_counter())
                if isinstance(decision, Reconnect):
                    self.wait(decision)
                    continue
                self.fail(self.given_up(decision))
                result.end = "truncated"
                return
            finally:
                connection.close()
            if not ended:
                result.end = "bound"
                return
            if self.done:
                result.end = self.promised_end("done")
                return
            after_eof = machine.eof(self.deadline - time.perf_counter())
            if isinstance(after_eof, Reconnect):
                self.wait(after_eof)
                continue
            if isinstance(after_eof, Fail):
                reason = self.given_up(after_eof)
                if isinstance(reason, RetryTooLongError):
                    return self.fail(reason)
            result.end = self.promised_end("eof")
            return

    def stalled(self) -> StalledError:
        """The silence timer fired: what came since the last line end, in words."""
        seconds = f"{self.spec.timeout_s:g} s"
        if self._trickled:
            return StalledError(f"bytes but no line end for {seconds} (a trickle)")
        return StalledError(f"no bytes for {seconds}")

    def given_up(self, decision: Fail) -> SSEError:
        """Why the machine would not reconnect: a server's reconnection time longer than the
        stream's whole time bound is the server's doing (a 10^6-digit ``retry``), not the end
        of the client's bound."""
        retry_ms = self.machine.retry_ms
        if isinstance(decision.reason, SSETimeoutError) and retry_ms > self.spec.max_seconds * 1000:
            shown = f"{retry_ms} ms" if retry_ms < 10**12 else "over 10^12 ms"
            return RetryTooLongError(
                f"the server set a reconnection time (retry) of {shown}, longer than the"
                f" stream's {self.spec.max_seconds:g} s: it can never be resumed"
            )
        return decision.reason

    def wait(self, reconnect: Reconnect) -> None:
        """C-H8: wait the reconnection time; the next request resumes after its Last-Event-ID."""
        gevent.sleep(reconnect.delay_s)
        self.result.reconnects += 1
        self.metrics.counters["reconnects"] += 1
        last = reconnect.last_event_id
        numeric = last.isascii() and last.isdigit() and len(last) < 19
        self.resume_from = int(last) if numeric else None

    def promised_end(self, end: End) -> End:
        """``end`` (the server ended the stream cleanly), or truncated when the stream was cut
        inside an event or what was promised did not come; then ``error`` says which promise.

        Only what the user declared is a promise (``expect_events``, ``expect_endless``, the
        done event of ``done_data``): the client's own ``max_events`` bound never is.
        """
        shortfall = self.shortfall()
        if shortfall is None:
            return end
        self.result.error = shortfall
        return "truncated"

    def shortfall(self) -> str | None:
        """Why a stream the server ended is truncated, or None when that end was clean."""
        spec, events = self.spec, self.result.events
        came = f"the server ended the stream after {events} events"
        if self.cut:
            return f"{came}, inside an event (its last event never completed)"
        if spec.done_data is not None and not self.done:
            return f"{came} without the done event {spec.done_data!r}"
        covered = self.ids.covered if spec.track_ids and self.ids.covered else events
        if covered < spec.expect_events:
            seen = f" (ids covering {covered})" if covered != events else ""
            return f"{came}{seen}; --sse-expect-events promised {spec.expect_events}"
        if spec.expect_endless:
            return f"{came}; --sse-expect-endless promised it would not end"
        return None

    def fail(self, reason: SSEError) -> None:
        """End in error, keeping ``reason`` and its causes without their tracebacks: a traceback
        holds this reader's frames, which hold the result that holds the error, a reference
        cycle that only a full collection frees (and a load run makes none: see
        ``harness.load.plugin``)."""
        error: BaseException | None = reason
        for _ in range(_MAX_CAUSES):
            if error is None:
                break
            error.__traceback__ = None
            error = error.__cause__ or error.__context__
        said = str(reason)
        if isinstance(reason, SSELimitError):  # the parser names its bound, not what it was
            said = f"{FAILURES[_limit_key(reason)]} ({said})"
        self.result.end, self.result.error, self.result.failure = "error", said, reason

    def failure(self) -> tuple[str, str]:
        """The :data:`FAILURES` key of a failed stream and a message for it: of its error, the
        deepest cause this reader knows (a reconnect limit reached by streams that never got a
        head is ``no_head``), in that cause's own words first; a truncated stream without an
        error is ``cut`` or ``ended_short``."""
        result = self.result
        said = result.error or ""
        found: tuple[str, BaseException] | None = None
        error: BaseException | None = result.failure
        for _ in range(_MAX_CAUSES):
            if error is None:
                break
            key = _known_failure(error)
            found = (key, error) if key is not None else found
            error = error.__cause__ or error.__context__
        if found is not None:
            key, cause = found
            if cause is not result.failure and str(cause) not in said:
                said = f"{cause}; {said}"
            elif cause is not result.failure:
                said = str(cause)
        elif result.end == "truncated" and result.failure is None:
            key = "cut" if self.cut else "ended_short"
        else:
            key = "connection_lost" if result.end == "truncated" else "connect_failed"
        return key, " ".join(said.split())[:_EXAMPLE_CHARS]  # one line, however long

    def finish(self, stopped: bool) -> StreamResult:
        result, counters = self.result, self.metrics.counters
        if stopped:
            result.end = "stopped"
        result.duration_s = time.perf_counter() - self.started
        counters[f"ended_{result.end}"] += 1
        if result.end == "error":
            counters["errors"] += 1
        elif result.end == "truncated":
            counters["truncated_streams"] += 1
        if result.end in ("error", "truncated"):
            self.metrics.stream_failed(*self.failure())
        ids = self.ids
        counters["lost"] += ids.lost
        counters["duplicated"] += ids.duplicated
        counters["out_of_order"] += ids.out_of_order
        counters["restarts"] += ids.restarts
        counters["unsequenced"] += ids.unsequenced
        if self.observer is not None:
            self.observer.on_end()
        return result


def _limit_key(error: SSELimitError) -> str:
    return "line_too_long" if error.limit == "max_line" else "event_too_large"


def _known_failure(error: BaseException) -> str | None:
    """The :data:`FAILURES` key ``error`` itself says, or None for an error that only wraps."""
    if isinstance(error, SSELimitError):
        return _limit_key(error)
    if isinstance(error, SSEStatusError):
        return "redirect_loop" if error.reason == "too many redirects" else f"status_{error.status}"
    return next((key for kind, key in _FAILURE_TYPES if isinstance(error, kind)), None)


#: The readers reading a body now, and whether :func:`halt_reading` was called.
_reading: set[_Reader] = set()
_halted = False


def halt_reading() -> None:
    """Stop every stream of this process from reading, at once; each waits to be stopped.

    For the moment a load test begins to stop: Locust then stops its users one by one, and
    stopping 10,000 holds the event loop long enough that every event read meanwhile would carry
    that stall as delivery latency (the harness's own, not the server's). Until
    :func:`resume_reading`, streams that connect read nothing either.
    """
    global _halted
    _halted = True
    for reader in list(_reading):
        reader._stop()
    _reading.clear()


def resume_reading() -> None:
    """Let streams read again (a new test in the same process)."""
    global _halted
    _halted = False


def run_stream(
    spec: StreamSpec,
    metrics: Metrics,
    *,
    listener: StreamListener | None = None,
    observer: StreamObserver | None = None,
) -> StreamResult:
    """Run one logical stream to its end and record it into ``metrics``.

    Never raises for what the target does (that is the result's ``end`` and ``error``). When the
    greenlet is killed (Locust stopping users), what was read so far is still recorded, as a
    stream that ended ``stopped``.
    """
    reader = _Reader(spec, metrics, listener, observer)
    metrics.stream_opened()
    stopped = True
    try:
        reader.run()
        stopped = False
    finally:
        metrics.stream_closed()
        reader.finish(stopped)
    return reader.result
