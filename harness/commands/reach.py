"""Is an event stream answering at a URL? Asked before a run, so a typo'd port, a server that
never started, a certificate the CA file does not sign, an HTTP/2 the server does not speak, a
plain-HTTP server asked for TLS, or a route that answers 404 or JSON costs one line in plain
words, not a report full of ERROR or FAILED rows. It asks through the same transport the run will
use (``harness.server.transport``), so TLS and the protocol choice are checked too. The cause
quotes the URL and the client library's words, so it is redacted (``harness.redact``) like a
report: no ``user:pass@``, secret query value or header value reaches the terminal."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

if TYPE_CHECKING:
    from harness.server.target import Target

__all__ = ["Reach", "reach", "unreachable"]


@dataclass(frozen=True, slots=True)
class Reach:
    """What the first request found: a cause that stops the run, or the response's head."""

    #: Why nothing answered HTTP (None when something did).
    problem: str | None = None
    status: int = 0
    reason: str = ""
    content_type: str = ""

    @property
    def not_a_stream(self) -> str | None:
        """Why the answer is not an event stream, in one line with the likely fix; None when it
        is one (status 200, ``text/event-stream``) or when nothing answered."""
        if self.problem is not None:
            return None
        essence = self.content_type.split(";", 1)[0].strip().lower()
        if self.status == 200 and essence == "text/event-stream":
            return None
        answer = f"{self.status} {self.reason}".strip()
        kind = f"with Content-Type {essence}" if essence else "with no Content-Type"
        if self.status == 200:
            hint = "does the route return an event stream (an EventSourceResponse)?"
        elif self.status in (404, 405):
            hint = "is the path right, and the method (--method)?"
        elif self.status in (401, 403):
            hint = "does it need a credential (--header 'Authorization: ...')?"
        else:
            hint = "the server refused the request before any stream"
        return f"it answered {answer} {kind}, not 200 with text/event-stream: {hint}"


def unreachable(
    target: Target | str, *, timeout: float = 10.0, redact_headers: Sequence[str] = ()
) -> str | None:
    """None when the target (or a plain URL, asked with GET) answers HTTP at all (any status);
    else a one-line cause."""
    return reach(target, timeout=timeout, redact_headers=redact_headers).problem


def reach(
    target: Target | str, *, timeout: float = 10.0, redact_headers: Sequence[str] = ()
) -> Reach:
    """Send the target's request once and keep the head of the answer (or why there was none);
    ``redact_headers`` names more secret headers (``--redact-header``)."""
    from harness.server.check import target_redactor
    from harness.server.target import Target

    asked = Target(target) if isinstance(target, str) else target
    found = asyncio.run(_ask(asked, timeout))
    if found.problem is None:
        return found
    return replace(found, problem=target_redactor(asked, redact_headers).text(found.problem))


def _with_scheme(url: str, scheme: str) -> str:
    return urlunsplit(urlsplit(url)._replace(scheme=scheme))


def _tls_words(url: str, exc: BaseException) -> str | None:
    """Plain words for the TLS failures a newcomer meets, or None for the others."""
    text = str(exc)
    if "WRONG_VERSION_NUMBER" in text or "record layer failure" in text:
        return (
            f"cannot reach {url}: the server does not speak TLS on that port (it answered in"
            f" plain HTTP); use {_with_scheme(url, 'http')}"
        )
    if isinstance(exc, ssl.SSLCertVerificationError) or "CERTIFICATE_VERIFY_FAILED" in text:
        return (
            f"cannot reach {url}: the certificate is not trusted ({text}); pass --cafile PATH"
            " or --insecure"
        )
    return None


async def _ask(target: Target, timeout: float) -> Reach:
    import aiohttp

    from harness.server.h2transport import StreamReset
    from harness.server.negotiate import open_transport
    from harness.server.transport import http1_session

    url = target.url
    try:
        async with http1_session(target) as session, asyncio.timeout(timeout):
            transport = await open_transport(target, timeout, session)
            try:
                answer = await transport.open(
                    target.method, url, headers=target.request_headers(), body=target.body
                )
                answer.close()
                return Reach(
                    status=answer.status,
                    reason=answer.reason,
                    content_type=answer.headers.get("Content-Type", ""),
                )
            finally:
                await transport.aclose()
    except TimeoutError:
        return Reach(f"no answer from {url} within {timeout:.0f} s")
    except aiohttp.ClientConnectorCertificateError as exc:
        return Reach(
            f"cannot reach {url}: the certificate is not trusted ({exc.certificate_error});"
            " pass --cafile PATH or --insecure"
        )
    except aiohttp.ClientConnectorError as exc:
        cause = exc.os_error or exc
        return Reach(_tls_words(url, cause) or f"cannot connect to {url}: {cause}")
    except aiohttp.ServerDisconnectedError:
        hint = f"; if it serves TLS, use {_with_scheme(url, 'https')}"
        return Reach(
            f"cannot reach {url}: the server closed the connection without answering"
            + (hint if urlsplit(url).scheme == "http" else "")
        )
    except StreamReset as exc:
        return Reach(f"cannot reach {url} over HTTP/2: {exc}")
    except ssl.SSLError as exc:
        return Reach(_tls_words(url, exc) or f"cannot reach {url}: TLS failed: {exc}")
    except (aiohttp.ClientError, OSError, ValueError) as exc:
        return Reach(_tls_words(url, exc) or f"cannot reach {url}: {type(exc).__name__}: {exc}")
