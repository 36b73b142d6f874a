"""ASGI stages that rewrite what the SDK's transports say on the wire: one that every MCP route
runs (:func:`drop_connection_header`), and the faults the SDK cannot be configured into. Each
takes an ASGI app and returns it wrapped.

The transport writes through sse-starlette, which sends each SSE event as one body message
(``id: ...\\r\\ndata: ...\\r\\n\\r\\n``), so an event is edited where it passes, whole; the
2026-07-28 entry writes its events one body message each as well.

The SDK routes a request by its ``MCP-Protocol-Version`` (:func:`_stateless`): a handshake
revision, or none, goes to the session's transport, anything else to the stateless 2026-07-28
entry. A stage that breaks a rule of one of the two leaves the other's requests alone.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from mcp.types.version import HANDSHAKE_PROTOCOL_VERSIONS, MODERN_PROTOCOL_VERSIONS
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "Stage",
    "body_on_accepted",
    "drop_connection_header",
    "drop_origin",
    "drop_unknown_version",
    "get_not_found",
    "ignore_delete",
    "latest_session",
    "rename_endpoint",
    "response_on_get",
    "spaced_session_id",
    "split_progress",
    "stateless_get_stream",
    "strip_priming",
    "text_plain_answers",
]

#: Wraps an ASGI app.
Stage = Callable[[ASGIApp], ASGIApp]

_SEP = b"\r\n"
_SESSION = b"mcp-session-id"
_VERSION = b"mcp-protocol-version"
#: ``response_on_get``: a JSON-RPC response (to the initialize, id 1) on a stream that resumes
#: nothing.
STRAY_RESPONSE = b'event: message\r\ndata: {"jsonrpc":"2.0","id":1,"result":{}}\r\n\r\n'
#: ``notification_body``: the body a notification is answered with.
ACCEPTED_BODY = b'{"accepted":true}'
#: ``stateless_get_stream``: all the stateless revision's GET stream says before it ends.
STATELESS_STREAM = b": no messages here\r\n\r\n"
_PROGRESS = b'"method":"notifications/progress"'
_SPOKEN = {v.encode() for v in (*HANDSHAKE_PROTOCOL_VERSIONS, *MODERN_PROTOCOL_VERSIONS)}


def _header(headers: list[tuple[bytes, bytes]], name: bytes) -> bytes | None:
    return next((value for key, value in headers if key.lower() == name), None)


def _is_event_stream(start: Message) -> bool:
    return (_header(start["headers"], b"content-type") or b"").startswith(b"text/event-stream")


def _stateless(scope: Scope) -> bool:
    """Whether the SDK serves this request as the stateless revision's: its
    ``MCP-Protocol-Version`` names no handshake revision (the SDK's manager routes the same)."""
    version = _header(scope["headers"], _VERSION)
    return version is not None and version.decode("latin-1") not in HANDSHAKE_PROTOCOL_VERSIONS


def _editing_start(send: Send, edit: Callable[[Message], Message]) -> Send:
    """``send``, with the response head passed through ``edit``."""

    async def edited(message: Message) -> None:
        if message["type"] == "http.response.start":
            message = edit(message)
        await send(message)

    return edited


def _answering(response: Response, applies: Callable[[Scope], bool]) -> Stage:
    """A stage that answers the requests ``applies`` to with ``response``, in the SDK's stead."""

    def wrap(app: ASGIApp) -> ASGIApp:
        async def stage(scope: Scope, receive: Receive, send: Send) -> None:
            await (response if applies(scope) else app)(scope, receive, send)

        return stage

    return wrap


def _with_headers(scope: Scope, keep: Callable[[bytes, bytes], bool]) -> Scope:
    """``scope`` with only the request headers ``keep`` (name, value) accepts."""
    return {**scope, "headers": [(k, v) for k, v in scope["headers"] if keep(k.lower(), v)]}


def drop_connection_header(app: ASGIApp) -> ASGIApp:
    """Every MCP response without ``Connection: keep-alive``, which the SDK's transports (and
    sse-starlette under them) set on every event stream: redundant over HTTP/1.1, and over
    HTTP/2 a malformed response that strict clients reset (S-22, RFC 9113 8.2.2), where the
    reference server is served under hypercorn with ``--http2``."""

    def without(start: Message) -> Message:
        kept = [(k, v) for k, v in start["headers"] if k.lower() != b"connection"]
        return {**start, "headers": kept}

    async def stage(scope: Scope, receive: Receive, send: Send) -> None:
        await app(scope, receive, _editing_start(send, without))

    return stage


def strip_priming(app: ASGIApp) -> ASGIApp:
    """``no_priming``: the priming event (an id and an empty data field) is taken out of every
    stream. Its ``retry:`` stays, as a block of its own (a field, no event), so this breaks
    M-04 alone: the client still learns when to reconnect, but has no id to resume with."""

    async def stage(scope: Scope, receive: Receive, send: Send) -> None:
        streaming = False

        async def send_unprimed(message: Message) -> None:
            nonlocal streaming
            if message["type"] == "http.response.start":
                streaming = _is_event_stream(message)
            elif message["type"] == "http.response.body" and streaming:
                message = {**message, "body": _unprimed(message.get("body", b""))}
            await send(message)

        await app(scope, receive, send_unprimed)

    return stage


def _unprimed(chunk: bytes) -> bytes:
    """``chunk`` without its priming events; a chunk that is not whole events is left alone."""
    if not chunk.endswith(_SEP + _SEP):
        return chunk
    out = []
    for block in chunk[: -2 * len(_SEP)].split(_SEP + _SEP):
        lines = block.split(_SEP)
        names = {line.partition(b":")[0] for line in lines}
        data = [line for line in lines if line.startswith(b"data:")]
        if b"id" in names and data and all(line.strip() == b"data:" for line in data):
            lines = [line for line in lines if line.startswith(b"retry:")]
        if lines:
            out.append(_SEP.join(lines) + _SEP + _SEP)
    return b"".join(out)


def response_on_get(app: ASGIApp) -> ASGIApp:
    """``response_on_get``: a GET stream that resumes nothing (no ``Last-Event-ID``) opens with
    a JSON-RPC response, :data:`STRAY_RESPONSE` (breaks M-08)."""

    async def stage(scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("method") != "GET" or _header(scope["headers"], b"last-event-id") is not None:
            await app(scope, receive, send)
            return

        async def send_with_response(message: Message) -> None:
            await send(message)
            if message["type"] == "http.response.start" and _is_event_stream(message):
                await send(
                    {"type": "http.response.body", "body": STRAY_RESPONSE, "more_body": True}
                )

        await app(scope, receive, send_with_response)

    return stage


def spaced_session_id(app: ASGIApp) -> ASGIApp:
    """``session_id_space``: the session id goes out with a space in it (``0123abcd 4567...``),
    and comes back in with the space taken out, so the session still works (breaks M-13)."""

    def spaced(start: Message) -> Message:
        return {**start, "headers": _edit_session(start["headers"], _spaced)}

    async def stage(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope = {
                **scope,
                "headers": _edit_session(scope["headers"], lambda v: v.replace(b" ", b"")),
            }
        await app(scope, receive, _editing_start(send, spaced))

    return stage


def _spaced(session_id: bytes) -> bytes:
    return session_id[:8] + b" " + session_id[8:]


def _edit_session(
    headers: list[tuple[bytes, bytes]], edit: Callable[[bytes], bytes]
) -> list[tuple[bytes, bytes]]:
    return [(key, edit(value) if key.lower() == _SESSION else value) for key, value in headers]


def text_plain_answers(app: ASGIApp) -> ASGIApp:
    """``post_text_plain``: every answer to a POST that the SDK labels ``application/json`` or
    ``text/event-stream`` goes out labelled ``text/plain; charset=utf-8``, its body unchanged
    (breaks M-01)."""

    def relabelled(start: Message) -> Message:
        label = _header(start["headers"], b"content-type") or b""
        if not label.startswith((b"application/json", b"text/event-stream")):
            return start
        kept = [(k, v) for k, v in start["headers"] if k.lower() != b"content-type"]
        return {**start, "headers": [*kept, (b"content-type", b"text/plain; charset=utf-8")]}

    async def stage(scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("method") == "POST":
            send = _editing_start(send, relabelled)
        await app(scope, receive, send)

    return stage


def body_on_accepted(app: ASGIApp) -> ASGIApp:
    """``notification_body``: a POST the SDK accepts with 202 and no body (one that carries only
    a notification or a response) is answered 200 with :data:`ACCEPTED_BODY`, as JSON
    (breaks M-02)."""

    async def stage(scope: Scope, receive: Receive, send: Send) -> None:
        accepted = False

        async def send_answered(message: Message) -> None:
            nonlocal accepted
            if message["type"] == "http.response.start" and message["status"] == 202:
                accepted = True
                kept = [
                    (k, v)
                    for k, v in message["headers"]
                    if k.lower() not in (b"content-type", b"content-length")
                ]
                length = str(len(ACCEPTED_BODY)).encode()
                headers = [(b"content-type", b"application/json"), (b"content-length", length)]
                message = {**message, "status": 200, "headers": [*kept, *headers]}
            elif message["type"] == "http.response.body" and accepted:
                # Starlette sends a Response's whole (here empty) body in one message.
                message = {**message, "body": ACCEPTED_BODY}
            await send(message)

        await app(scope, receive, send_answered)

    return stage


#: ``get_404``: a GET that opens the session's own stream (no ``Last-Event-ID``) is answered
#: 404; a resume is served (breaks M-03).
get_not_found = _answering(
    Response("Not Found", status_code=404, media_type="text/plain"),
    lambda scope: (
        scope.get("method") == "GET"
        and _header(scope["headers"], b"last-event-id") is None
        and not _stateless(scope)
    ),
)

#: ``delete_ignored``: a DELETE is answered 200 without reaching the SDK, so the session it
#: ends lives on (breaks M-15).
ignore_delete = _answering(
    Response(status_code=200),
    lambda scope: scope.get("method") == "DELETE" and not _stateless(scope),
)

#: ``stateless_get_stream``: a GET of the stateless revision opens an event stream that says
#: :data:`STATELESS_STREAM` (a comment) and ends, where the SDK answers 405 (breaks M-20).
stateless_get_stream = _answering(
    Response(STATELESS_STREAM, media_type="text/event-stream"),
    lambda scope: scope.get("method") == "GET" and _stateless(scope),
)


def split_progress(app: ASGIApp) -> ASGIApp:
    """``split_message``: the first progress notification of each session goes out cut in
    half, over two events: the first half of its data in an event without an id, the rest in
    the event as the SDK sent it (its id kept). Neither event's data is one JSON-RPC message
    (breaks M-05). Once per session, so two streams of one session never carry the same half;
    a request of the stateless revision, which has no session, is a session of its own. The
    answers to initialize and tools/list carry no progress, and stay whole."""
    split: set[bytes] = set()

    async def stage(scope: Scope, receive: Receive, send: Send) -> None:
        session = _header(scope["headers"], _SESSION)
        streaming, pending = False, True

        async def send_split(message: Message) -> None:
            nonlocal streaming, pending
            if message["type"] == "http.response.start":
                streaming = _is_event_stream(message)
            elif (
                streaming
                and pending
                and _PROGRESS in message.get("body", b"")
                and (session is None or session not in split)
            ):
                pending = False
                if session is not None:
                    split.add(session)
                message = {**message, "body": _halved(message["body"])}
            await send(message)

        await app(scope, receive, send_split)

    return stage


def _halved(event: bytes) -> bytes:
    """One whole event (a single data line) as two: the first half of its data alone, without
    the id, then the event with the second half."""
    lines = event.removesuffix(_SEP + _SEP).split(_SEP)
    data = next(line for line in lines if line.startswith(b"data: ")).removeprefix(b"data: ")
    cut = len(data) // 2

    def holding(part: bytes, *, with_id: bool) -> bytes:
        kept = [
            b"data: " + part if line.startswith(b"data:") else line
            for line in lines
            if with_id or not line.startswith(b"id:")
        ]
        return _SEP.join(kept) + _SEP + _SEP

    return holding(data[:cut], with_id=False) + holding(data[cut:], with_id=True)


def latest_session(app: ASGIApp) -> ASGIApp:
    """``session_optional``: a request without ``Mcp-Session-Id``, other than an initialize, is
    given the session id the latest initialize was answered with, so it is served where the
    SDK answers 400 (breaks M-14). The stateless revision, which has no sessions, is left
    alone."""
    latest: bytes | None = None

    async def stage(scope: Scope, receive: Receive, send: Send) -> None:
        initialize = False
        if _header(scope["headers"], _SESSION) is None and not _stateless(scope):
            if scope.get("method") == "POST":
                body, receive = await _buffered(receive)
                initialize = _is_initialize(body)
            if not initialize and latest is not None:
                scope = {**scope, "headers": [*scope["headers"], (_SESSION, latest)]}

        async def send_noting(message: Message) -> None:
            nonlocal latest
            if initialize and message["type"] == "http.response.start":
                latest = _header(message["headers"], _SESSION) or latest
            await send(message)

        await app(scope, receive, send_noting)

    return stage


async def _buffered(receive: Receive) -> tuple[bytes, Receive]:
    """The request body, read whole, and a ``receive`` that hands it on as one message."""
    chunks = []
    while (message := await receive())["type"] == "http.request":
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    body, replayed = b"".join(chunks), False

    async def replay() -> Message:
        nonlocal replayed
        if replayed:
            return await receive()
        replayed = True
        return {"type": "http.request", "body": body, "more_body": False}

    return body, replay


def _is_initialize(body: bytes) -> bool:
    try:
        message = json.loads(body)
    except ValueError:
        return False
    return isinstance(message, dict) and message.get("method") == "initialize"


def drop_unknown_version(app: ASGIApp) -> ASGIApp:
    """``version_unchecked``: an ``MCP-Protocol-Version`` that names no revision the SDK speaks
    is taken out before the SDK sees it. The SDK then takes the request for one without the
    header (2025-03-26, the transport's default) and serves it where it answers 400
    (breaks M-16)."""

    def known(name: bytes, value: bytes) -> bool:
        return name != _VERSION or value in _SPOKEN

    async def stage(scope: Scope, receive: Receive, send: Send) -> None:
        await app(_with_headers(scope, known), receive, send)

    return stage


def drop_origin(app: ASGIApp) -> ASGIApp:
    """``origin_unchecked``: the ``Origin`` header is taken out before the SDK's check, so a
    request from any page is served where the SDK answers 403 (breaks M-17). The Host check
    stays."""

    async def stage(scope: Scope, receive: Receive, send: Send) -> None:
        await app(_with_headers(scope, lambda name, _value: name != b"origin"), receive, send)

    return stage


def rename_endpoint(app: ASGIApp) -> ASGIApp:
    """``legacy_no_endpoint`` (the legacy HTTP+SSE stream): the first event, ``endpoint``, goes
    out as ``event: hello``, its data (the URI to POST to) unchanged (breaks M-18)."""

    async def stage(scope: Scope, receive: Receive, send: Send) -> None:
        renamed = False

        async def send_renamed(message: Message) -> None:
            nonlocal renamed
            body = message.get("body", b"")
            if message["type"] == "http.response.body" and not renamed and body:
                renamed = True
                message = {**message, "body": _renamed(body)}
            await send(message)

        await app(scope, receive, send_renamed)

    return stage


def _renamed(event: bytes) -> bytes:
    return event.replace(b"event: endpoint" + _SEP, b"event: hello" + _SEP, 1)
