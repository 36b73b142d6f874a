"""requests-sse's ``EventSource`` with its defaults, reporting its open and error callbacks."""

from __future__ import annotations

from requests_sse import EventSource

from harness.clients.protocol import Emit, event

DIST = "requests-sse"


def run(url: str, types: list[str], emit: Emit) -> None:
    with EventSource(url, on_open=lambda: emit("open"), on_error=lambda: emit("error")) as source:
        for item in source:
            raw = {"type": item.type, "data": item.data}
            event(emit, item.type, item.data or "", item.last_event_id, raw)
