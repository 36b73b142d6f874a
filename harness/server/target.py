"""The target under test: an SSE endpoint, how to request it, and what it is declared to offer.

Shared by the cases, the runner and the command line; it holds no I/O, so a target can be built
and checked before anything connects.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal
from urllib.parse import urlsplit

__all__ = ["BROWSER_HEADERS", "HttpChoice", "Need", "Target", "request_target"]

#: Which HTTP the probe speaks: "auto" takes HTTP/2 when TLS ALPN offers it (plain http://
#: stays HTTP/1.1), "1.1" never asks for HTTP/2, "2" insists (h2c with prior knowledge on http://).
HttpChoice = Literal["auto", "1.1", "2"]

#: What Chromium's EventSource sends (plus the Accept-Encoding it always offers), so the stream
#: is judged as the most common client receives it.
BROWSER_HEADERS: Mapping[str, str] = {
    "Accept": "text/event-stream",
    "Cache-Control": "no-cache",
    "Accept-Encoding": "gzip, deflate",
}


@dataclass(frozen=True, slots=True)
class Target:
    """An SSE endpoint and what it is declared to support."""

    url: str
    method: str = "GET"
    body: bytes | None = None
    headers: tuple[tuple[str, str], ...] = ()
    #: Declared resumable: reconnecting with Last-Event-ID continues after that id (S-18).
    resumable: bool = False
    #: Where the scripting contract is mounted; None means the URL's origin, "" means none.
    contract: str | None = None
    #: CA bundle (PEM) that signs an https:// target's certificate; None: the system's CAs.
    cafile: str | None = None
    #: Accept any certificate (a self-signed test server); the run still speaks TLS.
    insecure: bool = False
    http: HttpChoice = "auto"

    @property
    def contract_base(self) -> str:
        if self.contract is not None:
            return self.contract.rstrip("/")
        parts = urlsplit(self.url)
        return f"{parts.scheme}://{parts.netloc}"

    def request_headers(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """What every request to the target sends: a browser's headers, the target's, ``extra``."""
        return {**BROWSER_HEADERS, **dict(self.headers), **dict(extra or {})}

    def describe(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "method": self.method,
            "headers": dict(self.headers),
            "resumable": self.resumable,
            "http": self.http,
        }


class Need(StrEnum):
    """What a case needs of the target; a missing capability makes the case UNIMPLEMENTED."""

    BLACK_BOX = "black-box"
    RESUMABLE = "resumable"
    SCRIPTED = "scripted"
    OBSERVABLE = "observable"
    #: The exchange runs over HTTP/2 (rules that bind only there, S-22; multiplexing).
    HTTP2 = "http2"


def request_target(
    url: str,
    *,
    method: str = "GET",
    body: bytes | None = None,
    headers: Sequence[tuple[str, str]] = (),
    resumable: bool = False,
    contract: str | None = None,
    cafile: str | None = None,
    insecure: bool = False,
    http: HttpChoice = "auto",
) -> Target:
    """A target as a user describes it on a command line: a body without a Content-Type header
    is sent as JSON, as the load user sends it, so both instruments make the same request."""
    given = list(headers)
    if body is not None and not any(name.lower() == "content-type" for name, _ in given):
        given.append(("Content-Type", "application/json"))
    return Target(
        url=url,
        method=method.upper(),
        body=body,
        headers=tuple(given),
        resumable=resumable,
        contract=contract,
        cafile=cafile,
        insecure=insecure,
        http=http,
    )
