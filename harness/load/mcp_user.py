"""``McpUser``: a Locust user that holds one MCP session and calls a streaming tool again and again
(``harness.load.mcp_session``).

Its rows in Locust's statistics: ``initialize`` (initialize and notifications/initialized, once
per session), ``call`` (a tools/call, POST to response, through its resumes; a failure names
why) and ``resume`` (each GET with Last-Event-ID). Everything else goes to the HDR histograms and
counters of ``harness.load.metrics`` and so into load.json's ``mcp`` section.

Subclass it in a locustfile (``abstract`` stays True here) and call
``harness.load.plugin.install(Defaults(profile="mcp", ...))`` once.
"""

from __future__ import annotations

import random
from urllib.parse import urlsplit

import gevent
from locust import User, constant, task

from harness.load.mcp_session import McpLoadSession
from harness.load.options import mcp_spec
from harness.load.plugin import metrics_for
from harness.load.user import start_spread_s

__all__ = ["McpCallFailed", "McpUser"]


class McpCallFailed(Exception):
    """Why an MCP exchange failed, as Locust's failures table shows it."""


class McpUser(User):
    abstract = True
    wait_time = constant(0)

    session: McpLoadSession
    label: str

    def on_start(self) -> None:
        options = self.environment.parsed_options
        spec = mcp_spec(self.host or "", options)
        self.session = McpLoadSession(spec, metrics_for(self.environment), listener=self)
        self.label = urlsplit(spec.stream.url).path
        gevent.sleep(random.uniform(0, start_spread_s(getattr(options, "spawn_rate", 0) or 0)))

    def on_stop(self) -> None:
        session = getattr(self, "session", None)
        if session is not None:
            session.close()

    @task
    def calls(self) -> None:
        session = self.session
        if not session.is_open and not session.open():
            gevent.sleep(session.spec.stream.reconnect_delay_s)  # no busy loop on a dead target
            return
        session.batch()

    # -- McpListener: Locust rows as exchanges end ----------------------------------------------

    def exchanged(self, kind: str, seconds: float, error: str | None) -> None:
        self.environment.events.request.fire(
            request_type=kind,
            name=self.label,
            response_time=seconds * 1000,
            response_length=0,
            exception=McpCallFailed(error) if error is not None else None,
            context={},
        )
