"""Reconnect storms: streams that the server keeps ending, resumed with ``Last-Event-ID``.

Every user reads the reference server's resumable counter (600 events, 10 a second) and
reconnects whenever the server closes its stream, sending the last id it saw, until the server
answers 204 (nothing after that id) or 600 events are read; the report counts
reconnects, resumes that were exact (the next id, or 204 at the end) and, over all of them, lost
and duplicated events. Make the server close streams in one of two ways:

    # every stream is closed after 20 events: a storm every 2 s
    python -m reference_server --port 8000 --max-events 20
    locust -f locustfiles/reconnect.py --host http://127.0.0.1:8000 --headless -u 200 -r 50 -t 1m

    # or restart the server while the test runs (the counter keeps no state, so resume is exact)

Add ``&fault=ignore_last_event_id`` to ``--sse-path`` to see what an inexact resume looks like.
"""

from harness.load.options import Defaults
from harness.load.plugin import install
from harness.load.user import SSEUser

install(
    Defaults(
        profile="reconnect",
        path="/counter?count=600&interval_ms=100&retry_ms=200",
        max_events=600,
        max_seconds=90.0,
        reconnect=True,
    )
)


class ReconnectUser(SSEUser):
    """Streams the counter to its end through every close, resuming after the last id."""
