"""The scripting contract: the endpoints a target serves so the harness can drive and watch it.

This docstring is the contract's one definition. A target that speaks it is graded in the
*Scripted* profile (DESIGN.md): the harness posts a script, the target emits exactly those bytes
through its own stack (middleware, proxy, server), and the target reports when its generators
start and stop, so disconnect cases can see what a black box hides. The reference server mounts
a router made by :func:`make_router` (with its own registry and limits); any FastAPI app can do
the same, or mount the ready-made :data:`router`::

    from fastapi import FastAPI
    from harness.contract import make_router

    app = FastAPI()
    app.include_router(make_router())

Contract version ``sse-harness/1``. All paths are relative to where the router is mounted.

``GET /_contract``
    Discovery: ``{"contract": "sse-harness/1", "limits": {...}}``. A 404 here means the target does
    not speak the contract, and cases that need it are UNIMPLEMENTED.

``POST /_script`` (JSON body, at most ``max_body_bytes``, else 413)
    ``{"eol": "\\n" | "\\r\\n" | "\\r", "steps": [step, ...]}`` with at most ``max_steps`` steps,
    each exactly one of:

    - ``{"event": {"data": str?, "event": str?, "id": str?, "retry": int?}}``: one block, encoded by
      ``harness.stream.encode`` with the script's ``eol``. What cannot round-trip (an id with NUL,
      CR or LF, an event name with CR or LF, a retry that is not a non-negative integer) is
      refused with 422, never emitted;
    - ``{"comment": str}``: one comment block;
    - ``{"delay_ms": int}``: wait (0..60000 ms; all delays together at most ``max_total_delay_s``);
    - ``{"raw": base64}``: these exact bytes, unchecked (for malformed streams).

    The answer is a 200 ``text/event-stream`` whose body is the steps' bytes in order, each step
    written and flushed as one chunk, with no keep-alive comments. Invalid scripts get 422 with
    the reason. The response carries ``X-SSE-Stream-Id``.

``GET /_observe/streams``
    ``{"live": [record...], "finished": [record...], "totals": {reason: count}, "tasks": n}``:
    streams whose generator is still running, the last ``keep_finished`` that ended (oldest
    first), how many ended for each reason since start, and the number of asyncio tasks in the
    serving process (a leak shows up there too).

``GET /_observe/streams/{id}``
    One record, or 404 once it has been dropped from the finished list. ``id`` is the value of the
    ``X-SSE-Stream-Id`` header of the response that streamed it.

A record is ``{"id", "endpoint", "started", "ended", "end_reason", "disconnected",
"stop_after_disconnect_s", "blocks"}``: times are Unix seconds; ``end_reason`` is one of
``completed`` (the generator finished), ``disconnected`` (it was stopped because the client went
away), ``shutdown`` (it ended because the server is shutting down), ``limit`` (a time or count
bound ended it), ``error`` (it raised) or ``cancelled`` (stopped for another reason);
``stop_after_disconnect_s`` is how long the generator ran on after the client left (S-23), and
``blocks`` counts the blocks it produced.

A user can observe their own generators too: wrap them in :meth:`StreamRegistry.observe` and call
:meth:`StreamRegistry.mark_disconnected` from the response's disconnect hook.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncGenerator
from contextlib import aclosing
from dataclasses import dataclass
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, HTTPException
from pydantic import Base64Bytes, BaseModel, ConfigDict, Field, StrictInt, model_validator

from harness.request_guard import JsonSafeRoute
from harness.sse_guard import GuardedEventSourceResponse, StreamControl, StreamEnded
from harness.stream import encode

__all__ = [
    "CONTRACT_VERSION",
    "STREAM_ID_HEADER",
    "EndReason",
    "Script",
    "StreamRecord",
    "StreamRegistry",
    "make_router",
    "router",
]

CONTRACT_VERSION = "sse-harness/1"
STREAM_ID_HEADER = "X-SSE-Stream-Id"
MAX_STEPS = 10_000
MAX_DELAY_MS = 60_000

EndReason = Literal["completed", "disconnected", "shutdown", "limit", "error", "cancelled"]
T = TypeVar("T")


@dataclass(slots=True)
class StreamRecord:
    """What is known about one stream's generator. Monotonic stamps measure, epoch ones report."""

    id: int
    endpoint: str
    started: float
    started_mono: float
    ended: float | None = None
    end_reason: EndReason | None = None
    disconnected: float | None = None
    disconnected_mono: float | None = None
    stop_after_disconnect_s: float | None = None
    blocks: int = 0

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "endpoint": self.endpoint,
            "started": self.started,
            "ended": self.ended,
            "end_reason": self.end_reason,
            "disconnected": self.disconnected,
            "stop_after_disconnect_s": self.stop_after_disconnect_s,
            "blocks": self.blocks,
        }


