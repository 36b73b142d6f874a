"""Any SSE endpoint under load: one bounded stream after another per user.

    locust -f locustfiles/stream.py --host http://127.0.0.1:8000 --headless -u 100 -r 20 -t 1m

Defaults to the reference server's counter (one small event a second, 60 per stream). Options
(``--sse-path``, ``--sse-method``, ``--sse-body``, ``--sse-header NAME:VALUE``,
``--sse-max-events``, ``--sse-max-seconds``, ``--sse-expect-events``, ``--sse-expect-endless``,
``--sse-report-dir`` ...) are Locust custom arguments, in the web UI's start form ("Custom
parameters") and in the environment as ``LOCUST_SSE_*`` (``harness.load.options`` lists them).
A stream the server ends cleanly is a clean end; it fails as truncated only short of what
``--sse-expect-events N`` or ``--sse-expect-endless`` declared. On quit, ``load.json`` and
``load.html`` are written and the run is gated against the thresholds (see ``harness.load.gate``).
"""

from harness.load.options import Defaults
from harness.load.plugin import install
from harness.load.user import SSEUser

install(Defaults(profile="stream"))


class StreamUser(SSEUser):
    """Streams the ``--sse-path`` endpoint, as the ``--sse-*`` options bound it."""
