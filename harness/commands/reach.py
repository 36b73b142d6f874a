"""Is anything answering HTTP at a URL? Asked before a run, so a typo'd port, a server that
never started, a certificate the CA file does not sign or an HTTP/2 the server does not speak
costs one line and exit 2, not a report full of ERROR. It asks through the same transport the
run will use (``harness.server.transport``), so TLS and the protocol choice are checked too."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from harness.server.target import Target

__all__ = ["unreachable"]


def unreachable(target: Target | str, *, timeout: float = 10.0) -> str | None:
    """None when the target (or a plain URL, asked with GET) answers HTTP at all (any status);
    else a one-line cause."""
    from harness.server.target import Target

    return asyncio.run(_ask(Target(target) if isinstance(target, str) else target, timeout))


async def _ask(target: Target, timeout: float) -> str | None:
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
                return None
            finally:
                await transport.aclose()
    except TimeoutError:
        return f"no answer from {url} within {timeout:.0f} s"
    except aiohttp.ClientConnectorCertificateError as exc:
        return (
            f"cannot reach {url}: the certificate is not trusted ({exc.certificate_error});"
            " pass --cafile PATH or --insecure"
        )
    except aiohttp.ClientConnectorError as exc:
        return f"cannot connect to {url}: {exc.os_error or exc}"
    except StreamReset as exc:
        return f"cannot reach {url} over HTTP/2: {exc}"
    except (aiohttp.ClientError, OSError, ValueError) as exc:
        return f"cannot reach {url}: {type(exc).__name__}: {exc}"
