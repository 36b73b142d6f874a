"""HTTP/2 under the probe: h2's sans-I/O state machine driven over asyncio streams.

h2 does the framing, HPACK, flow control and stream states; this module only moves bytes and
turns h2's events into what a capture reads. Three choices make it an instrument, not a client:

* Inbound header validation is off, so connection-specific fields a server sends (S-22) are
  recorded as evidence instead of ending the connection with a protocol error.
* RST_STREAM and GOAWAY end a stream's reads with :class:`StreamReset`, whose message names the
  frame and its error code (``RST_STREAM INTERNAL_ERROR``), so a graded abort says what happened.
* Received data is acknowledged (the flow-control window reopened) only as a capture reads it,
  and an abandoned stream is reset with CANCEL: a stream can never buffer beyond its window, and
  a stopped read never starves its neighbours on the connection.
"""

from __future__ import annotations

import asyncio
import ssl
from collections import deque
from collections.abc import Mapping
from urllib.parse import urljoin, urlsplit

import h2.config
import h2.connection
import h2.events
import h2.exceptions
import h2.settings
from h2.errors import ErrorCodes
from multidict import CIMultiDict, CIMultiDictProxy

from harness.server.target import Target
from harness.server.transport import Answer, ssl_context

__all__ = ["CONNECTION_SPECIFIC", "H2Link", "H2Transport", "NotHttp2", "StreamReset", "connect"]

