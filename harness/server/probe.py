"""Bounded wire captures of one HTTP exchange, the evidence every server case reads.

A capture keeps what a black box shows: status, headers, every raw chunk with its arrival time,
and what the validating parser made of the body. It never decodes content on the client's behalf
silently: compression is recorded as received and undone only to parse, so a gzip case can see it.
Every capture is bounded in time, events and bytes, and a broken target ends it with a reason
(``aborted``, ``limit``, ``timeout``) instead of an exception or a hang.
"""

from __future__ import annotations

import asyncio
import ssl
import time
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urlsplit

import aiohttp
from multidict import CIMultiDict, CIMultiDictProxy

from harness.server.transport import Answer, Http1Transport, Transport
from harness.stream import Event, Parser, StreamLimitError, Violation, media_type

__all__ = ["Capture", "Chunk", "TimedEvent", "Window", "capture", "capture_head"]

EndReason = Literal["eof", "window", "aborted", "limit", "timeout", "refused", "no-body"]
#: Most bytes of a raw response head (status line and headers) ``capture_head`` reads.
MAX_HEAD_BYTES = 64 << 10


@dataclass(frozen=True, slots=True)
class Window:
    """How much of a stream one capture may read. All bounds apply; the first reached ends it."""

    max_events: int = 50
    max_seconds: float = 10.0
    max_bytes: int = 8 << 20
    connect_timeout: float = 5.0
    #: Longest wait for the response headers (a slow first byte beyond this is a timeout).
    header_timeout: float = 10.0
    #: End the read once nothing has arrived for this long (None: no such bound), so a read
    #: waiting to see whether a silence outlasts a limit stops as soon as it has.
    idle_seconds: float | None = None
    #: End the read once this many chunks carrying comment lines have arrived (None: no such
    #: bound), so a read waiting for keep-alives stops once it has seen their cadence.
    comment_chunks: int | None = None


@dataclass(frozen=True, slots=True)
class Chunk:
    t: float  # seconds since the request started
    data: bytes


@dataclass(frozen=True, slots=True)
class TimedEvent:
    t: float  # arrival of the chunk that completed it, seconds since the request started
    event: Event
    #: The id field of the event's own block, None when it had none (it inherited the last id).
    id_field: str | None = None


@dataclass(slots=True)
class Capture:
    url: str
    method: str
    request_headers: Mapping[str, str]
    status: int | None = None
    reason: str = ""
    http_version: str = ""
    headers: CIMultiDictProxy[str] = field(default_factory=lambda: CIMultiDictProxy(CIMultiDict()))
    redirects: list[tuple[int, str]] = field(default_factory=list)
    t_headers: float | None = None
    chunks: list[Chunk] = field(default_factory=list)
    events: list[TimedEvent] = field(default_factory=list)
    #: Arrival times of chunks that carried comment lines (keep-alives, S-16).
    comment_times: list[float] = field(default_factory=list)
    violations: list[Violation] = field(default_factory=list)
    violation_count: int = 0
    retry: int | None = None
    last_event_id: str = ""
    end: EndReason = "eof"
    error: str = ""
    duration: float = 0.0
    #: The body as the parser saw it (decompressed when the target compressed it).
    body: bytes = b""

    @property
    def raw(self) -> bytes:
        return b"".join(c.data for c in self.chunks)

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type", "")

    @property
    def media_type(self) -> str:
        return media_type(self.content_type)

    @property
    def content_encoding(self) -> str:
        return self.headers.get("Content-Encoding", "").strip().lower()


def _decompressor(encoding: str) -> zlib._Decompress | None:
    if encoding in ("gzip", "x-gzip"):
        return zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    if encoding == "deflate":
        return zlib.decompressobj(wbits=zlib.MAX_WBITS)
    return None


