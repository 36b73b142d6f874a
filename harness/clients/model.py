"""The client-case model: what the fuzzing server sends, and what a conforming client makes of it.

A case is data, not code: the exact bytes of each response (status, headers, body chunks with the
delay before each, how the body ends), indexed by request order within the case, and an
:class:`Expect` saying what a conforming client observes. One grader (:mod:`.grader`) reads every
case, so a rule is checked the same way for every client.

Responses are served by request order, whatever the path: request 0 gets ``responses[0]``, a
redirected or reconnecting request gets the next one, and a request beyond the script gets an
empty stream held open (:data:`IDLE`), so a client that reconnects more than it should is seen
(and recorded) without being pushed into a failure the case did not script.

A ``client.llm.*`` case also carries an :class:`SdkExpect`: what the user's code receives when
an LLM SDK's own streaming call reads the same bytes (the text deltas, and the API error the SDK
raises for an error event). An SDK column is graded on that; every other column on the events.
A ``client.mcp.*`` case carries an :class:`McpExpect` the same way: what an MCP SDK's user gets
from a tools/call whose response stream (and its resumes) are the case's bytes, and what the SDK
must ask of the server to get it (:mod:`.mcp_cases`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal

from harness.outcome import Level
from harness.stream import Event, Parser

__all__ = [
    "CASE_PATH",
    "IDLE",
    "STREAM_HEADERS",
    "Api",
    "ClientCase",
    "End",
    "Expect",
    "HeaderExpect",
    "McpExpect",
    "McpProgress",
    "Piece",
    "Response",
    "SdkExpect",
]

#: Placeholder in a response header value: the path of the case for this run (redirect targets).
CASE_PATH = "{case}"

End = Literal["hold", "close", "abort"]
"""How a response body ends: ``hold`` keeps it open until the cell ends; ``close`` ends it
normally (a conforming client reconnects); ``abort`` drops the connection mid-body (a network
error, also reconnected)."""

STREAM_HEADERS: tuple[tuple[str, str], ...] = (("Content-Type", "text/event-stream"),)

Api = Literal["openai", "anthropic", "mcp"]
"""The APIs an SDK column speaks: the LLM streaming APIs whose shapes the ``client.llm.*`` cases
carry (OpenAI chat completions, Anthropic messages), and MCP's Streamable HTTP transport, whose
tools/call the ``client.mcp.*`` cases answer."""


@dataclass(frozen=True, slots=True)
class Piece:
    """Bytes written (and flushed) as one HTTP chunk, after waiting ``delay`` seconds."""

    data: bytes
    delay: float = 0.0

    def __post_init__(self) -> None:
        if not self.data:
            raise ValueError("an empty chunk would end a chunked body")
        if self.delay < 0:
            raise ValueError("delay must be >= 0")


@dataclass(frozen=True, slots=True)
class Response:
    """One scripted response. ``stream`` says whether a conforming client reads this body as the
    event stream (status 200 and an event-stream Content-Type); the catalog sets it, so the
    cross-check with the parser never has to re-derive the status and MIME rules."""

    status: int = 200
    headers: tuple[tuple[str, str], ...] = STREAM_HEADERS
    body: tuple[Piece, ...] = ()
    end: End = "hold"
    stream: bool = True


#: What a request beyond a case's script gets: an empty stream held open until the cell ends.
IDLE = Response()


@dataclass(frozen=True, slots=True)
class HeaderExpect:
    """A request header check: request ``request`` (0 = first) carries ``name`` with exactly
    ``value`` (UTF-8 bytes on the wire), or does not carry it when ``value`` is None. With
    ``token`` the value is one of the header's comma-separated, case-insensitive tokens."""

    request: int
    name: str
    value: str | None
    token: bool = False


@dataclass(frozen=True, slots=True)
class Expect:
    """The observation of a conforming client. A field left at None is not checked.

    * ``events``: exactly these events, in order, over all connections.
    * ``fails``: True, the client signals failure (error or exception), announces no open and
      dispatches nothing; False, it signals no failure (an error while reconnecting is allowed).
    * ``requests``: exactly this many requests within the bound (the cell then runs to the bound
      unless the client ends by itself); ``min_requests``: at least this many.
    * ``paths``: the path of each request relative to the case path (``""``, ``"/redirected"``).
    * ``method``: the method of every request.
    * ``dispatch_within``: each expected event is observed within this many seconds of the chunk
      that completes it (as :class:`harness.stream.Parser` sees the chunks).
    * ``open_within``: the open is announced within this many seconds of the response headers.
    * ``reconnect_after``: request 1 arrives within (min, max) seconds of response 0's end; with
      max None, it may also not come at all (only an early reconnect is a deviation).
    """

    events: tuple[Event, ...] | None = ()
    fails: bool | None = False
    requests: int | None = None
    min_requests: int | None = None
    paths: tuple[str, ...] | None = None
    method: str | None = None
    headers: tuple[HeaderExpect, ...] = ()
    dispatch_within: float | None = None
    open_within: float | None = None
    reconnect_after: tuple[float, float | None] | None = None


