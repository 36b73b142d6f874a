"""What the two Python LLM SDK adapters share: their decoder's view of the generic cases.

An SDK reads its streams with its own SSE decoder; the generic cases reach that decoder the way
the SDK's ``Stream`` does, on the body of a real response, fetched here with a GET on the SDK's
own default HTTP client (``DefaultHttpxClient``). Both SDKs' ``ServerSentEvent`` carry the
event name (None for the default type), the data and the decoder's last event ID.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from harness.clients.protocol import Emit, event

__all__ = ["decode_events"]


def decode_events(http: Any, url: str, decode: Callable[[Any], Iterable[Any]], emit: Emit) -> None:
    """GET ``url`` with ``http`` (an SDK's ``DefaultHttpxClient``), hand the response to
    ``decode`` (the SDK's decoding of a response into events) and report every event."""
    with http, http.stream("GET", url) as response:
        for sse in decode(response):
            raw = {"event": sse.event, "id": sse.id, "retry": sse.retry}
            event(emit, sse.event, sse.data, sse.id or "", raw)
