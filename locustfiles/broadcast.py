"""Fan-out: one publisher, many subscribers of one broadcast channel.

    locust -f locustfiles/broadcast.py --host http://127.0.0.1:8000 --headless -u 101 -r 50 -t 1m

One user (``fixed_count = 1``) publishes to ``POST /broadcast/<channel>`` every
``--sse-publish-ms``, each event stamped with when it was published (``sent``) and when it was
due (``intended``); every other user subscribes to ``GET /broadcast/<channel>`` (``--sse-path``).
Delivery latency is then end-to-end fan-out latency, publish to subscriber dispatch, and
lateness adds the publisher's own delay. Completeness: the server answers each publish with its
subscriber count, so the run knows how many deliveries were due; the report's ``broadcast``
section sets them against the events subscribers got. Ids are the channel's sequence, so lost and
duplicated events are counted per subscriber as for any stream.
"""

import json
import time
from typing import Any

from locust import events, task
from locust.contrib.fasthttp import FastHttpUser

from harness.load.options import Defaults
from harness.load.plugin import install, metrics_for
from harness.load.user import SSEUser

install(Defaults(profile="broadcast", path="/broadcast/load", max_events=0, max_seconds=3600.0))


@events.init_command_line_parser.add_listener
def _options(parser: Any, **_kw: Any) -> None:
    parser.add_argument(
        "--sse-publish-ms", type=float, default=100.0, help="publisher: one event every N ms"
    )
    parser.add_argument(
        "--sse-publish-max", type=int, default=100_000, help="publisher: events at most"
    )


class Subscriber(SSEUser):
    """Reads the channel (``--sse-path``) for as long as the test runs."""


class Publisher(FastHttpUser):
    """Publishes stamped events to the channel, at a fixed pace, and notes who should get them."""

    fixed_count = 1

    def on_start(self) -> None:
        options = self.environment.parsed_options
        self.path = options.sse_path
        self.interval = options.sse_publish_ms / 1000
        self.left = options.sse_publish_max
        self.anchor = time.time()
        self.seq = 0

    def wait_time(self) -> float:
        """Until the next event is due: a drift-free schedule, so lateness is the publisher's."""
        return max(0.0, self.anchor + self.seq * self.interval - time.time())

    @task
    def publish(self) -> None:
        if self.left <= 0:
            return
        self.left -= 1
        payload = {"seq": self.seq, "intended": self.anchor + self.seq * self.interval}
        self.seq += 1
        payload["sent"] = time.time()
        data = json.dumps(payload, separators=(",", ":"))
        with self.client.post(self.path, json={"data": data}, catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"publish answered {response.status_code}")
                return
            counters = metrics_for(self.environment).counters
            counters["published"] += 1
            counters["expected_deliveries"] += response.json()["subscribers"]