async def capture(
    client: Transport | aiohttp.ClientSession,
    url: str,
    *,
    method: str = "GET",
    headers: Mapping[str, str] | None = None,
    body: bytes | None = None,
    window: Window = Window(),
    read_body: bool = True,
    until: Callable[[TimedEvent], bool] | None = None,
    opened: asyncio.Event | None = None,
    stop: asyncio.Event | None = None,
) -> Capture:
    """Make one request and record the exchange within ``window``.

    ``client`` is the run's transport (HTTP/1.1 or HTTP/2), or an aiohttp session, which must
    be created with ``auto_decompress=False`` so the raw bytes are evidence. ``until`` ends the
    read at the first event it accepts (an MCP stream that stays open after the response the
    read waited for), as the window's bounds do; ``opened`` is set once the response head is in
    (or the request failed), for an exchange that must be open before another starts; setting
    ``stop`` ends the read (a stream read only while other exchanges run).
    """
    transport = Http1Transport(client) if isinstance(client, aiohttp.ClientSession) else client
    start = time.monotonic()
    cap = Capture(url=url, method=method, request_headers=dict(headers or {}))
    deadline = start + window.max_seconds
    try:
        answer = await asyncio.wait_for(
            transport.open(method, url, headers=cap.request_headers, body=body),
            timeout=window.header_timeout,
        )
    except TimeoutError:
        cap.end, cap.error = "timeout", f"no response headers within {window.header_timeout} s"
        cap.duration = time.monotonic() - start
        return cap
    except (aiohttp.ClientError, OSError) as exc:
        cap.end, cap.error = "refused", f"{type(exc).__name__}: {exc}"
        cap.duration = time.monotonic() - start
        return cap
    finally:
        if opened is not None:
            opened.set()
    try:
        cap.t_headers = time.monotonic() - start
        cap.status, cap.reason = answer.status, answer.reason
        cap.http_version = answer.http_version
        cap.headers = answer.headers
        cap.redirects = answer.redirects
        if not read_body or (method == "HEAD" and cap.http_version != "2"):
            cap.end = "no-body"
        else:
            await _read_body(answer, cap, window, start, deadline, until, stop)
    finally:
        answer.close()
    cap.duration = time.monotonic() - start
    return cap


async def _next_read(answer: Answer, timeout: float, stop: asyncio.Event | None) -> bytes:
    """The answer's next bytes; ``TimeoutError`` when ``timeout`` passes or ``stop`` is set."""
    if stop is None:
        return await asyncio.wait_for(answer.read(), timeout=timeout)
    if stop.is_set():
        raise TimeoutError
    read, stopped = asyncio.ensure_future(answer.read()), asyncio.ensure_future(stop.wait())
    done, _ = await asyncio.wait({read, stopped}, timeout=timeout, return_when="FIRST_COMPLETED")
    stopped.cancel()
    if read in done:
        return read.result()
    read.cancel()
    raise TimeoutError


def _timed(t: float, events: list[Event], parser: Parser) -> list[TimedEvent]:
    return [TimedEvent(t, e, i) for e, i in zip(events, parser.id_fields, strict=False)]


