"""What one client did in one cell: its records, the requests it made, what it was served."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from harness.clients.model import ClientCase
from harness.clients.protocol import Record
from harness.clients.server import SeenRequest, Served
from harness.outcome import escape_bytes
from harness.stream import Event

__all__ = ["Observation", "SeenEvent"]


@dataclass(frozen=True, slots=True)
class SeenEvent:
    t: float
    event: Event
    raw: dict[str, Any]


@dataclass(slots=True)
class Observation:
    """The evidence of one cell. Times are wall-clock seconds (``time.time()``).

    ``ended`` says how the cell ended: ``client <how>`` when the client ended by itself (the
    ``how`` of its end record), ``quiet`` when the script was served and nothing happened for a
    while, ``bound`` at the case's time bound. ``hung`` means the runner did not confirm the
    stop and was killed. ``error`` is set when the harness itself could not run the cell.
    """

    case: ClientCase
    path: str
    started: float
    records: list[Record] = field(default_factory=list)
    requests: list[SeenRequest] = field(default_factory=list)
    served: list[Served] = field(default_factory=list)
    ended: str = ""
    hung: bool = False
    error: str | None = None
    duration: float = 0.0

    def kinds(self, kind: str) -> list[Record]:
        return [r for r in self.records if r["kind"] == kind]

    def events(self) -> list[SeenEvent]:
        return [
            SeenEvent(
                float(r["t"]),
                Event(str(r.get("type")), str(r.get("data")), str(r.get("last_event_id"))),
                r.get("raw") or {},
            )
            for r in self.kinds("event")
        ]

    @property
    def bounded(self) -> bool:
        """The client was still running when the case's bound stopped it."""
        return self.ended == "bound"

    def _mcp_json(self, rel: Callable[[float], float]) -> dict[str, Any]:
        """An MCP SDK's records: what its progress callback got, and the call's result."""
        progress = self.kinds("progress")
        results = self.kinds("result")
        if not progress and not results:
            return {}
        return {
            "progress": [
                {
                    "t": rel(float(r["t"])),
                    "progress": r.get("progress"),
                    "total": r.get("total"),
                    "message": r.get("message"),
                }
                for r in progress
            ],
            "results": [
                {"t": rel(float(r["t"])), "text": r.get("text"), "is_error": r.get("is_error")}
                for r in results
            ],
        }

    def to_json(self) -> dict[str, Any]:
        """The ``observed`` part of a report result; times relative to the cell's start."""

        def rel(t: float) -> float:
            return round(t - self.started, 4)

        return {
            "events": [
                {
                    "t": rel(e.t),
                    "type": e.event.type,
                    "data": e.event.data,
                    "last_event_id": e.event.last_event_id,
                    "raw": e.raw,
                }
                for e in self.events()
            ],
            "deltas": [
                {"t": rel(float(r["t"])), "text": r.get("text")} for r in self.kinds("delta")
            ],
            **self._mcp_json(rel),
            "open": [rel(float(r["t"])) for r in self.kinds("open")],
            "errors": [
                {"t": rel(float(r["t"])), "message": r.get("message"), "closed": r.get("closed")}
                for r in self.kinds("error")
            ],
            "exceptions": [
                {"t": rel(float(r["t"])), "type": r.get("type"), "message": r.get("message")}
                for r in self.kinds("exception")
            ],
            "requests": [
                {
                    "t": rel(q.t),
                    "method": q.method,
                    "path": q.path,
                    "headers": {k: escape_bytes(v) for k, v in q.headers},
                    **({} if q.role is None else {"role": q.role}),
                    **({"body": escape_bytes(q.body, 400)} if q.body else {}),
                }
                for q in self.requests
            ],
            "served": [
                {
                    "status": s.status,
                    "headers_at": rel(s.headers_at),
                    "chunks_at": [rel(t) for t in s.chunk_times],
                    "ended_at": None if s.ended_at is None else rel(s.ended_at),
                }
                for s in self.served
            ],
            "ended": self.ended + (" (runner killed: it did not stop)" if self.hung else ""),
            "duration_s": round(self.duration, 3),
        }
