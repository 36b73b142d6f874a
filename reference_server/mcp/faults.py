"""Named MCP faults: each makes the clean ``/mcp`` break exactly one MCP rule (``M-*`` in
``harness.rules``), selected per request with ``?fault=NAME`` on the MCP URL.

A fault is a :class:`Wiring`, the clean one with one piece changed, at one of these layers:

``store``     the event store is a variant (``event_store``)
``sessions``  one event store serves every session (the SDK's own wiring)
``transport`` an option of the SDK's transport (``retry_interval``)
``tool``      the tools send a message differently (``server``)
``wire``      an ASGI stage rewrites what the transport says (``wire``)

:data:`MCP_FAULTS` is the single source for ``GET /faults/mcp``, for the endpoint that serves
each fault (``service``) and for the tests that prove each one on the wire.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mcp.server.streamable_http import EventStore

from harness.outcome import Level
from harness.rules import rule
from reference_server.mcp import wire
from reference_server.mcp.event_store import MemoryEventStore, PerStreamIds, ReplaysAllStreams
from reference_server.mcp.server import RETRY_MS, ProgressSender, also_standalone, request_scoped

__all__ = ["CLEAN", "MCP_FAULTS", "McpFault", "Wiring", "mcp_fault_catalogue"]


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
)

#: Every MCP fault by name.
MCP_FAULTS: dict[str, McpFault] = {fault.name: fault for fault in _ALL}


def mcp_fault_catalogue() -> list[dict[str, Any]]:
    """``GET /faults/mcp``: name, rule, level, layers and description of every MCP fault."""
    return [fault.as_json() for fault in MCP_FAULTS.values()]