@dataclass(frozen=True, slots=True)
class SdkExpect:
    """What the user's code receives from ``api``'s SDK streaming call on a case's bytes.

    ``deltas``: exactly these text deltas, in order (what the user prints or appends).
    ``raises``: None, the call returns normally once the body ends; a string, the call raises an
    error whose message carries it (the SDK's documented answer to an error event, after
    ``deltas``). Anything else raised is a failure on a legal stream, with the error as evidence.
    """

    api: Api
    deltas: tuple[str, ...]
    raises: str | None = None


@dataclass(frozen=True, slots=True)
class McpProgress:
    """One progress notification as the user's progress callback receives it."""

    progress: float
    total: float | None = None
    message: str | None = None


@dataclass(frozen=True, slots=True)
class McpExpect:
    """What an MCP SDK's user gets from a tools/call answered with a case's bytes, and what the
    SDK must send to get it. ``responses[0]`` is the tools/call's response stream and
    ``responses[k]`` the answer to its k-th resume (a GET after that stream ended).

    * ``progress``: exactly these notifications reach the progress callback, in order.
    * ``result``: the call returns a result whose text content is this; None, the call must fail
      (raise) by itself, since no response can come.
    * ``resumes``: the Last-Event-ID each resume GET carries, in order, and no resume beyond.
    * ``retry``: the reconnection time the stream sets (seconds): each resume comes that long
      after the stream it resumes ended, within the MCP conformance suite's tolerance.
    * ``answers``: ids of requests the server sends on the stream, which the client answers.
    * ``result_within``: the result reaches the user's code within this many seconds of the
      chunk that completes it (the stream stays open after it).
    """

    progress: tuple[McpProgress, ...]
    result: str | None
    resumes: tuple[str, ...] = ()
    retry: float | None = None
    answers: tuple[str, ...] = ()
    result_within: float | None = None


@dataclass(frozen=True, slots=True)
class ClientCase:
    """One client case: a stable id, the SPEC rules it checks, the script and the verdict.

    ``level`` decides the outcome of a deviation (:func:`harness.outcome.grade`); an
    ``informational`` case reports what it saw without a verdict (implementation-defined rules).
    ``bound`` is the most time a client gets; a client still running then is graded on what it
    did by then.
    """

    id: str
    title: str
    rules: tuple[str, ...]
    responses: tuple[Response, ...]
    expect: Expect = field(default_factory=Expect)
    level: Level = Level.MUST
    informational: bool = False
    bound: float = 3.0
    sdk: SdkExpect | None = None
    mcp: McpExpect | None = None

    def response(self, index: int) -> Response:
        return self.responses[index] if index < len(self.responses) else IDLE

    @property
    def needs_connection(self) -> bool:
        """The case grades what a connection does (status and type checks, requests, redirects,
        reconnects, open), not only what a decoder makes of one stream body; a decoder-only
        column cannot be graded on it."""
        expect = self.expect
        connection = (
            expect.requests,
            expect.min_requests,
            expect.paths,
            expect.method,
            expect.open_within,
            expect.reconnect_after,
        )
        return (
            len(self.responses) != 1
            or not self.responses[0].stream
            or expect.fails is not False
            or bool(expect.headers)
            or any(value is not None for value in connection)
        )

    @property
    def runs_to_bound(self) -> bool:
        """A case that counts requests must watch for a late reconnect, so it does not stop
        early when the client falls quiet; it ends when the client ends, or at the bound."""
        return self.expect.requests is not None

    def parsed(self) -> Iterator[tuple[int, int, Event]]:
        """(response index, chunk index, event) for every event a conforming client dispatches:
        the stream responses fed chunk by chunk to the one parser, the last event ID carried over
        reconnects (C-D1) and a pending event dropped at each body's end (C-P7)."""
        last_event_id = ""
        for r, response in enumerate(self.responses):
            if not response.stream:
                continue
            parser = Parser(last_event_id=last_event_id)
            for c, chunk in enumerate(response.body):
                for event in parser.feed(chunk.data):
                    yield r, c, event
            parser.close()
            last_event_id = parser.last_event_id

    def event_types(self) -> list[str]:
        """Event types worth listening for: what the parser finds in every body, stream or not,
        so a client that wrongly parses a refused body is still heard. EventSource APIs deliver a
        named type only to a listener registered for it, so their adapters need this list."""
        types = {"message"}
        for response in self.responses:
            parser = Parser()
            for chunk in response.body:
                types.update(event.type for event in parser.feed(chunk.data))
        return sorted(types)
