"""sseclient-py, used as its README shows: ``SSEClient(requests.get(url, stream=True)).events()``.

``Event.id`` is the id field of the event's own block (None without one), not the last event ID
string; the adapter carries the last one forward, as an application must. It has no reconnect.
"""

from __future__ import annotations

import requests
import sseclient

from harness.clients.protocol import Emit, event

DIST = "sseclient-py"


def run(url: str, types: list[str], emit: Emit) -> None:
    response = requests.get(url, stream=True)
    last_event_id = ""
    # The README passes the response itself (iterated for chunks); the stub asks for an iterator.
    for item in sseclient.SSEClient(response).events():  # type: ignore[arg-type]
        if item.id is not None:
            last_event_id = item.id
        event(emit, item.event, item.data, last_event_id, {"event": item.event, "id": item.id})
