"""CORS for the reference server, with the one fault that lives in the preflight.

A browser's EventSource reconnects with ``Last-Event-ID``, a non-safelisted header, so a
cross-origin stream needs a preflight that allows it (S-19). The fault
``cors_refuses_last_event_id`` must break exactly that, and the preflight is answered by the CORS
middleware before any stream fault runs: so the fault is chosen here, per request, from the same
``?fault=`` (a preflight carries the stream's query) or ``X-SSE-Fault`` as every other fault.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from reference_server.faults import FAULTS
from reference_server.streaming import FAULT_HEADER

__all__ = ["FaultAwareCors"]

_FAULT_HEADER = FAULT_HEADER.lower().encode("latin-1")


class FaultAwareCors:
    """Starlette's CORSMiddleware, or the same one without ``last-event-id`` in the allowed
    headers when the request names a fault that refuses it."""

    def __init__(self, app: ASGIApp, /, **options: Any) -> None:
        self._clean = CORSMiddleware(app, **options)
        allowed = [h for h in options.get("allow_headers", ()) if h.lower() != "last-event-id"]
        self._refusing = CORSMiddleware(app, **{**options, "allow_headers": allowed})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        chosen = self._refusing if _refuses_last_event_id(scope) else self._clean
        await chosen(scope, receive, send)


def _refuses_last_event_id(scope: Scope) -> bool:
    if scope["type"] != "http":
        return False
    names = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("fault", [])
    names += [v.decode("latin-1") for k, v in scope.get("headers", ()) if k == _FAULT_HEADER]
    return any(name in FAULTS and FAULTS[name].refuses_last_event_id for name in names)
