"""One MCP session under load: initialize once, then tools/call after tools/call, each read from
its POST's event stream to its response; a share of them dropped after their first message and
resumed by GET with ``Last-Event-ID`` after the stream's ``retry``. gevent sockets, no Locust.

The protocol's words come from :mod:`harness.mcp` (the same messages ``check --profile mcp``
sends); the HTTP exchange is :class:`harness.load.transport.StreamConnection` and the event
stream :class:`harness.stream.Parser`, as for every other load stream. What is recorded, and
how lost and duplicated messages are told, is :mod:`harness.load.mcp_figures`.

Every read is bounded: a response head by ``timeout_s``, an open stream by ``timeout_s`` without
a byte, a call (its POST and every resume) by ``max_seconds``, its resumes by ``max_resumes``
(and a resume that brings no new event id ends them: polling again would bring nothing either).
Whatever the target does (refuses, answers 4xx, never answers, ends a stream early) is counted
as the failure of that exchange, under a key of ``harness.load.session.FAILURES`` or
:data:`harness.load.mcp_figures.FAILURES`, never raised and never a hang.

Request ids and progress tokens are unique over the run (a random 32-bit base per session), so
that a message of another session, or replayed from another stream, is recognised as such; a
store that keys its streams by request id alone (the SDK example's) is then not exercised by
id collisions between the run's own sessions.
"""

from __future__ import annotations

import contextlib
import itertools
import secrets
import ssl
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

import gevent
from gevent.pool import Group
from gevent.socket import wait_read

from harness import mcp
from harness.load.mcp_figures import RESPONSE, CallLedger
from harness.load.metrics import Metrics
from harness.load.session import StreamSpec
from harness.load.transport import (
    Endpoint,
    HeadTimeoutError,
    HeadTooLargeError,
    HTTPParseError,
    StreamConnection,
    TLSHandshakeError,
    tls_context,
)
from harness.stream import Event, Parser, StreamLimitError, media_type

__all__ = ["McpListener", "McpLoadSession", "McpSpec"]

#: Calls a session remembers after they end, so that a late copy of one of their messages still
#: counts as duplicated rather than foreign.
_REMEMBERED = 64
#: Longest JSON answer read (an initialize result, a tools/call answered as JSON).
_MAX_JSON = 1 << 20
#: How long closing a session (DELETE) may take when the user stops.
_CLOSE_TIMEOUT_S = 1.0
#: How much of an error's words a failure example keeps.
_WORDS = 300


@dataclass(frozen=True, slots=True)
class McpSpec:
    """What each session does (``harness.load.options.mcp_spec`` builds it from the options)."""

    #: The endpoint, request headers, TLS settings and bounds (``url``, ``headers``,
    #: ``timeout_s``; ``max_seconds`` bounds each call; ``reconnect_delay_s`` is the wait after a
    #: session could not initialize).
    stream: StreamSpec
    tool: str = "test_tool_with_progress"
    #: Share of calls (0..1) dropped after their first message, then resumed.
    drop_share: float = 0.1
    #: Calls each session sends at once (and reads together) before the next ones.
    parallel: int = 2
    #: The revision offered in initialize.
    version: str = mcp.NEWEST_HANDSHAKE
    #: Resumes (GET with Last-Event-ID) per call at most.
    max_resumes: int = 5
    #: The wait before a resume when the stream set no ``retry``.
    default_retry_ms: int = 1000

    def __post_init__(self) -> None:
        if not 0 <= self.drop_share <= 1:
            raise ValueError(f"the drop share must be between 0 and 1, got {self.drop_share:g}")
        if not 1 <= self.parallel <= 100:
            raise ValueError(f"calls at once must be between 1 and 100, got {self.parallel}")
        if self.version not in mcp.HANDSHAKE_REVISIONS[1:]:
            offered = ", ".join(mcp.HANDSHAKE_REVISIONS[1:])
            raise ValueError(
                f"MCP revision {self.version!r}: the load profile needs sessions and resumable"
                f" Streamable HTTP, one of {offered}"
            )
        if not self.tool:
            raise ValueError("no tool to call (--sse-mcp-tool)")


class McpListener(Protocol):
    """Told of each exchange as it ends (Locust turns these into its rows)."""

    def exchanged(self, kind: str, seconds: float, error: str | None) -> None: ...


