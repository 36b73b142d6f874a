"""What a soak run watches on its target: memory by process id, streams and tasks by the contract.

The target's resident memory is read from ``/proc/<pid>/status``, so only a target on this
machine whose process id is known is measured: the server ``sse-harness load`` started (the
embedded reference server, ``--app``), or ``--sse-target-pid``. Its live streams and asyncio
tasks come from the scripting contract's ``GET /_observe/streams`` (``harness.contract``), which
any app can mount; without it (404), or locked to the harness (403: set the token in
``SSE_HARNESS_CONTRACT_TOKEN``), they are not observed and the report says why.

The requests are plain ``urllib``: in a Locust process gevent has patched its sockets, so a
request waits cooperatively, and ``records=false`` asks for counts only (a contract that does not
know it sends its lists, which are counted instead).
"""

from __future__ import annotations

import json
import os
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from harness.load.memory import status_mib
from harness.load.soak import Sample

__all__ = ["OBSERVE_PATH", "TargetWatch", "observe_url"]

OBSERVE_PATH = "/_observe/streams"
#: The contract's token header and the variable it is read from (``harness.contract``, which
#: imports FastAPI: not imported into Locust's processes for two strings).
TOKEN_HEADER, TOKEN_ENV = "X-SSE-Harness-Token", "SSE_HARNESS_CONTRACT_TOKEN"
#: Bound on one observation request.
OBSERVE_TIMEOUT_S = 10.0
#: Between observations while waiting for the target's streams to end.
SETTLE_POLL_S = 0.2
#: How long tasks get to end once the streams have.
TASKS_GRACE_S = 1.0


def observe_url(host: str, contract: str) -> str | None:
    """Where ``/_observe/streams`` is: under ``contract`` (a base URL), else at ``host``'s
    origin; None when ``contract`` is ``none``."""
    contract = contract.strip()
    if contract.lower() == "none":
        return None
    if contract:
        root = contract.rstrip("/")
    else:
        parts = urlsplit(host)
        root = f"{parts.scheme}://{parts.netloc}"
    return f"{root}{OBSERVE_PATH}?records=false"


class TargetWatch:
    """Samples of the target, and the wait for its streams to end after the clients left."""

    def __init__(
        self,
        *,
        pid: int | None,
        url: str | None,
        cafile: str | None = None,
        insecure: bool = False,
    ) -> None:
        self.pid = pid
        self.url = url
        #: Why live streams and tasks are not observed (None: they are).
        self.why: str | None = None if url else "switched off (contract: none)"
        self._context = ssl.create_default_context(cafile=cafile or None)
        if insecure:
            self._context.check_hostname = False
            self._context.verify_mode = ssl.CERT_NONE
        self.baseline: tuple[int | None, int | None] = (None, None)
        self.after: tuple[int | None, int | None] = (None, None)
        self.settle_s: float | None = None
        self.failed_observations = 0

    def begin(self) -> None:
        """Before the run: what the target already holds is not the run's."""
        self.baseline = self._observe(first=True)

    def sample(self, finished: int) -> Sample:
        live, tasks = self._observe()
        rss = status_mib("VmRSS", self.pid) if self.pid else None
        return Sample(time.time(), rss, finished, live, tasks)

    def settle(self, wait_s: float, sleep: Callable[[float], Any]) -> None:
        """After the clients left: wait up to ``wait_s`` for the target's live streams to come
        back to the baseline, then up to :data:`TASKS_GRACE_S` for its tasks (a connection's
        task ends a little after its stream; a task a server starts once and keeps, as
        sse-starlette's shutdown watcher, never does, and must not hold every soak for
        ``wait_s``). What is live then stayed after its client."""
        if self.why is not None or None in self.baseline:
            return
        began = time.monotonic()
        streams_back: float | None = None
        while True:
            self.after = self._observe()
            now = time.monotonic()
            live, tasks = self.after
            if streams_back is None and live is not None and live <= (self.baseline[0] or 0):
                streams_back = now
            tasks_back = tasks is not None and tasks <= (self.baseline[1] or 0)
            done = streams_back is not None and (tasks_back or now - streams_back >= TASKS_GRACE_S)
            if done or now - began >= wait_s:
                self.settle_s = round(now - began, 2)
                return
            sleep(SETTLE_POLL_S)

    def as_json(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "why": self.why,
            "baseline_live": self.baseline[0],
            "baseline_tasks": self.baseline[1],
            "live_after": self.after[0],
            "tasks_after": self.after[1],
            "settle_s": self.settle_s,
            "failed_observations": self.failed_observations,
        }

    def _observe(self, *, first: bool = False) -> tuple[int | None, int | None]:
        """(live streams, tasks), or (None, None). A first observation that fails says why and
        switches observing off; a later one is counted (a busy target may time out once)."""
        if self.why is not None or self.url is None:
            return None, None
        headers = {"Accept": "application/json"}
        if token := os.environ.get(TOKEN_ENV):
            headers[TOKEN_HEADER] = token
        request = urllib.request.Request(self.url, headers=headers)
        try:
            with urllib.request.urlopen(
                request, timeout=OBSERVE_TIMEOUT_S, context=self._context
            ) as answer:
                body = json.load(answer)
            live = body.get("live_count", body.get("live"))
            return (len(live) if isinstance(live, list) else int(live)), int(body["tasks"])
        except urllib.error.HTTPError as exc:
            why = _refusal(exc.code)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            why = f"{type(exc).__name__}: {exc}"
        if first:
            self.why = f"{self.url}: {why}"
        else:
            self.failed_observations += 1
        return None, None


def _refusal(status: int) -> str:
    if status == 404:
        return "404: the target does not serve the scripting contract (harness.contract)"
    if status == 403:
        return f"403: the contract is locked; set its token in {TOKEN_ENV}"
    return f"HTTP {status}"
