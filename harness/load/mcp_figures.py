"""The MCP load profile's bookkeeping: what one tools/call received, and the ``mcp`` section of
load.json. Pure: no I/O, no gevent (``harness.load.mcp_session`` drives the calls).

A user holds one MCP session and calls a streaming tool again and again; a share of the calls is
dropped by the harness after their first message and resumed by GET with ``Last-Event-ID``
(after the stream's ``retry``). What is measured, into the HDR histograms of the run (merged
across Locust workers like the others; ``<name>_ms`` in load.json's ``metrics``):

``mcp_priming``      POST sent to the priming event (an id with empty data, before any message)
``mcp_result``       POST sent to the call's response, for every call the harness did not drop
``mcp_resume_wait``  how much later than ``retry`` after the drop the resuming GET was sent
``mcp_replay``       resuming GET sent to the first message it replayed

and counted: sessions opened, sessions that could not initialize, sessions the server ended
(404), calls, calls answered and failed, forced drops, streams the server closed mid-call,
resumes, and the messages lost and duplicated.

What a call must carry is learned from the calls the harness did not drop: the progress values
of the undropped call of the session that carried the most, and its response. A call that was
resumed (dropped by the harness, or closed by the server before its response) lost each of
those that never arrived, on its stream or on a resume. A message is duplicated when it arrives
a second time anywhere in the session: a progress value of a call (its token) or a response (its
request id) seen before, on any stream, including a resume replaying another call's stream.
Request ids and progress tokens are unique over the whole run, so a message of another session,
or of no call at all, is recognised as such (``foreign``).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from harness.load.metrics import Metrics

__all__ = [
    "COUNTERS",
    "FAILURES",
    "HISTOGRAMS",
    "LIMITS",
    "MINIMA",
    "RESPONSE",
    "CallLedger",
    "McpSettings",
    "mcp_section",
]

#: The histograms an MCP run adds (see the module docstring).
HISTOGRAMS = ("mcp_priming", "mcp_result", "mcp_resume_wait", "mcp_replay")

#: The counters an MCP run adds, all ``mcp_``-prefixed in the run's metrics.
COUNTERS = (
    "mcp_sessions",
    "mcp_session_errors",
    "mcp_sessions_expired",
    "mcp_calls",
    "mcp_answered",
    "mcp_failed_calls",
    "mcp_json_answers",
    "mcp_unprimed",
    "mcp_drops",
    "mcp_server_closes",
    "mcp_not_resumable",
    "mcp_resumes",
    "mcp_lost",
    "mcp_duplicated",
    "mcp_foreign",
    "mcp_not_json_rpc",
)

#: Why an MCP exchange failed, beside ``harness.load.session.FAILURES`` (``status_<code>``,
#: ``refused``, ``no_head``, ``stalled`` ...), by the key ``streams.failures`` counts it under.
FAILURES: dict[str, str] = {
    "mcp_initialize": "the initialize request got no usable InitializeResult",
    "mcp_session_expired": "a request in a session got 404: the server ended the session",
    "mcp_jsonrpc_error": "the call was answered with a JSON-RPC error",
    "mcp_no_response": "the call's stream ended without its response, and no event id to resume",
    "mcp_not_answered": "the call's response never came, through every resume",
    "mcp_not_a_stream": "an answer that is neither application/json nor text/event-stream",
}

#: The key of a call's response in :attr:`CallLedger.received` (progress values are floats).
RESPONSE = "response"

#: Gate upper limits on the ``mcp`` section: threshold key -> key of ``report["mcp"]``.
LIMITS = {
    "mcp_lost_per_1000_drops": "lost_per_1000_drops",
    "mcp_duplicated_per_1000_drops": "duplicated_per_1000_drops",
    "mcp_session_errors": "session_errors",
    "mcp_call_error_rate": "call_error_rate",
}
#: Gate lower limits on the ``mcp`` section: threshold key -> key of ``report["mcp"]``.
MINIMA = {
    "mcp_min_calls": "calls",
    "mcp_min_drops": "drops",
    "mcp_min_peak_sessions": "peak_sessions",
}


@dataclass(frozen=True, slots=True)
class McpSettings:
    """What the run asked for (the ``--sse-mcp-*`` options), recorded in the ``mcp`` section."""

    tool: str
    drop_share: float
    parallel: int
    version: str


@dataclass(slots=True)
class CallLedger:
    """What one tools/call received, wherever it arrived."""

    request_id: int
    token: str
    #: The harness drops this call's stream after its first message.
    drop: bool = False
    #: Its stream was cut before its response: by the harness (``dropped``) or by the server.
    dropped: bool = False
    server_closed: bool = False
    #: Keys received (progress values, :data:`RESPONSE`), with how many times each came.
    received: Counter[float | str] = field(default_factory=Counter)
    #: The response was a JSON-RPC error (its message, shortened).
    error: str | None = None
    #: The last event id seen on its streams, and the stream's reconnection time.
    last_event_id: str = ""
    retry_ms: int | None = None

    @property
    def answered(self) -> bool:
        return bool(self.received[RESPONSE])

    @property
    def interrupted(self) -> bool:
        return self.dropped or self.server_closed

    def receive(self, key: float | str) -> bool:
        """Note ``key``; True when it had come before (a duplicate)."""
        again = bool(self.received[key])
        self.received[key] += 1
        return again

    def progress(self) -> frozenset[float | str]:
        return frozenset(key for key in self.received if key != RESPONSE)

    def lost(self, expected: frozenset[float | str]) -> int:
        """How many of ``expected`` (progress values) and the response never arrived."""
        return sum(1 for key in (*expected, RESPONSE) if not self.received[key])


def _per_1000(count: int, drops: int) -> float | None:
    """``count`` per 1,000 ``drops``; None when neither happened. Messages lost or duplicated
    without any drop are counted as if there had been one, so that they are never hidden."""
    if not drops:
        return float(count * 1000) if count else None
    return round(count * 1000 / drops, 3)


def mcp_section(metrics: Metrics, settings: McpSettings) -> dict[str, Any]:
    """``load.json``'s ``mcp`` section, from the run's merged metrics.

    ``drops`` counts the harness's forced drops; the per-1,000 rates divide by every interrupted
    call (forced drops plus streams the server closed mid-call), the calls that had to resume.
    """
    counters, histograms = metrics.counters, metrics.histograms
    calls = counters["mcp_calls"]
    interrupted = counters["mcp_drops"] + counters["mcp_server_closes"]

    def summary(name: str) -> dict[str, Any]:
        found = histograms.get(name)
        if found is None:
            return {"count": 0, "p50": None, "p90": None, "p99": None, "max": None}
        return found.summary()

    return {
        "tool": settings.tool,
        "drop_share": settings.drop_share,
        "parallel": settings.parallel,
        "version": settings.version,
        "sessions_opened": counters["mcp_sessions"],
        "peak_sessions": metrics.peak_sessions,
        "session_errors": counters["mcp_session_errors"],
        "sessions_expired": counters["mcp_sessions_expired"],
        "calls": calls,
        "answered": counters["mcp_answered"],
        "failed_calls": counters["mcp_failed_calls"],
        "call_error_rate": round(counters["mcp_failed_calls"] / calls, 6) if calls else 0.0,
        "json_answers": counters["mcp_json_answers"],
        "unprimed": counters["mcp_unprimed"],
        "drops": counters["mcp_drops"],
        "server_closes": counters["mcp_server_closes"],
        "not_resumable": counters["mcp_not_resumable"],
        "resumes": counters["mcp_resumes"],
        "lost": counters["mcp_lost"],
        "duplicated": counters["mcp_duplicated"],
        "foreign": counters["mcp_foreign"],
        "not_json_rpc": counters["mcp_not_json_rpc"],
        "lost_per_1000_drops": _per_1000(counters["mcp_lost"], interrupted),
        "duplicated_per_1000_drops": _per_1000(counters["mcp_duplicated"], interrupted),
        "priming_ms": summary("mcp_priming"),
        "result_ms": summary("mcp_result"),
        "resume_wait_ms": summary("mcp_resume_wait"),
        "replay_ms": summary("mcp_replay"),
    }