#: Header fields RFC 9113 8.2.2 forbids in HTTP/2 (a request never sends them either).
CONNECTION_SPECIFIC = frozenset(
    {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade"}
)
#: Per-stream receive window: large enough that a fast stream is not throttled by the probe.
STREAM_WINDOW = 1 << 20
#: Extra connection-level receive window on top of the protocol's 65535 bytes.
CONNECTION_WINDOW = 16 << 20
MAX_REDIRECTS = 10
_REDIRECTS = (301, 302, 303, 307, 308)


class NotHttp2(ConnectionError):
    """TLS ALPN did not select ``h2``: the server does not offer HTTP/2 there."""


class StreamReset(ConnectionError):
    """The server ended a stream (RST_STREAM, GOAWAY) or the connection under it."""


def code_name(code: int) -> str:
    try:
        return ErrorCodes(code).name
    except ValueError:
        return f"0x{code:x}"


class _Stream:
    """What arrived on one stream, waiting for its reader."""

    def __init__(self) -> None:
        self.head: asyncio.Future[list[tuple[bytes, bytes]]] = (
            asyncio.get_running_loop().create_future()
        )
        self.chunks: deque[tuple[bytes, int]] = deque()
        self.ended = False
        self.error = ""
        self.wake = asyncio.Event()

    def fail(self, reason: str) -> None:
        if not self.ended and not self.error:
            self.error = reason
        if not self.head.done():
            self.head.set_exception(StreamReset(reason))
        self.wake.set()


class H2Link:
    """One HTTP/2 connection to one origin, its streams multiplexed by h2."""

    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, authority: str
    ) -> None:
        self.reader, self.writer, self.authority = reader, writer, authority
        config = h2.config.H2Configuration(
            client_side=True, header_encoding=None, validate_inbound_headers=False
        )
        self.h2 = h2.connection.H2Connection(config=config)
        self.streams: dict[int, _Stream] = {}
        self.closed = ""
        self.settled = asyncio.Event()
        self.window = asyncio.Event()
        self.h2.local_settings = h2.settings.Settings(
            client=True,
            initial_values={
                h2.settings.SettingCodes.ENABLE_PUSH: 0,
                h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: STREAM_WINDOW,
            },
        )
        self.h2.initiate_connection()
        self.h2.increment_flow_control_window(CONNECTION_WINDOW)
        self._flush()
        self.pump = asyncio.ensure_future(self._pump())

    @property
    def has_room(self) -> bool:
        """Another stream may open here without passing the server's concurrency limit."""
        limit = self.h2.remote_settings.max_concurrent_streams
        return not self.closed and self.h2.open_outbound_streams < limit

    def _flush(self) -> None:
        data = self.h2.data_to_send()
        if data and not self.writer.is_closing():
            self.writer.write(data)

    def _close(self, reason: str) -> None:
        self.closed = self.closed or reason
        for stream in self.streams.values():
            stream.fail(reason)
        self.settled.set()
        self.window.set()
        self.writer.close()

    async def _pump(self) -> None:
        try:
            while not self.closed:
                data = await self.reader.read(1 << 16)
                if not data:
                    self._close("the connection closed (no GOAWAY, no RST_STREAM)")
                    break
                for event in self.h2.receive_data(data):
                    self._on(event)
                self._flush()
        except h2.exceptions.ProtocolError as exc:
            self._flush()  # h2's own GOAWAY, so the server learns why
            self._close(f"HTTP/2 protocol error from the server: {exc}")
        except OSError as exc:
            self._close(f"{type(exc).__name__}: {exc}")
        finally:
            self._close("the connection was closed by the harness")

    def _on(self, event: h2.events.Event) -> None:
        stream = self.streams.get(getattr(event, "stream_id", 0) or 0)
        if isinstance(event, h2.events.ResponseReceived) and stream is not None:
            if not stream.head.done():
                stream.head.set_result(list(event.headers or []))
        elif isinstance(event, h2.events.DataReceived):
            if stream is None:  # an abandoned stream: give the window back at once
                self.h2.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
                return
            stream.chunks.append((event.data or b"", event.flow_controlled_length or 0))
            stream.wake.set()
        elif isinstance(event, h2.events.StreamEnded) and stream is not None:
            stream.ended = True
            stream.wake.set()
        elif isinstance(event, h2.events.StreamReset) and stream is not None:
            stream.fail(f"RST_STREAM {code_name(event.error_code or 0)}")
        elif isinstance(event, h2.events.ConnectionTerminated):
            self._close(
                f"GOAWAY {code_name(event.error_code or 0)}"
                f" (last stream {event.last_stream_id})"
                + (f": {event.additional_data!r}" if event.additional_data else "")
            )
        elif isinstance(event, h2.events.RemoteSettingsChanged):
            self.settled.set()
        elif isinstance(event, h2.events.WindowUpdated):
            self.window.set()

    async def request(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes | None
    ) -> Answer:
        """Open a stream for one request; return once its final response head arrived."""
        if self.closed:
            raise StreamReset(self.closed)
        parts = urlsplit(url)
        fields = [
            (b":method", method.encode()),
            (b":scheme", parts.scheme.encode()),
            (b":authority", self.authority.encode()),
            (b":path", ((parts.path or "/") + (f"?{parts.query}" if parts.query else "")).encode()),
        ]
        fields += [
            (name.lower().encode(), value.encode("latin-1", "replace"))
            for name, value in headers.items()
            if name.lower() not in CONNECTION_SPECIFIC and name.lower() != "host"
        ]
        if body is not None:
            fields.append((b"content-length", str(len(body)).encode()))
        stream_id = self.h2.get_next_available_stream_id()
        stream = self.streams[stream_id] = _Stream()
        try:
            self.h2.send_headers(stream_id, fields, end_stream=not body)
            self._flush()
            if body:
                await self._send_body(stream_id, stream, body)
            head = await stream.head
        except BaseException:
            self._abandon(stream_id)
            raise
        status = next((v for k, v in head if k == b":status"), b"")
        found: CIMultiDict[str] = CIMultiDict()
        for name, value in head:
            if not name.startswith(b":"):
                found.add(name.decode("latin-1"), value.decode("latin-1"))
        return Answer(
            status=int(status) if status.isdigit() else 0,
            reason="",
            http_version="2",
            headers=CIMultiDictProxy(found),
            read=lambda: self._read(stream_id, stream),
            close=lambda: self._abandon(stream_id),
        )

    async def _send_body(self, stream_id: int, stream: _Stream, body: bytes) -> None:
        view = memoryview(body)
        while view:
            room = min(
                self.h2.local_flow_control_window(stream_id), self.h2.max_outbound_frame_size
            )
            if stream.error or self.closed:
                raise StreamReset(stream.error or self.closed)
            if room <= 0:
                self.window.clear()
                await self.window.wait()
                continue
            self.h2.send_data(stream_id, bytes(view[:room]), end_stream=len(view) <= room)
            self._flush()
            view = view[room:]

    async def _read(self, stream_id: int, stream: _Stream) -> bytes:
        while True:
            if stream.chunks:
                data, counted = stream.chunks.popleft()
                if counted and not self.closed:
                    self.h2.acknowledge_received_data(counted, stream_id)
                    self._flush()
                if data:
                    return data
                continue
            if stream.ended:
                return b""
            if stream.error:
                raise StreamReset(stream.error)
            stream.wake.clear()
            await stream.wake.wait()

    def _abandon(self, stream_id: int) -> None:
        """Reset an unfinished stream (CANCEL, as a browser leaving a page) and give its unread
        bytes back to the connection window."""
        stream = self.streams.pop(stream_id, None)
        if stream is None or self.closed:
            return
        unread = sum(counted for _, counted in stream.chunks)
        stream.chunks.clear()
        try:
            if not stream.ended and not stream.error:
                self.h2.reset_stream(stream_id, ErrorCodes.CANCEL)
            if unread:
                self.h2.acknowledge_received_data(unread, stream_id)
        except h2.exceptions.H2Error:
            pass  # the stream closed meanwhile: nothing left to reset or acknowledge
        self._flush()

    async def aclose(self) -> None:
        if not self.closed:
            self.h2.close_connection()
            self._flush()
        self.pump.cancel()
        self._close("the connection was closed by the harness")


