"""Which protocol a run speaks: decided once per run, from the target's choice and ALPN.

Kept apart from :mod:`.transport` (the interface and HTTP/1.1) and :mod:`.h2transport` (HTTP/2)
so that neither of those imports the other.
"""

from __future__ import annotations

import asyncio

import aiohttp

from harness.server.h2transport import H2Transport, NotHttp2, connect
from harness.server.target import Target
from harness.server.transport import Http1Transport, Transport, ssl_context

__all__ = ["open_transport"]


async def open_transport(
    target: Target, connect_timeout: float, session: aiohttp.ClientSession
) -> Transport:
    """The transport a run uses: HTTP/2 when the target asks for it or, over TLS with "auto",
    when the server picks ``h2`` by ALPN; HTTP/1.1 (through ``session``, made by
    :func:`http1_session`) otherwise.

    A target that cannot be reached here gets the transport its choice names, so each case
    reports the failure as its own evidence instead of the run dying before it starts.
    """
    if target.http == "1.1":
        return Http1Transport(session)
    if target.http == "2":
        return H2Transport(target, connect_timeout)
    tls = ssl_context(target, ["h2", "http/1.1"])
    if tls is None:
        return Http1Transport(session)
    try:
        first = await connect(target.url, tls, connect_timeout)
    except (NotHttp2, OSError, TimeoutError, asyncio.IncompleteReadError):
        return Http1Transport(session)
    return H2Transport(target, connect_timeout, first)
