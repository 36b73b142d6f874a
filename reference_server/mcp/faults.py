"""Named MCP faults: each makes the clean ``/mcp`` break exactly one MCP rule (``M-*`` in
``harness.rules``), selected per request with ``?fault=NAME`` on the MCP URL.

A fault is a :class:`Wiring`, the clean one with one piece changed, at one of these layers:

``store``     the event store is a variant (``event_store``)
``sessions``  one event store serves every session (the SDK's own wiring)
``transport`` an option of the SDK's transport (``retry_interval``)
``tool``      the tools send a message differently (``server``)
``wire``      an ASGI stage rewrites what the transport says (``wire``)

:data:`MCP_FAULTS` is the single source for ``GET /faults/mcp``, for the endpoint that serves
each fault (``service``) and for the tests that prove each one on the wire. A fault is served on
``/mcp`` (Streamable HTTP), or, its ``transport`` ``legacy``, on ``/mcp-legacy/sse`` (the
2024-11-05 HTTP+SSE stream, where only its wire stage applies).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from mcp.server.streamable_http import EventStore
from starlette.types import ASGIApp

from harness.outcome import Level
from harness.rules import rule
from reference_server.mcp import wire
from reference_server.mcp.event_store import (
    MemoryEventStore,
    PerStreamIds,
    ReplaysAllStreams,
    SkipsFirstReplayed,
)
from reference_server.mcp.server import RETRY_MS, ProgressSender, also_standalone, request_scoped

__all__ = ["CLEAN", "MCP_FAULTS", "McpFault", "Transport", "Wiring", "mcp_fault_catalogue"]

#: Where a fault is served: ``/mcp`` or the legacy ``/mcp-legacy/sse``.
Transport = Literal["streamable", "legacy"]


@dataclass(frozen=True, slots=True)
class Wiring:
    """How one MCP endpoint is put together; the defaults are the clean ``/mcp``."""

    store: Callable[[], EventStore] = MemoryEventStore
    #: One store for all sessions (the SDK's wiring) instead of one per session.
    shared_store: bool = False
    #: The priming events' ``retry:`` (None: no retry field at all).
    retry_ms: int | None = RETRY_MS
    progress: ProgressSender = request_scoped
    wire: wire.Stage | None = None

    def around(self, app: ASGIApp) -> ASGIApp:
        """``app`` behind this wiring's wire stage, if it has one."""
        return self.wire(app) if self.wire is not None else app

    @property
    def layers(self) -> list[str]:
        """Where it differs from the clean wiring (see the module docstring)."""
        flags = {
            "store": self.store is not CLEAN.store,
            "sessions": self.shared_store,
            "transport": self.retry_ms != CLEAN.retry_ms,
            "tool": self.progress is not CLEAN.progress,
            "wire": self.wire is not None,
        }
        return [layer for layer, on in flags.items() if on]


CLEAN = Wiring()


@dataclass(frozen=True, slots=True)
class McpFault:
    name: str
    rule: str
    description: str
    wiring: Wiring
    transport: Transport = "streamable"

    @property
    def level(self) -> Level:
        """The level of the rule broken (``harness.rules``)."""
        return rule(self.rule).level

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "rule": self.rule,
            "level": self.level.value,
            "layers": self.wiring.layers,
            "transport": self.transport,
            "description": self.description,
        }


