"""harness.client.EventSource against real servers on loopback (SPEC.md C-R*, C-H*).

Servers are aiohttp apps (or, where aiohttp would fix the bytes for us, a raw asyncio server) on a
free 127.0.0.1 port. Synchronisation is by asyncio.Event, never by sleeping; reconnect tests keep
``retry`` at a few milliseconds, and every source has a short overall timeout so a broken client
fails a test instead of hanging it.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from multidict import CIMultiDictProxy

from harness.client import (
    ConnectionTrace,
    EventSource,
    SSEConnectionError,
    SSEContentTypeError,
    SSELimitError,
    SSEReconnectLimitError,
    SSEStatusError,
    SSETimeoutError,
)
from harness.stream import Event

Handler = Callable[[web.Request, int], Awaitable[web.StreamResponse]]
TIMEOUT = 5.0  # upper bound for any source in this file; tests finish far sooner


@dataclass
class Seen:
    method: str
    path: str
    headers: CIMultiDictProxy[str]
    body: bytes


@dataclass
class Server:
    """One aiohttp server; tests register a handler per path, called with the request number."""

    handlers: dict[str, Handler] = field(default_factory=dict)
    requests: list[Seen] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    test_server: TestServer | None = None

    async def dispatch(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        self.requests.append(Seen(request.method, request.path, request.headers, body))
        n = self.counts.get(request.path, 0)
        self.counts[request.path] = n + 1
        handler = self.handlers.get(request.path)
        if handler is None:
            return web.Response(status=404)
        return await handler(request, n)

    def url(self, path: str = "/") -> str:
        assert self.test_server is not None
        return str(self.test_server.make_url(path))

    @property
    def paths(self) -> list[str]:
        return [r.path for r in self.requests]


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    srv = Server()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", srv.dispatch)
    srv.test_server = TestServer(app, host="127.0.0.1")
    await srv.test_server.start_server()
    yield srv
    await srv.test_server.close()


async def respond(
    request: web.Request,
    *parts: bytes,
    content_type: str = "text/event-stream",
    status: int = 200,
) -> web.StreamResponse:
    """A streamed response: each part is one write (one HTTP chunk), then a clean end."""
    resp = web.StreamResponse(status=status, headers={"Content-Type": content_type})
    await resp.prepare(request)
    for part in parts:
        await resp.write(part)
    await resp.write_eof()
    return resp


def stream(*parts: bytes, content_type: str = "text/event-stream") -> Handler:
    async def handler(request: web.Request, n: int) -> web.StreamResponse:
        return await respond(request, *parts, content_type=content_type)

    return handler


async def collect(source: EventSource, count: int | None = None) -> list[Event]:
    events: list[Event] = []
    async for event in source:
        events.append(event)
        if len(events) == count:
            break
    return events


# -- request -------------------------------------------------------------------------------------


async def test_first_request_headers(server: Server) -> None:
    server.handlers["/s"] = stream(b"data: hi\n\n")
    async with EventSource(server.url("/s"), reconnect=False, timeout=TIMEOUT) as source:
        events = await collect(source)
    assert events == [Event("message", "hi", "")]
    [seen] = server.requests
    assert seen.method == "GET"  # C-R1
    assert seen.headers["Accept"] == "text/event-stream"  # C-R2
    assert seen.headers["Cache-Control"] == "no-cache"  # C-R3
    assert "Last-Event-ID" not in seen.headers  # C-R4: empty on the first request


async def test_post_json_body_and_extra_headers_are_resent_on_reconnect(server: Server) -> None:
    server.handlers["/s"] = stream(b"retry: 1\nid: 1\ndata: x\n\n")
    async with EventSource(
        server.url("/s"),
        method="POST",
        body={"q": "é"},
        headers={"Authorization": "Bearer t", "accept": "text/event-stream, */*"},
        timeout=TIMEOUT,
    ) as source:
        await collect(source, 2)
    assert len(server.requests) == 2
    for seen in server.requests:
        assert seen.method == "POST"
        assert json.loads(seen.body) == {"q": "é"}
        assert seen.headers["Content-Type"] == "application/json"
        assert seen.headers["Authorization"] == "Bearer t"
        assert seen.headers.getall("Accept") == ["text/event-stream, */*"]  # overridden, once
    assert server.requests[1].headers["Last-Event-ID"] == "1"


async def test_seeded_last_event_id_is_sent_on_the_first_request(server: Server) -> None:
    server.handlers["/s"] = stream(b"data: x\n\n")
    async with EventSource(
        server.url("/s"), last_event_id="41", reconnect=False, timeout=TIMEOUT
    ) as source:
        [event] = await collect(source)
    assert server.requests[0].headers["Last-Event-ID"] == "41"
    assert event.last_event_id == "41"


# -- response status and content type ----------------------------------------------------------


@pytest.mark.parametrize("status", [201, 204, 205, 301, 302, 307, 404, 500, 503])
async def test_non_200_fails_without_reconnect(server: Server, status: int) -> None:
    # 3xx here carry no Location, so there is nothing to follow (C-H3, C-H7).
    async def handler(request: web.Request, n: int) -> web.StreamResponse:
        return web.Response(status=status, content_type="text/event-stream")

    server.handlers["/s"] = handler
    async with EventSource(server.url("/s"), default_retry_ms=1, timeout=TIMEOUT) as source:
        with pytest.raises(SSEStatusError) as info:
            await collect(source)
    assert info.value.status == status
    assert len(server.requests) == 1
    assert source.trace.connections[0].end == "status"
    assert source.trace.reconnects == []


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
async def test_redirect_is_followed_and_reconnect_uses_the_original_url(
    server: Server, status: int
) -> None:
    async def start(request: web.Request, n: int) -> web.StreamResponse:
        return web.Response(status=status, headers={"Location": "/moved"})

    async def moved(request: web.Request, n: int) -> web.StreamResponse:
        return await respond(request, f"retry: 1\nid: {n}\ndata: {n}\n\n".encode())

    server.handlers["/start"] = start
    server.handlers["/moved"] = moved
    async with EventSource(server.url("/start"), timeout=TIMEOUT) as source:
        events = await collect(source, 2)
    assert [e.data for e in events] == ["0", "1"]
    assert server.paths == ["/start", "/moved", "/start", "/moved"]  # C-R5
    assert server.requests[2].headers["Last-Event-ID"] == "0"
    conn = source.trace.connections[0]
    assert conn.redirects == 1
    assert conn.url is not None and conn.url.endswith("/moved")


async def test_too_many_redirects_fail_without_reconnect(server: Server) -> None:
    async def loop(request: web.Request, n: int) -> web.StreamResponse:
        return web.Response(status=302, headers={"Location": "/loop"})

    server.handlers["/loop"] = loop
    async with EventSource(server.url("/loop"), default_retry_ms=1, timeout=TIMEOUT) as source:
        with pytest.raises(SSEStatusError):
            await collect(source)
    # one attempt (aiohttp follows up to 10 redirects within it), no reconnect
    assert len(source.trace.connections) == 1 and source.trace.reconnects == []
    assert 1 < len(server.requests) <= 11


@pytest.mark.parametrize(
    "content_type",
    [
        "text/event-stream",
        "text/event-stream; charset=utf-8",
        "Text/Event-Stream;",
        "TEXT/EVENT-STREAM ; foo=bar",
        "text/event-stream;charset=windows-1252",  # ignored: the body is still UTF-8 (C-H4)
    ],
)
async def test_event_stream_content_types_are_accepted(server: Server, content_type: str) -> None:
    server.handlers["/s"] = stream("data: café ☃\n\n".encode(), content_type=content_type)
    async with EventSource(server.url("/s"), reconnect=False, timeout=TIMEOUT) as source:
        events = await collect(source)
    assert [e.data for e in events] == ["café ☃"]
    assert source.trace.connections[0].content_type == content_type


@pytest.mark.parametrize(
    "content_type", ["text/plain", "text/html", "application/json", "text/event-streams"]
)
async def test_other_content_types_fail_without_reconnect(
    server: Server, content_type: str
) -> None:
    server.handlers["/s"] = stream(b"data: x\n\n", content_type=content_type)
    async with EventSource(server.url("/s"), default_retry_ms=1, timeout=TIMEOUT) as source:
        with pytest.raises(SSEContentTypeError) as info:
            await collect(source)
    assert info.value.content_type == content_type
    assert len(server.requests) == 1


# A raw server for what aiohttp.web will not send: no Content-Type, a connection cut mid-chunk.
RawScript = Callable[[int, bytes, asyncio.StreamWriter], Awaitable[None]]


@dataclass
class RawServer:
    script: RawScript
    heads: list[bytes] = field(default_factory=list)
    port: int = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        self.heads.append(head)
        await self.script(len(self.heads) - 1, head, writer)
        writer.close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/raw"


async def raw_server(script: RawScript) -> tuple[RawServer, asyncio.Server]:
    raw = RawServer(script)
    srv = await asyncio.start_server(raw.handle, "127.0.0.1", 0)
    raw.port = srv.sockets[0].getsockname()[1]
    return raw, srv


async def test_missing_content_type_fails() -> None:
    async def script(n: int, head: bytes, writer: asyncio.StreamWriter) -> None:
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\nConnection: close\r\n\r\ndata: x\n\n"
        )
        await writer.drain()

    raw, srv = await raw_server(script)
    async with srv, EventSource(raw.url, default_retry_ms=1, timeout=TIMEOUT) as source:
        with pytest.raises(SSEContentTypeError) as info:
            await collect(source)
    assert info.value.content_type is None
    assert len(raw.heads) == 1


# -- reconnection --------------------------------------------------------------------------------


async def test_reconnect_after_normal_end_sends_last_event_id_and_waits_retry(
    server: Server,
) -> None:
    async def handler(request: web.Request, n: int) -> web.StreamResponse:
        if n == 0:
            return await respond(request, b"retry: 30\nid: 7\ndata: a\n\n")
        return await respond(request, b"data: b\n\n")

    server.handlers["/s"] = handler
    async with EventSource(server.url("/s"), timeout=TIMEOUT) as source:
        events = await collect(source, 2)
    assert events == [Event("message", "a", "7"), Event("message", "b", "7")]
    assert server.requests[1].headers["Last-Event-ID"] == "7"  # C-R4, C-H6
    first, second = source.trace.connections
    assert first.end == "eof" and first.ended_at is not None
    assert second.last_event_id == "7"
    [reconnect] = source.trace.reconnects
    assert reconnect.delay == pytest.approx(0.030)
    assert second.started - first.ended_at >= 0.030 - 1e-6  # C-H8: the server's retry was waited


async def test_default_retry_is_used_without_a_retry_field(server: Server) -> None:
    server.handlers["/s"] = stream(b"data: a\n\n")
    async with EventSource(server.url("/s"), default_retry_ms=20, timeout=TIMEOUT) as source:
        await collect(source, 2)
    first, second = source.trace.connections
    assert first.ended_at is not None
    assert source.trace.reconnects[0].delay == pytest.approx(0.020)
    assert second.started - first.ended_at >= 0.020 - 1e-6


async def test_id_reset_sends_no_last_event_id_on_reconnect(server: Server) -> None:
    async def handler(request: web.Request, n: int) -> web.StreamResponse:
        if n == 0:
            return await respond(request, b"retry: 1\nid: 7\ndata: a\n\nid\ndata: b\n\n")
        return await respond(request, b"data: c\n\n")

    server.handlers["/s"] = handler
    async with EventSource(server.url("/s"), timeout=TIMEOUT) as source:
        events = await collect(source, 3)
    assert [e.last_event_id for e in events] == ["7", "", ""]
    assert "Last-Event-ID" not in server.requests[1].headers  # C-R4: only when non-empty


async def test_unterminated_event_id_is_not_committed_for_the_reconnect(server: Server) -> None:
    async def handler(request: web.Request, n: int) -> web.StreamResponse:
        if n == 0:  # the second block never gets its blank line (C-P7)
            return await respond(request, b"retry: 1\nid: 1\ndata: a\n\nid: 2\ndata: lost\n")
        return await respond(request, b"data: b\n\n")

    server.handlers["/s"] = handler
    async with EventSource(server.url("/s"), timeout=TIMEOUT) as source:
        events = await collect(source, 2)
    assert [e.data for e in events] == ["a", "b"]
    assert server.requests[1].headers["Last-Event-ID"] == "1"


async def test_reconnect_after_network_error() -> None:
    async def script(n: int, head: bytes, writer: asyncio.StreamWriter) -> None:
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
            b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        )
        body = f"retry: 1\nid: {n}\ndata: {n}\n\n".encode()
        writer.write(b"%x\r\n%s\r\n" % (len(body), body))
        if n == 0:  # cut mid-chunk: a network error, not a clean end
            writer.write(b"40\r\ndata: never dispatched")
            await writer.drain()
            writer.transport.abort()
            return
        writer.write(b"0\r\n\r\n")
        await writer.drain()

    raw, srv = await raw_server(script)
    async with srv, EventSource(raw.url, timeout=TIMEOUT) as source:
        events = await collect(source, 2)
    assert [e.data for e in events] == ["0", "1"]
    assert b"\r\nlast-event-id: 0\r\n" in raw.heads[1].lower()  # C-H2 + C-R4
    assert source.trace.connections[0].end == "network"


async def test_last_event_id_is_sent_as_utf8() -> None:
    async def script(n: int, head: bytes, writer: asyncio.StreamWriter) -> None:
        body = "retry: 1\nid: é☃\ndata: x\n\n".encode()
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n"
            b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
        )
        await writer.drain()

    raw, srv = await raw_server(script)
    async with srv, EventSource(raw.url, timeout=TIMEOUT) as source:
        await collect(source, 2)
    assert "last-event-id: é☃\r\n".encode() in raw.heads[1].lower()  # C-R4: UTF-8


async def test_unsendable_last_event_id_fails_typed_instead_of_crashing(server: Server) -> None:
    # C-P10 keeps any id without NUL; aiohttp refuses control characters in a header value.
    server.handlers["/s"] = stream(b"retry: 1\nid: a\x01b\ndata: x\n\n")
    async with EventSource(server.url("/s"), timeout=TIMEOUT) as source:
        events: list[Event] = []
        with pytest.raises(SSEConnectionError, match="control character"):
            async for event in source:
                events.append(event)
    assert [e.last_event_id for e in events] == ["a\x01b"]
    assert len(server.requests) == 1


async def test_network_error_without_reconnect_raises() -> None:
    async def script(n: int, head: bytes, writer: asyncio.StreamWriter) -> None:
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
            b"Content-Length: 100\r\n\r\ndata: a\n\n"
        )
        await writer.drain()
        writer.transport.abort()

    raw, srv = await raw_server(script)
    async with srv, EventSource(raw.url, reconnect=False, timeout=TIMEOUT) as source:
        events: list[Event] = []
        with pytest.raises(SSEConnectionError) as info:
            async for event in source:
                events.append(event)
    assert [e.data for e in events] == ["a"]
    assert not isinstance(info.value, SSEReconnectLimitError)
    assert len(raw.heads) == 1


async def test_normal_end_without_reconnect_just_ends(server: Server) -> None:
    server.handlers["/s"] = stream(b"retry: 1\ndata: a\n\n")
    async with EventSource(server.url("/s"), reconnect=False, timeout=TIMEOUT) as source:
        events = await collect(source)
    assert [e.data for e in events] == ["a"]
    assert len(server.requests) == 1


async def test_max_reconnects_bounds_a_server_that_closes_at_once(server: Server) -> None:
    server.handlers["/s"] = stream()
    async with EventSource(
        server.url("/s"), default_retry_ms=1, max_reconnects=3, timeout=TIMEOUT
    ) as source:
        with pytest.raises(SSEReconnectLimitError) as info:
            await collect(source)
    assert info.value.reconnects == 3
    assert len(server.requests) == 4
    assert len(source.trace.reconnects) == 3


async def test_timeout_bounds_a_server_that_closes_at_once(server: Server) -> None:
    server.handlers["/s"] = stream(b"retry: 5\n\n")
    loop = asyncio.get_running_loop()
    started = loop.time()
    async with EventSource(server.url("/s"), max_reconnects=10**9, timeout=0.3) as source:
        with pytest.raises(SSETimeoutError):
            await collect(source)
    assert loop.time() - started < 0.3 + 0.5
    assert 2 <= len(server.requests) <= 100


async def test_timeout_bounds_a_silent_stream(server: Server) -> None:
    never = asyncio.Event()

    async def silent(request: web.Request, n: int) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        await resp.write(b"data: a\n\n")
        await never.wait()
        return resp

    server.handlers["/s"] = silent
    loop = asyncio.get_running_loop()
    started = loop.time()
    async with EventSource(server.url("/s"), timeout=0.3) as source:
        events: list[Event] = []
        with pytest.raises(SSETimeoutError):
            async for event in source:
                events.append(event)
    elapsed = loop.time() - started
    assert [e.data for e in events] == ["a"]
    assert 0.3 - 0.01 <= elapsed < 0.3 + 0.5
    assert len(server.requests) == 1
    assert source.trace.connections[0].end == "timeout"


async def test_idle_timeout_counts_as_a_network_error_and_reconnects(server: Server) -> None:
    never = asyncio.Event()

    async def handler(request: web.Request, n: int) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        await resp.write(f"retry: 1\nid: {n}\ndata: {n}\n\n".encode())
        await never.wait()
        return resp

    server.handlers["/s"] = handler
    async with EventSource(server.url("/s"), idle_timeout=0.05, timeout=TIMEOUT) as source:
        events = await collect(source, 2)
    assert [e.data for e in events] == ["0", "1"]
    assert source.trace.connections[0].end == "network"
    assert server.requests[1].headers["Last-Event-ID"] == "0"


async def test_parser_limit_fails_without_reconnect(server: Server) -> None:
    server.handlers["/s"] = stream(b"data: " + b"x" * 200 + b"\n\n")
    async with EventSource(
        server.url("/s"), max_line=100, default_retry_ms=1, timeout=TIMEOUT
    ) as source:
        with pytest.raises(SSELimitError) as info:
            await collect(source)
    assert info.value.limit == "max_line"
    assert len(server.requests) == 1


async def test_events_before_a_limit_breach_are_delivered_first(server: Server) -> None:
    server.handlers["/s"] = stream(b"data: ok\n\ndata: " + b"x" * 200 + b"\n\ndata: no\n\n")
    async with EventSource(
        server.url("/s"), max_event=100, default_retry_ms=1, timeout=TIMEOUT
    ) as source:
        events: list[Event] = []
        with pytest.raises(SSELimitError) as info:
            async for event in source:
                events.append(event)
    assert [e.data for e in events] == ["ok"]
    assert info.value.limit == "max_event"
    assert source.trace.connections[0].end == "limit"
    assert len(server.requests) == 1


# -- bytes on the wire ---------------------------------------------------------------------------


def two_part_handler(first: bytes, second: bytes, gate: asyncio.Event) -> Handler:
    """Send ``first``, wait until the test has seen its event, then send ``second``."""

    async def handler(request: web.Request, n: int) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        await resp.write(first)
        await gate.wait()
        await resp.write(second)
        await resp.write_eof()
        return resp

    return handler


def chunk_ends(trace_sizes: list[int]) -> list[int]:
    ends, total = [], 0
    for size in trace_sizes:
        total += size
        ends.append(total)
    return ends


async def test_utf8_split_across_chunks_arrives_intact(server: Server) -> None:
    gate = asyncio.Event()
    first = b"data: go\n\ndata: caf\xc3"  # the second byte of "é" comes in the next write
    server.handlers["/s"] = two_part_handler(first, b"\xa9 \xe2\x98\x83\n\n", gate)
    async with EventSource(server.url("/s"), reconnect=False, timeout=TIMEOUT) as source:
        events: list[Event] = []
        async for event in source:
            events.append(event)
            gate.set()
    assert [e.data for e in events] == ["go", "café ☃"]
    assert len(first) in chunk_ends(list(source.trace.chunk_sizes))  # the split did reach us


async def test_cr_at_chunk_end_then_lf_is_one_terminator(server: Server) -> None:
    gate = asyncio.Event()
    first = b"data: go\n\ndata: a\r"
    server.handlers["/s"] = two_part_handler(first, b"\ndata: b\r\n\r\n", gate)
    async with EventSource(server.url("/s"), reconnect=False, timeout=TIMEOUT) as source:
        events: list[Event] = []
        async for event in source:
            events.append(event)
            gate.set()
    # CR + LF counted twice would make a blank line and split "a" and "b" into two events.
    assert [e.data for e in events] == ["go", "a\nb"]
    assert len(first) in chunk_ends(list(source.trace.chunk_sizes))


async def test_cr_at_chunk_end_dispatches_at_once(server: Server) -> None:
    gate = asyncio.Event()
    # The second part is only sent once the test has seen "a": holding the final CR back would
    # deadlock until the source timeout.
    server.handlers["/s"] = two_part_handler(b"data: a\r\r", b"\ndata: b\n\n", gate)
    async with EventSource(server.url("/s"), reconnect=False, timeout=TIMEOUT) as source:
        events: list[Event] = []
        async for event in source:
            events.append(event)
            gate.set()
    assert [e.data for e in events] == ["a", "b"]


# -- closing -------------------------------------------------------------------------------------


async def test_leaving_async_with_closes_the_connection_without_reconnect(server: Server) -> None:
    disconnected = asyncio.Event()
    never = asyncio.Event()

    async def handler(request: web.Request, n: int) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        await resp.write(b"retry: 1\ndata: a\n\n")
        try:
            await never.wait()
        finally:  # aiohttp cancels the handler when the client goes away
            disconnected.set()
        return resp

    server.handlers["/s"] = handler
    async with EventSource(server.url("/s"), timeout=TIMEOUT) as source:
        async for event in source:
            assert event.data == "a"
            break
    async with asyncio.timeout(TIMEOUT):
        await disconnected.wait()
    assert len(server.requests) == 1  # C-H1
    assert source.closed
    [conn] = source.trace.connections
    assert conn.end == "closed"
    assert source.trace.reconnects == []


async def test_close_from_another_task_ends_a_pending_read(server: Server) -> None:
    never = asyncio.Event()

    async def handler(request: web.Request, n: int) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        await resp.write(b"retry: 1\ndata: a\n\n")
        await never.wait()
        return resp

    server.handlers["/s"] = handler
    async with EventSource(server.url("/s"), timeout=TIMEOUT) as source:
        events: list[Event] = []

        async def consume() -> None:
            async for event in source:
                events.append(event)
                # the close below happens while the consumer awaits the next read
                asyncio.get_running_loop().call_soon(asyncio.ensure_future, source.close())

        async with asyncio.timeout(TIMEOUT):
            await consume()  # returns normally: no exception, no reconnect
    assert [e.data for e in events] == ["a"]
    assert len(server.requests) == 1
    assert source.trace.connections[0].end == "closed"


async def test_close_during_the_reconnect_wait_stops_at_once(server: Server) -> None:
    server.handlers["/s"] = stream(b"retry: 60000\ndata: a\n\n")
    async with EventSource(server.url("/s"), timeout=120) as source:

        async def consume() -> list[Event]:
            return await collect(source)

        task = asyncio.ensure_future(consume())
        async with asyncio.timeout(TIMEOUT):
            while not source.trace.reconnects:  # yields to the loop until the wait began
                await asyncio.sleep(0)
        await source.close()
        async with asyncio.timeout(TIMEOUT):
            events = await task
    assert [e.data for e in events] == ["a"]
    assert len(server.requests) == 1


# -- trace ---------------------------------------------------------------------------------------


async def test_trace_orders_request_headers_chunks_and_events(server: Server) -> None:
    opened: list[ConnectionTrace] = []
    first_chunk_when_opened: list[float | None] = []

    def on_open(conn: ConnectionTrace) -> None:
        opened.append(conn)
        first_chunk_when_opened.append(conn.first_chunk_at)

    parts = (b"data: a\n\n", b": comment\n\n", b"id: 2\ndata: b\n\n")
    server.handlers["/s"] = stream(*parts)
    async with EventSource(
        server.url("/s"), reconnect=False, timeout=TIMEOUT, on_open=on_open
    ) as source:
        events = await collect(source)
    trace = source.trace
    [conn] = trace.connections
    assert opened == [conn] and first_chunk_when_opened == [None]  # C-H5: before the body
    assert trace.opened_at is not None and trace.closed_at is not None
    assert conn.headers_at is not None and conn.first_chunk_at is not None
    assert conn.first_event_at is not None and conn.ended_at is not None
    assert trace.opened_at <= conn.started < conn.headers_at < conn.first_chunk_at
    assert conn.first_chunk_at <= conn.first_event_at <= conn.ended_at <= trace.closed_at
    assert conn.status == 200
    assert list(trace.chunk_times) == sorted(trace.chunk_times)
    assert list(trace.event_times) == sorted(trace.event_times)
    assert trace.chunk_times[0] == conn.first_chunk_at
    assert trace.event_times[0] == conn.first_event_at
    assert len(trace.event_times) == conn.events == len(events) == 2
    assert sum(trace.chunk_sizes) == conn.nbytes == len(b"".join(parts))
    assert conn.chunks == len(trace.chunk_times)
    assert trace.ttfe == conn.ttfe == conn.first_event_at - conn.started
    assert trace.connect == conn.headers_at - conn.started
    assert len(trace.gaps()) == 1


async def test_trace_entries_are_capped_and_counted(server: Server) -> None:
    server.handlers["/s"] = stream(b"data: 1\n\ndata: 2\n\ndata: 3\n\n", b"data: 4\n\n")
    async with EventSource(
        server.url("/s"), reconnect=False, trace_limit=1, timeout=TIMEOUT
    ) as source:
        events = await collect(source)
    trace = source.trace
    assert len(events) == 4 and trace.events == 4
    assert len(trace.event_times) == 1 and trace.dropped_events == 3
    assert len(trace.chunk_times) == 1
    assert trace.dropped_chunks == trace.connections[0].chunks - 1


def test_iterating_outside_async_with_is_refused() -> None:
    with pytest.raises(RuntimeError):
        EventSource("http://127.0.0.1:9/").__aiter__()
    with pytest.raises(ValueError):
        EventSource("ftp://127.0.0.1/")
