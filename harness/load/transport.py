"""One HTTP/1.1 streaming request over a gevent socket, its body handed over as bytes arrive.

Why not Locust's ``FastHttpSession``: its ``iter_lines`` reads 1 KiB blocks and waits until a
block is full, so a small event sits in a buffer until later ones arrive (seconds, on a
one-event-a-second stream), and its ``response_time`` stops at the headers. Here every ``recv``
that returns body bytes hands them over at once, stamped with the time it returned.

HTTP framing (status line, headers, chunked transfer coding) is decoded by geventhttpclient's
llhttp-based ``HTTPResponse`` (the parser Locust's FastHttpUser uses), fed from our own socket so
that nothing buffers between the socket and the event-stream parser. Event-stream parsing is not
done here: the body goes to :class:`harness.stream.Parser`.

TLS (``https://``) wraps the same socket with gevent's ``SSLContext``, whose sockets yield to the
hub like the plain ones (the standard library's would block the whole process while a handshake
or a read waits). It offers ALPN ``http/1.1`` only: HTTP/1.1 framing is all this reader decodes.
"""

from __future__ import annotations

import functools
import ipaddress
import itertools
import ssl
import time
from collections.abc import Sequence
from urllib.parse import urlsplit

import gevent.socket
import gevent.ssl
from geventhttpclient.response import HTTPParseError, HTTPResponse

from harness import __version__

__all__ = [
    "MAX_HEAD_BYTES",
    "Endpoint",
    "HTTPParseError",
    "HeadTimeoutError",
    "HeadTooLargeError",
    "StreamConnection",
    "TLSHandshakeError",
    "tls_context",
]

_RECV = 65_536
#: Bound on the status line plus headers of a response.
MAX_HEAD_BYTES = 64 * 1024


class HeadTimeoutError(TimeoutError):
    """No whole response head within the timeout: a target that accepts and never answers, or
    one that trickles its head a byte at a time (each byte would restart a per-``recv`` timeout,
    so the head has one deadline)."""


class HeadTooLargeError(HTTPParseError):
    """The response head passed :data:`MAX_HEAD_BYTES` (a header flood): refused before more of
    it is read or parsed."""


class TLSHandshakeError(OSError):
    """The TLS handshake failed (a certificate that does not verify, a server that does not speak
    TLS): retrying would meet the same answer, so the reader fails the stream rather than
    reconnecting. The message is one line naming the endpoint and the cause."""


@functools.cache
def tls_context(cafile: str | None = None, insecure: bool = False) -> ssl.SSLContext:
    """The client TLS settings, made once per process and option pair: loading CA certificates
    costs milliseconds, far more than a connection should. ``cafile`` replaces the system CAs
    (as ``ssl.create_default_context(cafile=...)`` does); ``insecure`` verifies nothing."""
    context: ssl.SSLContext = gevent.ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if cafile:
        context.load_verify_locations(cafile=cafile)
    else:
        context.load_default_certs()
    if insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    context.set_alpn_protocols(["http/1.1"])
    return context


class Endpoint:
    """A parsed ``http://`` or ``https://`` URL: where to connect, whether over TLS, and what to
    put in the request line."""

    __slots__ = ("family", "host", "ipv4_loopback", "netloc", "port", "target", "tls")

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"expected an http:// or https:// URL, got {url!r}")
        self.tls = parts.scheme == "https"
        self.host = parts.hostname
        self.port = parts.port or (443 if self.tls else 80)
        self.netloc = parts.netloc
        self.target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        #: The address family of an IP-literal host, else None (a name, resolved per connection).
        self.family: int | None = None
        #: An IPv4 loopback literal (127.0.0.0/8): connections spread their source addresses.
        self.ipv4_loopback = False
        try:
            address = ipaddress.ip_address(self.host)
        except ValueError:
            return
        self.family = gevent.socket.AF_INET if address.version == 4 else gevent.socket.AF_INET6
        self.ipv4_loopback = address.version == 4 and address.is_loopback


#: Linux's ``IP_BIND_ADDRESS_NO_PORT`` (None elsewhere: no source spreading there).
_BIND_ADDRESS_NO_PORT: int | None = getattr(gevent.socket, "IP_BIND_ADDRESS_NO_PORT", None)
#: Source addresses for IPv4 loopback destinations, taken in turn (see :func:`_connect`): each
#: adds the whole ephemeral port range, 64 of them ~1.8 million connections per destination.
_LOOPBACK_SOURCES = tuple(f"127.0.1.{n}" for n in range(1, 65))
_next_loopback_source = itertools.cycle(_LOOPBACK_SOURCES).__next__