class _Failed(Exception):
    """An exchange failed: ``key`` as ``streams.failures`` counts it, and words."""

    def __init__(self, key: str, words: str) -> None:
        super().__init__(words)
        self.key = key
        self.words = " ".join(words.split())[:_WORDS]


class _SessionGone(_Failed):
    """404 to a request in a session: the server ended it (a new one is opened next)."""


class _Cut(Exception):
    """The connection broke off mid-body (resumable like any stream end)."""


class McpLoadSession:
    """One user's MCP session and the calls it makes (not thread-safe; one user's greenlets)."""

    def __init__(
        self, spec: McpSpec, metrics: Metrics, listener: McpListener | None = None
    ) -> None:
        self.spec = spec
        self.metrics = metrics
        self.listener = listener
        self.endpoint = Endpoint(spec.stream.url)
        self.session_id: str | None = None
        self.version = ""
        self.is_open = False
        tag = secrets.token_hex(4)
        self._token_prefix = f"sse-harness-{tag}-"
        self._tokens = itertools.count(1)
        self._ids = itertools.count(secrets.randbits(32) * 100_000 + 1)
        #: Calls of this session by token and by request id (the last ``_REMEMBERED`` ended).
        self._by_token: dict[str, CallLedger] = {}
        self._by_id: dict[int, CallLedger] = {}
        self._ended: deque[CallLedger] = deque()
        #: The progress values the undropped call that carried the most of them carried.
        self._expected: frozenset[float | str] = frozenset()
        #: Drops are due at ``drop_share`` of the calls after the first batch (never dropped:
        #: it shows what an undropped call carries); the credit starts half-way, so a short run
        #: drops too.
        self._warm = False
        self._credit = 0.5

    # -- the session ---------------------------------------------------------------------------

    def open(self) -> bool:
        """initialize and notifications/initialized; False (counted, shown) when it failed."""
        begun = time.perf_counter()
        deadline = begun + self.spec.stream.max_seconds
        self.session_id, self.version = None, ""
        request_id = next(self._ids)
        try:
            answer, session_id = self._initialize(request_id, deadline, begun)
            if answer is None or answer.kind != "response":
                said = "no answer" if answer is None else f"{answer.kind}: {answer.raw[:200]}"
                raise _Failed("mcp_initialize", f"initialize got {said}")
            self.session_id = session_id
            self.version = str(answer.result.get("protocolVersion", ""))
            self._acknowledge(deadline)
        except _Failed as exc:
            self.metrics.counters["mcp_session_errors"] += 1
            self._failed(exc.key, exc.words)
            self._row("initialize", begun, exc.words)
            self.session_id = None
            return False
        self.metrics.counters["mcp_sessions"] += 1
        self.metrics.session_opened()
        self.is_open = True
        self._row("initialize", begun, None)
        return True

    def _initialize(
        self, request_id: int, deadline: float, begun: float
    ) -> tuple[mcp.Message | None, str | None]:
        body = mcp.initialize(request_id, self.spec.version)
        self.metrics.stream_opened()
        try:
            connection = self._connect("POST", self._headers(post=True), body, deadline)
            try:
                if connection.status != 200:
                    raise _Failed(
                        f"status_{connection.status}",
                        f"initialize answered {connection.status}",
                    )
                kind = media_type(connection.header("content-type"))
                answer: mcp.Message | None
                if kind == "application/json":
                    answer = self._json_body(connection, deadline)
                elif kind == "text/event-stream":
                    answer = self._answer_on_stream(connection, request_id, deadline, begun)
                else:
                    raise _Failed("mcp_not_a_stream", f"initialize answered {kind or 'no type'}")
                return answer, connection.header(mcp.SESSION_HEADER)
            finally:
                connection.close()
        finally:
            self.metrics.stream_closed()

    def _acknowledge(self, deadline: float) -> None:
        """notifications/initialized: 202 (or any 2xx); its body, if any, is not read."""
        connection = self._connect("POST", self._headers(post=True), mcp.initialized(), deadline)
        connection.close()
        if not 200 <= connection.status < 300:
            raise _Failed(
                f"status_{connection.status}",
                f"notifications/initialized answered {connection.status}",
            )

    def close(self) -> None:
        """End the session (DELETE, best effort and bounded): the user stops."""
        if not self.is_open:
            return
        self.is_open = False
        self.metrics.session_closed()
        if self.session_id is None:
            return
        # Unanswered, the session ends with the server's idle timeout instead.
        with contextlib.suppress(OSError, HTTPParseError, ValueError):
            StreamConnection(
                self.endpoint,
                method="DELETE",
                headers=self._headers(post=False),
                timeout_s=_CLOSE_TIMEOUT_S,
                context=self._tls(),
            ).close()

    def _gone(self) -> None:
        """The server answered 404 in this session: it is over; the next batch opens a new one."""
        if self.is_open:
            self.is_open = False
            self.metrics.session_closed()
            self.metrics.counters["mcp_sessions_expired"] += 1

    # -- calls ------------------------------------------------------------------------------

    def batch(self) -> None:
        """``parallel`` calls at once, each read to its end."""
        drops = [self._drop_next() for _ in range(self.spec.parallel)]
        if len(drops) == 1:
            self.call(drops[0])
        else:
            group = Group()
            for drop in drops:
                group.spawn(self.call, drop)
            try:
                group.join()
            finally:
                group.kill()  # the user is being stopped: its calls stop with it
        self._warm = True

    def _drop_next(self) -> bool:
        if not self._warm or not self.spec.drop_share:
            return False
        self._credit += self.spec.drop_share
        if self._credit < 1:
            return False
        self._credit -= 1
        return True

    def call(self, drop: bool = False) -> CallLedger:
        """One tools/call of the tool, to its response (through resumes when its stream was cut);
        recorded and settled. Never raises for what the target does."""
        ledger = CallLedger(next(self._ids), f"{self._token_prefix}{next(self._tokens)}", drop)
        self._by_token[ledger.token] = ledger
        self._by_id[ledger.request_id] = ledger
        self.metrics.counters["mcp_calls"] += 1
        started = time.perf_counter()
        deadline = started + self.spec.stream.max_seconds
        failure: _Failed | None = None
        try:
            ended_at = self._post(ledger, started, deadline)
            if ended_at is not None:
                self._resume(ledger, ended_at, started, deadline)
        except _SessionGone as exc:
            self._gone()
            failure = exc
        except _Failed as exc:
            failure = exc
        except Exception as exc:  # a harness bug: shown as a failure, never a silent stop
            failure = _Failed("harness_error", f"{type(exc).__name__}: {exc}")
        self._settle(ledger, started, failure)
        return ledger

    def _post(self, ledger: CallLedger, started: float, deadline: float) -> float | None:
        """The call's POST, read until its response (None) or until its stream was dropped by
        the harness or ended by the server first (the time it ended: a resume follows)."""
        body = mcp.tools_call(ledger.request_id, self.spec.tool, {}, ledger.token, self.version)
        self.metrics.stream_opened()
        try:
            connection = self._connect("POST", self._headers(post=True), body, deadline)
            try:
                self._check(connection, "tools/call")
                kind = media_type(connection.header("content-type"))
                if kind == "application/json":
                    self.metrics.counters["mcp_json_answers"] += 1
                    message = self._json_body(connection, deadline)
                    owner, key = self._route(message)
                    if owner is ledger and key == RESPONSE:
                        self._record("mcp_result", time.perf_counter() - started)
                    return None
                if kind != "text/event-stream":
                    raise _Failed("mcp_not_a_stream", f"tools/call answered {kind or 'no type'}")
                outcome = self._read(connection, ledger, started, started, deadline, resume=False)
            finally:
                connection.close()
        finally:
            self.metrics.stream_closed()
        ended_at = time.perf_counter()
        if outcome == "answered":
            return None
        if outcome == "dropped":
            self.metrics.counters["mcp_drops"] += 1
            return ended_at
        if ledger.answered:  # its response came on another stream (a store that mixes streams)
            return None
        if not ledger.last_event_id:
            raise _Failed(
                "mcp_no_response",
                f"the stream of request {ledger.request_id} ended without its response and"
                " without an event id to resume from",
            )
        ledger.server_closed = True
        self.metrics.counters["mcp_server_closes"] += 1
        return ended_at

    def _resume(self, ledger: CallLedger, ended_at: float, started: float, deadline: float) -> None:
        """GET with Last-Event-ID, ``retry`` after the stream ended, until the call's response."""
        spec = self.spec
        for _ in range(spec.max_resumes):
            retry_ms = ledger.retry_ms if ledger.retry_ms is not None else spec.default_retry_ms
            due = ended_at + retry_ms / 1000
            if due >= deadline:
                raise _Failed(
                    "deadline",
                    f"request {ledger.request_id}: its time bound"
                    f" ({spec.stream.max_seconds:g} s) passed before it could resume",
                )
            gevent.sleep(max(0.0, due - time.perf_counter()))
            begun = time.perf_counter()
            self._record("mcp_resume_wait", begun - due)
            self.metrics.counters["mcp_resumes"] += 1
            resumed_from = ledger.last_event_id
            headers = self._headers(post=False, last_event_id=resumed_from)
            self.metrics.stream_opened()
            try:
                connection = self._connect("GET", headers, None, deadline)
                try:
                    self._check(connection, "the resuming GET")
                    kind = media_type(connection.header("content-type"))
                    if kind != "text/event-stream":
                        raise _Failed(
                            "content_type", f"the resuming GET answered {kind or 'no type'}"
                        )
                    outcome = self._read(connection, ledger, started, begun, deadline, resume=True)
                finally:
                    connection.close()
            finally:
                self.metrics.stream_closed()
            self._row("resume", begun, None)
            if outcome == "answered" or ledger.answered:
                return
            ended_at = time.perf_counter()
            if ledger.last_event_id == resumed_from:
                break  # nothing new: another poll would bring nothing either
        raise _Failed(
            "mcp_not_answered",
            f"request {ledger.request_id}: no response through its resumes (the last from event"
            f" id {ledger.last_event_id!r})",
        )

    def _read(
        self,
        connection: StreamConnection,
        ledger: CallLedger,
        started: float,
        begun: float,
        deadline: float,
        *,
        resume: bool,
    ) -> str:
        """Read a call's stream: ``answered`` (its response came on it), ``dropped`` (the
        harness dropped it after its first message) or ``ended`` (the server ended it first).

        ``started``: when the call's POST was sent; ``begun``: when this request was. TTFE and
        the gaps between events are recorded per stream, as for any stream (a resume's first
        event starts a new stream: the wait for the resume is ``mcp_resume_wait``'s).
        """
        parser = Parser(last_event_id=ledger.last_event_id)
        metrics, histograms = self.metrics, self.metrics.histograms
        last_at: float | None = None
        messages = 0
        primed = False
        gap = histograms["gap"]
        try:
            for events, at in self._batches(connection, parser, deadline):
                if last_at is None:
                    histograms["ttfe"].record(at - begun)
                else:
                    gap.record(at - last_at)
                last_at = at
                if parser.retry is not None:
                    ledger.retry_ms = parser.retry
                outcome, taken = "message", 0
                for event in events:
                    taken += 1
                    outcome = self._event(
                        event, ledger, at, started, begun, resume, messages, primed
                    )
                    if outcome == "priming":
                        primed = True
                    elif outcome != "skip":
                        messages += 1
                        if outcome in ("answered", "dropped"):
                            break  # a drop leaves the rest of this read unread
                metrics.counters["events"] += taken
                metrics.events_per_s[int(time.time())] += taken
                if taken > 1:  # completed by one read: dispatched together
                    gap.record(0.0, taken - 1)
                if outcome in ("answered", "dropped"):
                    return outcome
        except _Cut:
            pass  # a cut stream resumes as an ended one does
        return "ended"

    def _event(
        self,
        event: Event,
        ledger: CallLedger,
        at: float,
        started: float,
        begun: float,
        resume: bool,
        messages: int,
        primed: bool,
    ) -> str:
        """One event of a call's stream: ``priming``, ``skip`` (no message), ``message``,
        ``answered`` or ``dropped``."""
        if event.last_event_id:
            ledger.last_event_id = event.last_event_id
        if not event.data:
            if not resume and not messages and not primed and event.last_event_id:
                self._record("mcp_priming", at - started)
                return "priming"
            return "skip"
        if not messages:
            if resume:
                self._record("mcp_replay", at - begun)
            elif not primed:
                self.metrics.counters["mcp_unprimed"] += 1
        owner, key = self._route(mcp.read_message(event.data))
        if owner is ledger and key == RESPONSE:
            if not ledger.dropped:
                self._record("mcp_result", at - started)
            return "answered"
        if ledger.drop and not ledger.dropped and not resume:
            if ledger.last_event_id:
                ledger.dropped = True
                return "dropped"
            self.metrics.counters["mcp_not_resumable"] += 1  # no id: nothing to resume from
            ledger.drop = False
        return "message"

    def _route(self, message: mcp.Message) -> tuple[CallLedger | None, float | str | None]:
        """Note a message with the call it belongs to: (that call, the key noted), or (None,
        None) for a message of no call of this session, or no call at all."""
        counters = self.metrics.counters
        if message.kind == "not-json-rpc":
            counters["mcp_not_json_rpc"] += 1
            return None, None
        owner: CallLedger | None
        key: float | str
        if message.method == "notifications/progress":
            token = message.progress_token
            owner = self._by_token.get(token) if isinstance(token, str) else None
            params = (message.body or {}).get("params") or {}
            value = params.get("progress") if isinstance(params, dict) else None
            numeric = isinstance(value, int | float) and not isinstance(value, bool)
            key = float(value) if numeric and value is not None else f"progress {value!r}"
        elif message.kind in ("response", "error"):
            found = message.id
            owner = self._by_id.get(found) if type(found) is int else None
            key = RESPONSE
            if owner is not None and message.kind == "error":
                error = (message.body or {}).get("error")
                owner.error = str(error.get("message") if isinstance(error, dict) else error)
        else:
            return None, None  # the server's own requests and other notifications
        if owner is None:
            counters["mcp_foreign"] += 1
            return None, None
        if owner.receive(key):
            counters["mcp_duplicated"] += 1
        return owner, key

    def _settle(self, ledger: CallLedger, started: float, failure: _Failed | None) -> None:
        """Count the call's end: answered or failed, and what a resumed call lost."""
        counters = self.metrics.counters
        if failure is None and ledger.error is not None:
            failure = _Failed("mcp_jsonrpc_error", f"tools/call {self.spec.tool}: {ledger.error}")
        if failure is None and not ledger.answered:
            failure = _Failed("mcp_not_answered", f"request {ledger.request_id}: no response")
        if ledger.interrupted:
            counters["mcp_lost"] += ledger.lost(self._expected)
        elif failure is None and len(ledger.progress()) > len(self._expected):
            self._expected = ledger.progress()
        if failure is None:
            counters["mcp_answered"] += 1
        else:
            counters["mcp_failed_calls"] += 1
            self._failed(failure.key, failure.words)
        self._row("call", started, None if failure is None else f"{failure.key}: {failure.words}")
        self._ended.append(ledger)
        if len(self._ended) > _REMEMBERED:
            old = self._ended.popleft()
            self._by_token.pop(old.token, None)
            self._by_id.pop(old.request_id, None)

    # -- HTTP ---------------------------------------------------------------------------------

    def _headers(
        self, *, post: bool, last_event_id: str | None = None
    ) -> tuple[tuple[str, str], ...]:
        """The user's headers, then what MCP asks for (unless the user gave it)."""
        given = self.spec.stream.headers
        names = {name.lower() for name, _ in given}
        own = [("Accept", mcp.ACCEPT_BOTH if post else "text/event-stream")]
        if self.session_id is not None:
            own.append((mcp.SESSION_HEADER, self.session_id))
        if mcp.at_least(self.version, "2025-06-18"):
            own.append((mcp.VERSION_HEADER, self.version))
        if last_event_id:
            own.append(("Last-Event-ID", last_event_id))
        return (*given, *((n, v) for n, v in own if n.lower() not in names))

    def _tls(self) -> ssl.SSLContext | None:
        spec = self.spec.stream
        return tls_context(spec.cafile, spec.insecure) if self.endpoint.tls else None

    def _connect(
        self,
        method: str,
        headers: tuple[tuple[str, str], ...],
        body: bytes | None,
        deadline: float,
    ) -> StreamConnection:
        """Send the request and read the response head (its time into ``connect``)."""
        spec = self.spec.stream
        begun = time.perf_counter()
        where = self.endpoint.netloc
        try:
            connection = StreamConnection(
                self.endpoint,
                method=method,
                headers=headers,
                body=body,
                timeout_s=min(spec.timeout_s, max(deadline - begun, 0.001)),
                context=self._tls(),
            )
        except TLSHandshakeError as exc:
            raise _Failed("tls", str(exc)) from None
        except ConnectionRefusedError:
            raise _Failed("refused", f"{where}: connection refused") from None
        except HeadTimeoutError as exc:
            raise _Failed("no_head", str(exc)) from None
        except HeadTooLargeError as exc:
            raise _Failed("head_too_large", str(exc)) from None
        except (OSError, HTTPParseError) as exc:
            raise _Failed("connect_failed", f"{where}: {exc or type(exc).__name__}") from None
        self.metrics.histograms["connect"].record(connection.headers_at - begun)
        return connection

    def _check(self, connection: StreamConnection, what: str) -> None:
        status = connection.status
        if status == 200:
            return
        if status == 404 and self.session_id is not None:
            raise _SessionGone(
                "mcp_session_expired", f"{what} got 404 in session {self.session_id[:40]!r}"
            )
        raise _Failed(f"status_{status}", f"{what} answered {status}")

    def _batches(
        self, connection: StreamConnection, parser: Parser, deadline: float
    ) -> Iterator[tuple[list[Event], float]]:
        """The events of a body as they complete, with when (``perf_counter``); ends with the
        body. ``_Failed`` at the time bound or after ``timeout_s`` without a byte, ``_Cut`` when
        the connection breaks off."""
        timeout_s = self.spec.stream.timeout_s
        quiet_since = time.perf_counter()
        while True:
            try:
                pieces = connection.read_ready()
            except (OSError, HTTPParseError):
                raise _Cut from None
            now = time.perf_counter()
            if pieces is None:
                return
            if pieces:
                quiet_since = now
                self.metrics.counters["bytes"] += sum(len(piece) for piece in pieces)
                events: list[Event] = []
                try:
                    for piece in pieces:
                        events += parser.feed(piece)
                except StreamLimitError as exc:
                    key = "line_too_long" if exc.limit == "max_line" else "event_too_large"
                    raise _Failed(key, str(exc)) from None
                if events:
                    yield events, now
                if connection.complete:
                    return
                continue
            wait = min(quiet_since + timeout_s, deadline) - now
            if wait <= 0:
                if now >= deadline:
                    raise _Failed(
                        "deadline",
                        f"the call's time bound ({self.spec.stream.max_seconds:g} s) passed",
                    )
                raise _Failed("stalled", f"no bytes for {timeout_s:g} s on an open stream")
            try:
                wait_read(connection.fileno(), timeout=wait)
            except TimeoutError:
                continue

    def _answer_on_stream(
        self, connection: StreamConnection, request_id: int, deadline: float, begun: float
    ) -> mcp.Message | None:
        """The response to ``request_id`` on an event stream (None if it ended without one)."""
        first = True
        try:
            for events, at in self._batches(connection, Parser(), deadline):
                if first:
                    self.metrics.histograms["ttfe"].record(at - begun)
                    first = False
                self.metrics.counters["events"] += len(events)
                self.metrics.events_per_s[int(time.time())] += len(events)
                for event in events:
                    if not event.data:
                        continue
                    message = mcp.read_message(event.data)
                    if message.kind in ("response", "error") and message.id == request_id:
                        return message
        except _Cut:
            pass
        return None

    def _json_body(self, connection: StreamConnection, deadline: float) -> mcp.Message:
        """A whole JSON answer (bounded), read as one JSON-RPC message."""
        parts: list[bytes] = []
        size = 0
        timeout_s = self.spec.stream.timeout_s
        while True:
            try:
                pieces = connection.read_ready()
            except (OSError, HTTPParseError) as exc:
                raise _Failed("connection_lost", f"a JSON answer broke off: {exc}") from None
            if pieces is None:
                break
            parts += pieces
            size += sum(len(piece) for piece in pieces)
            if size > _MAX_JSON:
                raise _Failed("event_too_large", f"a JSON answer over {_MAX_JSON >> 20} MiB")
            if connection.complete:
                break
            if not pieces:
                wait = min(timeout_s, deadline - time.perf_counter())
                if wait <= 0:
                    raise _Failed("stalled", "a JSON answer stopped before its end")
                try:
                    wait_read(connection.fileno(), timeout=wait)
                except TimeoutError:
                    raise _Failed("stalled", "a JSON answer stopped before its end") from None
        self.metrics.counters["bytes"] += size
        return mcp.read_message(b"".join(parts).decode("utf-8", "replace"))

    # -- records ------------------------------------------------------------------------------

    def _record(self, name: str, seconds: float) -> None:
        self.metrics.histogram(name).record(seconds)

    def _failed(self, key: str, words: str) -> None:
        self.metrics.counters["errors"] += 1
        self.metrics.stream_failed(key, words)

    def _row(self, kind: str, begun: float, error: str | None) -> None:
        if self.listener is not None:
            self.listener.exchanged(kind, time.perf_counter() - begun, error)