async def _read_body(
    answer: Answer,
    cap: Capture,
    window: Window,
    start: float,
    deadline: float,
    until: Callable[[TimedEvent], bool] | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    parser = Parser(validate=True)
    inflate = _decompressor(cap.content_encoding)
    size = comments = 0
    body = bytearray()
    last_arrival = time.monotonic()
    try:
        while True:
            now = time.monotonic()
            remaining = deadline - now
            if window.idle_seconds is not None:
                remaining = min(remaining, last_arrival + window.idle_seconds - now)
            if remaining <= 0:
                cap.end = "window"
                break
            try:
                data = await _next_read(answer, remaining, stop)
            except TimeoutError:
                cap.end = "window"
                break
            if not data:
                cap.end = "eof"
                parser.close()
                break
            last_arrival = time.monotonic()
            t = last_arrival - start
            cap.chunks.append(Chunk(t, data))
            size += len(data)
            plain = inflate.decompress(data) if inflate is not None else data
            body += plain
            try:
                events = parser.feed(plain)
            except StreamLimitError as exc:
                cap.events.extend(_timed(t, exc.events, parser))
                cap.end, cap.error = "limit", str(exc)
                break
            timed = _timed(t, events, parser)
            cap.events.extend(timed)
            if until is not None and any(map(until, timed)):
                cap.end = "window"
                break
            if parser.comments > comments:
                comments = parser.comments
                cap.comment_times.append(t)
            enough_comments = (
                window.comment_chunks is not None
                and len(cap.comment_times) >= window.comment_chunks
            )
            if len(cap.events) >= window.max_events or size >= window.max_bytes or enough_comments:
                cap.end = "window"
                break
    except (aiohttp.ClientPayloadError, aiohttp.ClientConnectionError, OSError) as exc:
        cap.end, cap.error = "aborted", f"{type(exc).__name__}: {exc}"
        parser.close()  # what a client holds when the connection breaks is lost, as at a close
    except zlib.error as exc:
        cap.end, cap.error = "aborted", f"undecodable {cap.content_encoding} body: {exc}"
    cap.body = bytes(body)
    cap.violations = parser.violations
    cap.violation_count = parser.violation_count
    cap.retry = parser.retry
    cap.last_event_id = parser.last_event_id


async def capture_head(
    url: str,
    *,
    headers: Mapping[str, str] | None = None,
    window: Window = Window(),
    linger: float = 0.5,
    tls: ssl.SSLContext | None = None,
) -> Capture:
    """A HEAD exchange read off the socket, so what follows the response head is evidence.

    aiohttp hides (or fails on) bytes a server sends after a HEAD response, such as the stray
    ``0\\r\\n\\r\\n`` of a chunked terminator, and reports that as a refused connection. Here
    the head is parsed by hand and anything that arrives within ``linger`` seconds after it (or
    until the server closes) lands in ``chunks``. The request asks ``Connection: close``, so a
    well-behaved server ends the exchange at once and no linger is spent. Redirects are not
    followed: a HEAD answered with a redirect is an answer. ``tls`` is the target's TLS context
    (offering ``http/1.1``); the system's default for https:// when None.
    """
    start = time.monotonic()
    parts = urlsplit(url)
    cap = Capture(url=url, method="HEAD", request_headers=dict(headers or {}))
    secure = parts.scheme == "https"
    port = parts.port or (443 if secure else 80)
    host = parts.hostname or "127.0.0.1"
    lines = [f"HEAD {parts.path or '/'}{'?' + parts.query if parts.query else ''} HTTP/1.1"]
    lines += [f"Host: {parts.netloc}", "Connection: close"]
    lines += [f"{k}: {v}" for k, v in cap.request_headers.items() if k.lower() != "connection"]
    try:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(
                host, port, ssl=(tls or ssl.create_default_context()) if secure else None
            ),
            timeout=window.connect_timeout,
        )
    except (OSError, TimeoutError) as exc:
        cap.end, cap.error = "refused", f"{type(exc).__name__}: {exc}"
        cap.duration = time.monotonic() - start
        return cap
    try:
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "replace"))
        await _read_head(reader, cap, window, start, linger)
    finally:
        writer.close()
    cap.duration = time.monotonic() - start
    return cap


async def _read_head(
    reader: asyncio.StreamReader, cap: Capture, window: Window, start: float, linger: float
) -> None:
    try:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=window.header_timeout)
    except TimeoutError:
        cap.end, cap.error = "timeout", f"no response headers within {window.header_timeout} s"
        return
    except asyncio.IncompleteReadError as exc:
        cap.end = "aborted"
        cap.error = f"the connection closed after {len(exc.partial)} bytes of response head"
        cap.chunks.append(Chunk(time.monotonic() - start, exc.partial))
        return
    except (asyncio.LimitOverrunError, OSError) as exc:
        cap.end, cap.error = "aborted", f"{type(exc).__name__}: {exc}"
        return
    cap.t_headers = time.monotonic() - start
    _parse_head(head, cap)
    deadline = time.monotonic() + linger
    cap.end = "window"
    while (remaining := deadline - time.monotonic()) > 0:
        try:
            data = await asyncio.wait_for(reader.read(MAX_HEAD_BYTES), timeout=remaining)
        except TimeoutError:
            break
        except OSError as exc:
            cap.end, cap.error = "aborted", f"{type(exc).__name__}: {exc}"
            break
        if not data:
            cap.end = "eof"
            break
        cap.chunks.append(Chunk(time.monotonic() - start, data))
        if len(cap.raw) >= MAX_HEAD_BYTES:
            break


def _parse_head(head: bytes, cap: Capture) -> None:
    status_line, *fields = head.decode("latin-1").split("\r\n")
    version, _, rest = status_line.partition(" ")
    code, _, cap.reason = rest.partition(" ")
    cap.http_version = version.removeprefix("HTTP/")
    cap.status = int(code) if code.isdigit() else None
    found: CIMultiDict[str] = CIMultiDict()
    for line in fields:
        name, colon, value = line.partition(":")
        if colon:
            found.add(name.strip(), value.strip())
    cap.headers = CIMultiDictProxy(found)