def _connect(endpoint: Endpoint, timeout_s: float) -> gevent.socket.socket:
    """A connected socket. An IP-literal host skips ``getaddrinfo``: gevent resolves in its
    thread pool, and at hundreds of connections a second the hand-offs to those threads cost
    more than the connections themselves.

    To an IPv4 loopback destination the socket first binds a source address of its own, round
    robin over :data:`_LOOPBACK_SOURCES` (all of 127.0.0.0/8 is this host). A TCP connection is
    named by its four-tuple, and with one source address the kernel has only its ephemeral port
    range (``net.ipv4.ip_local_port_range``: ~28,000 ports by default) for every connection to
    one destination, streams that just ended (``TIME_WAIT``) included: a density run of 25,000
    streams per process, or several Locust processes against one server, runs out. With
    ``IP_BIND_ADDRESS_NO_PORT`` the bind names the address only, and the kernel picks the port
    at ``connect`` time, per four-tuple, as for an unbound socket. Other destinations (a network
    address, IPv6, a host name) connect as the kernel routes them: a source address there is the
    host's own choice, and 127.0.0.0/8 is IPv4's only.
    """
    if endpoint.family is None:
        return gevent.socket.create_connection((endpoint.host, endpoint.port), timeout=timeout_s)
    sock = gevent.socket.socket(endpoint.family, gevent.socket.SOCK_STREAM)
    try:
        if endpoint.ipv4_loopback and _BIND_ADDRESS_NO_PORT is not None:
            sock.setsockopt(gevent.socket.IPPROTO_IP, _BIND_ADDRESS_NO_PORT, 1)
            sock.bind((_next_loopback_source(), 0))
        sock.settimeout(timeout_s)
        sock.connect((endpoint.host, endpoint.port))
    except BaseException:
        sock.close()
        raise
    return sock


def _handshake(
    sock: gevent.socket.socket, endpoint: Endpoint, context: ssl.SSLContext
) -> gevent.socket.socket:
    """``sock`` wrapped in TLS, handshake done (under the socket's timeout). A TLS failure is a
    :class:`TLSHandshakeError`; a timeout or reset stays the network error it is."""
    try:
        wrapped: gevent.socket.socket = context.wrap_socket(sock, server_hostname=endpoint.host)
    except ssl.SSLCertVerificationError as exc:
        raise TLSHandshakeError(
            f"TLS to {endpoint.netloc}: certificate verify failed: {exc.verify_message}"
        ) from exc
    except ssl.SSLError as exc:
        raise TLSHandshakeError(
            f"TLS to {endpoint.netloc} failed: {exc.reason or exc.strerror or exc}"
        ) from exc
    return wrapped


class _Response(HTTPResponse):
    """llhttp's body callback appends each decoded piece of body to ``pieces``."""

    def __init__(self, method: str) -> None:
        self.pieces: list[bytes] = []
        super().__init__(method=method)

    def _on_body(self, buf: bytearray) -> None:
        self.pieces.append(bytes(buf))