async def connect(url: str, tls: ssl.SSLContext | None, timeout: float) -> H2Link:
    """A new HTTP/2 connection: TLS with ALPN ``h2``, or h2c with prior knowledge for http://;
    ready once the server's SETTINGS arrived (so its stream limit is known)."""
    parts = urlsplit(url)
    host = parts.hostname or "127.0.0.1"
    port = parts.port or (443 if tls else 80)

    async def handshake() -> H2Link:
        reader, writer = await asyncio.open_connection(host, port, ssl=tls, limit=1 << 16)
        if tls is not None:
            chosen = writer.get_extra_info("ssl_object").selected_alpn_protocol()
            if chosen != "h2":
                writer.close()
                raise NotHttp2(f"{url}: TLS ALPN selected {chosen or 'nothing'}, not h2")
        link = H2Link(reader, writer, parts.netloc)
        await link.settled.wait()
        if link.closed:
            raise StreamReset(link.closed)
        return link

    return await asyncio.wait_for(handshake(), timeout)


class H2Transport:
    """HTTP/2 to one target: a link per origin, another when the server's stream limit is
    reached, redirects followed as aiohttp follows them."""

    http_version = "2"

    def __init__(self, target: Target, connect_timeout: float, first: H2Link | None = None) -> None:
        self.tls = ssl_context(target, ["h2"])
        self.connect_timeout = connect_timeout
        self.links: dict[str, list[H2Link]] = {}
        self._lock = asyncio.Lock()
        if first is not None:
            self.links[_origin(target.url)] = [first]

    async def link(self, url: str, *, fresh: bool = False) -> H2Link:
        """A connection to ``url``'s origin with room for one more stream (``fresh``: a new one
        the caller owns and closes, e.g. to multiplex many streams on one connection)."""
        if fresh:
            return await connect(url, self.tls, self.connect_timeout)
        async with self._lock:
            pool = self.links.setdefault(_origin(url), [])
            pool[:] = [link for link in pool if not link.closed]
            for link in pool:
                if link.has_room:
                    return link
            link = await connect(url, self.tls, self.connect_timeout)
            pool.append(link)
            return link

    async def open(
        self, method: str, url: str, *, headers: Mapping[str, str], body: bytes | None = None
    ) -> Answer:
        redirects: list[tuple[int, str]] = []
        while True:
            answer = await (await self.link(url)).request(method, url, headers, body)
            location = answer.headers.get("Location")
            if answer.status not in _REDIRECTS or not location or len(redirects) >= MAX_REDIRECTS:
                answer.redirects = redirects
                return answer
            answer.close()
            redirects.append((answer.status, url))
            url = urljoin(url, location)
            if answer.status == 303 or (answer.status in (301, 302) and method == "POST"):
                method, body = "GET", None

    async def aclose(self) -> None:
        for pool in self.links.values():
            for link in pool:
                await link.aclose()


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
