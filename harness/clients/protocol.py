"""The JSON-lines protocol every client runner speaks: Python worker, Node runner, browser page.

One protocol for every kind of client keeps the matrix blind to what it drives; only the
transport differs (a pipe for processes, the fuzzing server's control channel for browsers).

Commands, one JSON object per line, to the runner:

* ``{"op": "run", "run": n, "url": str, "types": [str], "sdk": bool}``: start the client on
  ``url``; ``types`` are the event types to listen for (EventSource APIs only deliver a named
  type to a listener); with ``sdk`` an LLM SDK makes its streaming call with ``url`` as its base
  URL instead of decoding events, and an MCP SDK connects to ``url`` as its MCP endpoint and
  calls its one tool with a progress callback.
* ``{"op": "stop", "run": n}``: stop run ``n`` now (ignored when it is not the current run).

Records from the runner, each carrying ``run`` and ``t`` (wall-clock seconds, ``time.time()``:
the one clock a browser, Node and Python share on a host):

* ``hello {client, version}`` once at start-up, or ``unavailable {reason}`` (and exit);
* ``open``: the client announced the connection;
* ``event {type, data, last_event_id, raw}``: one dispatched event, normalised (a missing or
  empty type is ``message``; ``last_event_id`` is the last event ID string at dispatch) with the
  client's own values kept in ``raw``;
* ``error {message, closed}``: the client signalled an error; ``closed`` says whether it gave up
  (True), is reconnecting (False) or did not say (None);
* ``delta {text}``: one text delta an LLM SDK's streaming call handed the user's code;
* ``progress {progress, total, message}``: one progress notification an MCP SDK handed the
  user's progress callback; ``result {text, is_error}``: the tool's result it returned (the text
  of its text content);
* ``exception {type, message}``: the client raised to its caller;
* ``end {how}``: the run is over, always last and exactly once per run: ``returned`` (the client
  finished by itself), ``raised``, ``closed`` (it closed itself after an error), ``stopped`` (by
  a stop command) or ``crashed``.
"""

from __future__ import annotations

import json
import time
from typing import Any, Protocol

__all__ = ["Emit", "Record", "decode", "encode", "event"]

Record = dict[str, Any]


class Emit(Protocol):
    """What an adapter calls to report: ``emit("open")``, ``emit("error", message=...)``."""

    def __call__(self, kind: str, **fields: Any) -> None: ...


def encode(kind: str, run: int, **fields: Any) -> bytes:
    return json.dumps({"kind": kind, "run": run, "t": time.time(), **fields}).encode() + b"\n"


def decode(line: bytes) -> Record | None:
    """A record, or None for a line that is not one (a stray print from a library)."""
    try:
        record = json.loads(line)
    except ValueError:
        return None
    return record if isinstance(record, dict) and isinstance(record.get("kind"), str) else None


def event(
    emit: Emit, type_: str | None, data: str, last_event_id: str, raw: dict[str, Any]
) -> None:
    """Report one event: a default type of None or "" means ``message``; ``raw`` keeps what the
    client itself reported, for the report."""
    emit("event", type=type_ or "message", data=data, last_event_id=last_event_id, raw=raw)
