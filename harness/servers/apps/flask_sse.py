"""Flask, as its "Streaming Contents" pattern shows: a ``Response`` over a generator with
``mimetype="text/event-stream"``. Served twice, on gunicorn's gevent worker and on waitress;
Flask has no keep-alive for a stream."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

from flask import Flask, Response, request

from harness.servers.apps.stream import INTERVAL_S, data, event_ids

app = Flask(__name__)


@app.get("/stream")
def stream() -> Response:
    def events(last_event_id: str | None) -> Iterator[str]:
        for i, n in enumerate(event_ids(last_event_id)):
            if i:
                time.sleep(INTERVAL_S)
            yield f"id: {n}\ndata: {data(n)}\n\n"

    return Response(events(request.headers.get("Last-Event-ID")), mimetype="text/event-stream")


@app.get("/idle")
def idle() -> Response:
    def nothing() -> Iterator[str]:
        threading.Event().wait()  # until the server is stopped: WSGI never says the client left
        yield ""

    return Response(nothing(), mimetype="text/event-stream")
