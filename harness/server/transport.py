"""How the probe reaches a target: one small interface over HTTP/1.1 (aiohttp) and HTTP/2 (h2).

Every case reads :class:`~harness.server.probe.Capture` objects, and a capture only needs what
an :class:`Answer` holds (status, headers, a ``read`` of the next body bytes, a way to abandon
it). So the whole suite runs unchanged over either protocol; which one a run speaks is decided
once, by :func:`harness.server.negotiate.open_transport`, from the target's choice and what
TLS ALPN negotiates.
"""

from __future__ import annotations

import ssl
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import urlsplit

import aiohttp
from multidict import CIMultiDictProxy

from harness.server.target import Target

__all__ = ["Answer", "Http1Transport", "Transport", "http1_session", "ssl_context"]


@dataclass(slots=True)
class Answer:
    """A response whose body is read on demand: ``read`` returns ``b""`` at its clean end and
    raises (``aiohttp.ClientError`` or ``OSError``, the reason in the message) when it breaks."""

    status: int
    reason: str
    http_version: str
    headers: CIMultiDictProxy[str]
    read: Callable[[], Awaitable[bytes]]
    #: Stop reading: release a finished response, abandon (reset) an unfinished one.
    close: Callable[[], None]
    redirects: list[tuple[int, str]] = field(default_factory=list)


class Transport(Protocol):
    """Opens requests to one target; ``http_version`` is what the run speaks ("1.1" or "2")."""

    @property
    def http_version(self) -> str: ...

    async def open(
        self, method: str, url: str, *, headers: Mapping[str, str], body: bytes | None = None
    ) -> Answer:
        """Send a request and wait for its final response head (redirects followed)."""
        ...

    async def aclose(self) -> None: ...


def ssl_context(target: Target, alpn: list[str]) -> ssl.SSLContext | None:
    """The TLS settings of an https:// target (None for http://), offering ``alpn``."""
    if urlsplit(target.url).scheme != "https":
        return None
    context = ssl.create_default_context(cafile=target.cafile)
    if target.insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    context.set_alpn_protocols(alpn)
    return context


class Http1Transport:
    """aiohttp, as before HTTP/2 existed here: keep-alive connections, redirects followed."""

    http_version = "1.1"

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self.session = session

    async def open(
        self, method: str, url: str, *, headers: Mapping[str, str], body: bytes | None = None
    ) -> Answer:
        response = await self.session.request(
            method, url, headers=headers, data=body, allow_redirects=True
        )
        version = response.version
        return Answer(
            status=response.status,
            reason=response.reason or "",
            http_version=f"{version.major}.{version.minor}" if version else "",
            headers=response.headers,
            read=response.content.readany,
            close=lambda: _finish(response),
            redirects=[(r.status, str(r.url)) for r in response.history],
        )

    async def aclose(self) -> None:
        """Nothing to do: the session belongs to whoever made it."""


def _finish(response: aiohttp.ClientResponse) -> None:
    """A body read to its end frees the connection for reuse; a cut one takes it down, so the
    server sees its client leave (what the disconnect cases watch)."""
    if response.content.at_eof():
        response.release()
    else:
        response.close()


def http1_session(target: Target) -> aiohttp.ClientSession:
    """The aiohttp session the probe uses over HTTP/1.1 (TLS offered as ``http/1.1`` only).

    Keep-alive connections, as browsers use: with force_close the request says
    "Connection: close" and servers overwrite the very header server.headers.6 checks.
    """
    connector = aiohttp.TCPConnector(limit=0, ssl=ssl_context(target, ["http/1.1"]) or True)
    return aiohttp.ClientSession(auto_decompress=False, connector=connector)