def _request_head(
    method: str, endpoint: Endpoint, headers: Sequence[tuple[str, str]], body: bytes | None
) -> bytes:
    """The request head; what an EventSource sends (Accept, Last-Event-ID) is in ``headers``,
    from :class:`harness.connection.SourceMachine`, so only transport headers are added here."""
    given = {name.lower() for name, _ in headers}
    defaults = [
        ("Host", endpoint.netloc),
        ("User-Agent", f"sse-harness/{__version__}"),
    ]
    if body is not None:
        defaults += [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    fields = [(n, v) for n, v in defaults if n.lower() not in given] + list(headers)
    for name, value in fields:
        if any(c in name + value for c in "\r\n\0") or not name:
            raise ValueError(f"header {name!r}: {value!r} holds CR, LF or NUL")
    lines = [f"{method} {endpoint.target} HTTP/1.1", *(f"{n}: {v}" for n, v in fields), "", ""]
    return "\r\n".join(lines).encode("utf-8")


def _runs_to_close(response: _Response, method: str) -> bool:
    """Whether the body of ``response`` (its head parsed) is delimited by the connection's close
    (RFC 9112 §6.3: a response with a body and neither Transfer-Encoding nor Content-Length)."""
    if method == "HEAD" or response.message_complete:
        return False
    status = response.status_code
    if status < 200 or status in (204, 304):
        return False
    return response.get("transfer-encoding") is None and response.get("content-length") is None


class StreamConnection:
    """Connect, send the request, read the response head; then :meth:`read` the body.

    Construction blocks (cooperatively) until the response headers are in, or raises ``OSError``
    (refused, reset, timed out; :class:`TLSHandshakeError`, a subclass, for a failed handshake)
    or ``HTTPParseError`` (not HTTP, closed early). ``headers_at`` is the ``perf_counter`` time the
    head was complete; ``tls_s`` how long the TLS handshake took (None without TLS).
    ``context`` is the TLS settings of an ``https://`` endpoint (default: :func:`tls_context`).
    """

    def __init__(
        self,
        endpoint: Endpoint,
        *,
        method: str = "GET",
        headers: Sequence[tuple[str, str]] = (),
        body: bytes | None = None,
        timeout_s: float,
        context: ssl.SSLContext | None = None,
    ) -> None:
        head = _request_head(method, endpoint, headers, body)
        self._response = _Response(method)
        deadline = time.perf_counter() + timeout_s
        self._sock = _connect(endpoint, timeout_s)
        self.tls_s: float | None = None
        connected = time.perf_counter()
        try:
            self._sock.setsockopt(gevent.socket.IPPROTO_TCP, gevent.socket.TCP_NODELAY, 1)
            if endpoint.tls:
                self._sock = _handshake(self._sock, endpoint, context or tls_context())
                self.tls_s = time.perf_counter() - connected
            self._sock.sendall(head + body if body else head)
            received = 0
            while not self._response.headers_complete:
                data = self._recv_before(deadline, endpoint, timeout_s)
                received += len(data)
                if received > MAX_HEAD_BYTES:
                    raise HeadTooLargeError(
                        f"response head from {endpoint.netloc} longer than {MAX_HEAD_BYTES} bytes"
                    )
                self._response.feed(data)
                if not data and not self._response.headers_complete:
                    raise HTTPParseError("connection closed before the response headers")
        except BaseException:
            self._sock.close()
            raise
        self.headers_at = time.perf_counter()
        self.status: int = self._response.status_code
        # From here on the body is read when the event loop says the socket is readable
        # (:meth:`read_ready`), so the socket never waits.
        self._sock.settimeout(0.0)
        self._tls = endpoint.tls
        #: Plain TCP and a body that runs to the close (no length, not chunked: what SSE servers
        #: send): its bytes are the body as they come, so they skip llhttp, and are read by the
        #: socket's own C ``recv`` (gevent's Python wrapper of it adds nothing at timeout 0).
        self._until_close = not self._tls and _runs_to_close(self._response, method)
        raw = getattr(self._sock, "_sock", self._sock)  # gevent's wrapped socket, if it says
        self._recv = raw.recv if self._until_close else self._sock.recv

    def _recv_before(self, deadline: float, endpoint: Endpoint, timeout_s: float) -> bytes:
        """What one ``recv`` of the head brings, or :class:`HeadTimeoutError` at ``deadline``."""
        remaining = deadline - time.perf_counter()
        try:
            if remaining <= 0:
                raise TimeoutError
            self._sock.settimeout(remaining)
            data: bytes = self._sock.recv(_RECV)
        except TimeoutError:
            raise HeadTimeoutError(
                f"no response head from {endpoint.netloc} within {timeout_s:g} s"
            ) from None
        return data

    def header(self, name: str) -> str | None:
        value = self._response.get(name)
        return value if value is None or isinstance(value, str) else ", ".join(value)

    def fileno(self) -> int:
        return int(self._sock.fileno())

    def read_ready(self) -> list[bytes] | None:
        """Body bytes that are here now (first any that came with the head), or None at the
        body's end. Never waits.

        The list is empty when nothing was there, or when what came was only framing (a chunk
        header, a TLS record not yet whole). Raises ``HTTPParseError`` when the connection closes
        before the body is complete (a cut chunked body) and ``OSError`` for a reset.
        """
        response = self._response
        if response.pieces:
            pieces, response.pieces = response.pieces, []
            return pieces
        if self._until_close:
            try:
                data = self._recv(_RECV)
            except BlockingIOError:
                return []
            return [data] if data else None
        if response.message_complete:
            return None
        try:
            data = self._recv(_RECV)
        except (BlockingIOError, ssl.SSLWantReadError):  # SSLWantReadError: TLS's "nothing yet"
            return []
        response.feed(data)  # b"" at EOF: ends a read-until-close body, rejects a cut one
        if self._tls and data:
            # Decrypted bytes OpenSSL holds are not readable on the socket: take them now.
            while self._sock.pending():
                response.feed(self._sock.recv(_RECV))
        pieces, response.pieces = response.pieces, []
        if not pieces and (not data or response.message_complete):
            return None
        return pieces

    @property
    def complete(self) -> bool:
        """The whole body was read (and handed over): no readable socket will say so."""
        return bool(self._response.message_complete) and not self._response.pieces

    def close(self) -> None:
        self._sock.close()