class StreamRegistry:
    """Live and recently finished streams of one app; bounded by ``keep_finished``.

    Only touched from the event loop that serves the app, so it needs no lock.
    """

    def __init__(self, keep_finished: int = 10_000) -> None:
        self._next_id = 0
        self._live: dict[int, StreamRecord] = {}
        self._finished: deque[StreamRecord] = deque(maxlen=keep_finished)
        self._totals: dict[str, int] = {}

    def new_id(self) -> int:
        """Reserve the id of a stream about to be answered (for its ``X-SSE-Stream-Id``)."""
        self._next_id += 1
        return self._next_id

    def mark_disconnected(self, stream_id: int) -> None:
        """The client of ``stream_id`` went away: from now on its generator should stop."""
        record = self._live.get(stream_id)
        if record is not None and record.disconnected is None:
            record.disconnected = time.time()
            record.disconnected_mono = time.monotonic()

    def get(self, stream_id: int) -> StreamRecord | None:
        found = self._live.get(stream_id)
        if found is None:
            found = next((r for r in self._finished if r.id == stream_id), None)
        return found

    def snapshot(self) -> dict[str, Any]:
        return {
            "live": [r.as_json() for r in self._live.values()],
            "finished": [r.as_json() for r in self._finished],
            "totals": dict(self._totals),
            "tasks": len(asyncio.all_tasks()),
        }

    async def observe(
        self,
        source: AsyncGenerator[T, None],
        *,
        stream_id: int,
        endpoint: str,
        max_blocks: int | None = None,
    ) -> AsyncGenerator[T, None]:
        """Yield what ``source`` yields, recording its life from first step to close.

        The record is created when the generator first runs, not when the response is built, so a
        response that never starts streaming (HEAD, an early error) leaves no live record behind.
        A :class:`StreamEnded` from the source ends the stream normally with its reason.
        """
        record = StreamRecord(stream_id, endpoint, time.time(), time.monotonic())
        self._live[stream_id] = record
        reason: EndReason = "error"
        try:
            async with aclosing(source) as blocks:
                async for block in blocks:
                    record.blocks += 1
                    yield block
                    if max_blocks is not None and record.blocks >= max_blocks:
                        reason = "limit"
                        return
            reason = "completed"
        except StreamEnded as ended:
            reason = ended.reason
        except (GeneratorExit, asyncio.CancelledError):
            reason = "disconnected" if record.disconnected is not None else "cancelled"
            raise
        finally:
            self._finish(record, reason)

    def _finish(self, record: StreamRecord, reason: EndReason) -> None:
        record.ended = time.time()
        record.end_reason = reason
        if record.disconnected_mono is not None:
            record.stop_after_disconnect_s = time.monotonic() - record.disconnected_mono
        self._live.pop(record.id, None)
        self._finished.append(record)
        self._totals[reason] = self._totals.get(reason, 0) + 1


# -- the script ---------------------------------------------------------------------------------


class ScriptEvent(BaseModel):
    """One block; refused (422) unless ``harness.stream.encode`` can write it faithfully."""

    model_config = ConfigDict(extra="forbid")

    data: str | None = None
    event: str | None = None
    id: str | None = None
    retry: Annotated[StrictInt, Field(ge=0)] | None = None

    @model_validator(mode="after")
    def _encodable(self) -> ScriptEvent:
        encode(data=self.data, event=self.event, id=self.id, retry=self.retry)
        return self


