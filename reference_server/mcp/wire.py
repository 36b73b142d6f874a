"""ASGI stages that rewrite what the SDK's transports say on the wire: one that every MCP route
runs (:func:`drop_connection_header`), and the faults the SDK cannot be configured into. Each
takes an ASGI app and returns it wrapped.

The transport writes through sse-starlette, which sends each SSE event as one body message
(``id: ...\\r\\ndata: ...\\r\\n\\r\\n``), so an event is edited where it passes, whole.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "Stage",
    "drop_connection_header",
    "response_on_get",
    "spaced_session_id",
    "strip_priming",
]

#: Wraps an ASGI app.
Stage = Callable[[ASGIApp], ASGIApp]

_SEP = b"\r\n"
_SESSION = b"mcp-session-id"
#: ``response_on_get``: a JSON-RPC response (to the initialize, id 1) on a stream that resumes
#: nothing.
STRAY_RESPONSE = b'event: message\r\ndata: {"jsonrpc":"2.0","id":1,"result":{}}\r\n\r\n'


def _header(headers: list[tuple[bytes, bytes]], name: bytes) -> bytes | None:
    return next((value for key, value in headers if key.lower() == name), None)


def _is_event_stream(start: Message) -> bool:
    return (_header(start["headers"], b"content-type") or b"").startswith(b"text/event-stream")


def drop_connection_header(app: ASGIApp) -> ASGIApp:
    """Every MCP response without ``Connection: keep-alive``, which the SDK's transports (and
    sse-starlette under them) set on every event stream: redundant over HTTP/1.1, and over
    HTTP/2 a malformed response that strict clients reset (S-22, RFC 9113 8.2.2), where the
    reference server is served under hypercorn with ``--http2``."""

    async def stage(scope: Scope, receive: Receive, send: Send) -> None:
        async def send_without(message: Message) -> None:
            if message["type"] == "http.response.start":
                kept = [(k, v) for k, v in message["headers"] if k.lower() != b"connection"]
                message = {**message, "headers": kept}
            await send(message)

        await app(scope, receive, send_without)

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

    async def stage(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope = {
                **scope,
                "headers": _edit_session(scope["headers"], lambda v: v.replace(b" ", b"")),
            }

        async def send_spaced(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": _edit_session(message["headers"], _spaced)}
            await send(message)

        await app(scope, receive, send_spaced)

    return stage


def _spaced(session_id: bytes) -> bytes:
    return session_id[:8] + b" " + session_id[8:]


def _edit_session(
    headers: list[tuple[bytes, bytes]], edit: Callable[[bytes], bytes]
) -> list[tuple[bytes, bytes]]:
    return [(key, edit(value) if key.lower() == _SESSION else value) for key, value in headers]