_ALL = (
    McpFault(
        "ids_per_stream",
        "M-06",
        "event ids count 1, 2, 3 afresh on every stream, so two streams of one session share ids",
        Wiring(store=PerStreamIds),
    ),
    McpFault(
        "replay_all_streams",
        "M-10",
        "a resume (GET with Last-Event-ID) replays what every stream of the session sent after "
        "that id, not only the dropped stream's",
        Wiring(store=ReplaysAllStreams),
    ),
    McpFault(
        "replay_across_sessions",
        "M-10",
        "one event store serves every session, as the SDK wires it: a Last-Event-ID from another "
        "session's stream replays that session's messages, and sessions' streams with the same "
        "request id are one stream",
        Wiring(shared_store=True),
    ),
    McpFault(
        "broadcast_progress",
        "M-07",
        "every progress notification is also sent on the session's GET stream, so one message "
        "arrives on two streams",
        Wiring(progress=also_standalone),
    ),
    McpFault(
        "no_priming",
        "M-04",
        "no priming event (an id with empty data) opens a stream; its retry field is still sent, "
        "alone",
        Wiring(wire=wire.strip_priming),
    ),
    McpFault(
        "close_without_retry",
        "M-11",
        "no retry field is ever sent, yet test_reconnection closes its stream mid-call",
        Wiring(retry_ms=None),
    ),
    McpFault(
        "response_on_get",
        "M-08",
        'a GET stream that resumes nothing opens with a JSON-RPC response {"jsonrpc":"2.0",'
        '"id":1,"result":{}}',
        Wiring(wire=wire.response_on_get),
    ),
    McpFault(
        "session_id_space",
        "M-13",
        "the session id is issued with a space in it (and accepted back)",
        Wiring(wire=wire.spaced_session_id),
    ),
    McpFault(
        "post_text_plain",
        "M-01",
        "every answer to a POST is labelled Content-Type text/plain instead of application/json "
        "or text/event-stream, its body unchanged",
        Wiring(wire=wire.text_plain_answers),
    ),
    McpFault(
        "notification_body",
        "M-02",
        'a POST carrying only a notification is answered 200 with a JSON body {"accepted":true} '
        "instead of 202 and no body",
        Wiring(wire=wire.body_on_accepted),
    ),
    McpFault(
        "get_404",
        "M-03",
        "a GET without Last-Event-ID (the session's own stream) is answered 404; resumes are "
        "served",
        Wiring(wire=wire.get_not_found),
    ),
    McpFault(
        "split_message",
        "M-05",
        "the first progress notification of each session is cut in half over two events, so "
        "neither event's data is one JSON-RPC message",
        Wiring(wire=wire.split_progress),
    ),
    McpFault(
        "resume_skips_one",
        "M-09",
        "a resume (GET with Last-Event-ID) leaves out the first message after that id",
        Wiring(store=SkipsFirstReplayed),
    ),
    McpFault(
        "session_optional",
        "M-14",
        "a request without Mcp-Session-Id (other than initialize) is served in the session the "
        "latest initialize opened, instead of refused with 400",
        Wiring(wire=wire.latest_session),
    ),
    McpFault(
        "delete_ignored",
        "M-15",
        "DELETE is answered 200 but ends nothing: the session's id is still served",
        Wiring(wire=wire.ignore_delete),
    ),
    McpFault(
        "version_unchecked",
        "M-16",
        "an MCP-Protocol-Version naming no revision the server speaks is dropped before the SDK "
        "sees it, so the request is served (as 2025-03-26) instead of refused with 400",
        Wiring(wire=wire.drop_unknown_version),
    ),
    McpFault(
        "origin_unchecked",
        "M-17",
        "the Origin header is dropped before the SDK's check, so a foreign Origin is served "
        "instead of refused with 403",
        Wiring(wire=wire.drop_origin),
    ),
    McpFault(
        "legacy_no_endpoint",
        "M-18",
        "on the legacy HTTP+SSE stream (/mcp-legacy/sse?fault=legacy_no_endpoint) the first "
        "event is named hello, not endpoint, its data (the POST URI) unchanged",
        Wiring(wire=wire.rename_endpoint),
        transport="legacy",
    ),
    McpFault(
        "stateless_get_stream",
        "M-20",
        "a GET of the stateless revision (MCP-Protocol-Version 2026-07-28) is answered 200 with "
        "an event stream (a comment, then the end) instead of 405",
        Wiring(wire=wire.stateless_get_stream),
    ),
)

#: Every MCP fault by name.
MCP_FAULTS: dict[str, McpFault] = {fault.name: fault for fault in _ALL}


def mcp_fault_catalogue() -> list[dict[str, Any]]:
    """``GET /faults/mcp``: name, rule, level, layers and description of every MCP fault."""
    return [fault.as_json() for fault in MCP_FAULTS.values()]
