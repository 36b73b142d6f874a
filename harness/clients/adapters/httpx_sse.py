"""httpx-sse, used as its README's quickstart shows: ``connect_sse`` on an ``httpx.Client``.

httpx-sse parses one response and has no reconnect of its own (its README leaves retries to the
caller), so reconnect cases see one request; that is the observation, graded by the rule.
``ServerSentEvent.id`` is the decoder's last event ID, which persists across events.
"""

from __future__ import annotations

import httpx
from httpx_sse import connect_sse

from harness.clients.protocol import Emit, event

DIST = "httpx-sse"


def run(url: str, types: list[str], emit: Emit) -> None:
    with httpx.Client() as client, connect_sse(client, "GET", url) as source:
        for sse in source.iter_sse():
            raw = {"event": sse.event, "id": sse.id, "retry": sse.retry}
            event(emit, sse.event, sse.data, sse.id, raw)
