"""CORS for the reference server: which pages may read it, and the one fault that lives in the
preflight.

A page's request carries its cookies only to a server that names the page's origin and allows
credentials, and then the page can read the answer: so the server names only origins its user
trusts (``--cors-origin``; by default pages served from this machine, and ``null``, a file://
page). The stream endpoints also name the harness's own foreign origin
(:data:`harness.server.target.CROSS_ORIGIN`, unregistrable), since the CORS cases preflight
them from it (S-19); the scripting contract, the fault catalogue and the API docs do not.

A browser's EventSource reconnects with ``Last-Event-ID``, a non-safelisted header, so a
cross-origin stream needs a preflight that allows it. The fault ``cors_refuses_last_event_id``
must break exactly that, and the preflight is answered by the CORS middleware before any stream
fault runs: so the fault is chosen here, per request, from the same ``?fault=`` (a preflight
carries the stream's query) or ``X-SSE-Fault`` as every other fault.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any
from urllib.parse import parse_qs

from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from harness.server.target import CROSS_ORIGIN
from reference_server.faults import FAULTS
from reference_server.settings import origin_pattern
from reference_server.streaming import FAULT_HEADER

__all__ = ["FaultAwareCors"]

_FAULT_HEADER = FAULT_HEADER.lower().encode("latin-1")


class FaultAwareCors:
    """Starlette's CORSMiddleware with the origins above: on a stream endpoint (a path one of
    ``streams`` matches) the trusted ones and the harness's, with ``last-event-id`` left out of
    the allowed headers when the request names a fault that refuses it; elsewhere the trusted
    ones only."""

    def __init__(
        self,
        app: ASGIApp,
        /,
        *,
        origins: Sequence[str],
        streams: Sequence[re.Pattern[str]],
        **options: Any,
    ) -> None:
        trusted = origin_pattern(origins)
        on_streams = origin_pattern([*origins, CROSS_ORIGIN])
        allowed = [h for h in options.get("allow_headers", ()) if h.lower() != "last-event-id"]
        self._streams = streams
        self._elsewhere = CORSMiddleware(app, allow_origin_regex=trusted, **options)
        self._clean = CORSMiddleware(app, allow_origin_regex=on_streams, **options)
        self._refusing = CORSMiddleware(
            app, allow_origin_regex=on_streams, **{**options, "allow_headers": allowed}
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not any(p.match(scope["path"]) for p in self._streams):
            chosen = self._elsewhere
        elif _refuses_last_event_id(scope):
            chosen = self._refusing
        else:
            chosen = self._clean
        await chosen(scope, receive, send)


def _refuses_last_event_id(scope: Scope) -> bool:
    names = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("fault", [])
    names += [v.decode("latin-1") for k, v in scope.get("headers", ()) if k == _FAULT_HEADER]
    return any(name in FAULTS and FAULTS[name].refuses_last_event_id for name in names)