class EventStep(BaseModel):
    model_config = ConfigDict(extra="forbid")
    event: ScriptEvent


class CommentStep(BaseModel):
    model_config = ConfigDict(extra="forbid")
    comment: str


class DelayStep(BaseModel):
    model_config = ConfigDict(extra="forbid")
    delay_ms: Annotated[StrictInt, Field(ge=0, le=MAX_DELAY_MS)]


class RawStep(BaseModel):
    model_config = ConfigDict(extra="forbid")
    raw: Base64Bytes


Step = EventStep | CommentStep | DelayStep | RawStep


class Script(BaseModel):
    """A stream to emit, step by step; see the module docstring."""

    model_config = ConfigDict(extra="forbid")

    steps: Annotated[list[Step], Field(max_length=MAX_STEPS)]
    eol: Literal["\n", "\r\n", "\r"] = "\n"

    def total_delay_s(self) -> float:
        return sum(s.delay_ms for s in self.steps if isinstance(s, DelayStep)) / 1000


async def _play(script: Script, control: StreamControl) -> AsyncGenerator[bytes, None]:
    for step in script.steps:
        if isinstance(step, DelayStep):
            await control.pause(step.delay_ms / 1000)
        elif isinstance(step, EventStep):
            e = step.event
            yield encode(data=e.data, event=e.event, id=e.id, retry=e.retry, eol=script.eol)
        elif isinstance(step, CommentStep):
            yield encode(comment=step.comment, eol=script.eol)
        else:
            yield step.raw


def make_router(
    registry: StreamRegistry | None = None,
    *,
    max_body_bytes: int = 64 * 1024,
    max_total_delay_s: float = 60.0,
    shutdown_grace_s: float = 2.0,
) -> APIRouter:
    """Build the contract's routes around ``registry`` (a fresh one when omitted)."""
    streams = registry if registry is not None else StreamRegistry()
    api = APIRouter(max_body_size=max_body_bytes, tags=["contract"], route_class=JsonSafeRoute)
    limits = {
        "max_body_bytes": max_body_bytes,
        "max_steps": MAX_STEPS,
        "max_delay_ms": MAX_DELAY_MS,
        "max_total_delay_s": max_total_delay_s,
    }

    @api.get("/_contract")
    async def contract() -> dict[str, Any]:
        """Which contract this target speaks, and its limits."""
        return {"contract": CONTRACT_VERSION, "limits": limits}

    @api.post("/_script", response_class=GuardedEventSourceResponse)
    async def run_script(script: Script) -> GuardedEventSourceResponse:
        """Emit exactly the posted script (see ``harness.contract``)."""
        if script.total_delay_s() > max_total_delay_s:
            raise HTTPException(
                422, f"total delay {script.total_delay_s()} s exceeds {max_total_delay_s} s"
            )
        stream_id = streams.new_id()
        control = StreamControl(
            max_total_delay_s + shutdown_grace_s + 1, shutdown_grace_s=shutdown_grace_s
        )
        return GuardedEventSourceResponse(
            streams.observe(_play(script, control), stream_id=stream_id, endpoint="/_script"),
            headers={STREAM_ID_HEADER: str(stream_id)},
            keepalive_s=0,
            control=control,
            shutdown_grace_s=shutdown_grace_s,
            on_disconnect=lambda: streams.mark_disconnected(stream_id),
        )

    @api.get("/_observe/streams")
    async def observed_streams() -> dict[str, Any]:
        """Live and recently finished streams, end reasons and the process's task count."""
        return streams.snapshot()

    @api.get("/_observe/streams/{stream_id}")
    async def observed_stream(stream_id: int) -> dict[str, Any]:
        """One stream's record, by the ``X-SSE-Stream-Id`` of its response."""
        record = streams.get(stream_id)
        if record is None:
            raise HTTPException(404, f"no stream {stream_id} (never existed or already dropped)")
        return record.as_json()

    return api


#: The contract's routes around a registry of their own, ready to ``include_router``.
router = make_router()
