"""The scripting contract: the endpoints a target serves so the harness can drive and watch it.

This docstring is the contract's one definition. A target that speaks it is graded in the
*Scripted* profile (DESIGN.md): the harness posts a script, the target emits exactly those bytes
through its own stack (middleware, proxy, server), and the target reports when its generators
start and stop, so disconnect cases can see what a black box hides. The reference server mounts
a router made by :func:`make_router` (with its own registry and limits); any FastAPI app can do
the same, or mount the ready-made :data:`router`::

    import os

    from fastapi import FastAPI
    from harness.contract import make_router

    app = FastAPI()
    # For test deployments: it lets whoever holds the token hold streams open.
    app.include_router(make_router(token=os.environ.get("SSE_HARNESS_CONTRACT_TOKEN")))

Contract version ``sse-harness/1``. All paths are relative to where the router is mounted.

Access
    The contract lets its caller hold streams open and read what the app's generators do, so
    it is locked, and meant for test deployments only. Every route below, discovery included,
    answers only a request whose ``X-SSE-Harness-Token`` header equals the token the app owner
    set: ``make_router(token=...)``, else the ``SSE_HARNESS_CONTRACT_TOKEN`` environment
    variable, read when the router is made (an empty one counts as none). The harness sends it
    from ``check --contract-token``, pytest's ``--sse-contract-token`` or the same variable.
    Without a token configured, only loopback clients (127.0.0.0/8, ::1, as the server reports
    the peer) are served: behind a proxy on the same host every request comes from loopback,
    so set a token there. Refusals are 403 with the reason in ``detail``. At most
    ``max_streams`` scripted streams run at once; past that, 429 with ``Retry-After`` (seconds
    until the soonest running script is due to end).

``GET /_contract``
    Discovery: ``{"contract": "sse-harness/1", "limits": {...}}``. A 404 here means the target does
    not speak the contract, a 403 that the harness lacks its token; either way cases that need
    it are UNIMPLEMENTED.

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
    ``{"live": [record...], "finished": [record...], "live_count": n, "totals": {reason: count},
    "tasks": n}``: streams whose generator is still running, the last ``keep_finished`` that
    ended (oldest first), how many are live, how many ended for each reason since start, and
    the number of asyncio tasks in the serving process (a leak shows up there too). With
    ``?records=false`` the two lists are left out: what a soak run samples over and over, at
    tens of thousands of live streams, is the counts.

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
import hmac
import ipaddress
import math
import os
import time
from collections import deque
from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import aclosing
from dataclasses import dataclass
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import Base64Bytes, BaseModel, ConfigDict, Field, StrictInt, model_validator
from starlette.types import Receive, Scope, Send

from harness.request_guard import JsonSafeRoute
from harness.sse_guard import GuardedEventSourceResponse, StreamControl, StreamEnded
from harness.stream import encode

__all__ = [
    "CONTRACT_VERSION",
    "LOOPBACK_ONLY",
    "STREAM_ID_HEADER",
    "TOKEN_ENV",
    "TOKEN_HEADER",
    "EndReason",
    "Script",
    "StreamRecord",
    "StreamRegistry",
    "make_router",
    "router",
]

CONTRACT_VERSION = "sse-harness/1"
STREAM_ID_HEADER = "X-SSE-Stream-Id"
#: The request header that carries the contract's token, and the variable both sides read it from.
TOKEN_HEADER = "X-SSE-Harness-Token"
TOKEN_ENV = "SSE_HARNESS_CONTRACT_TOKEN"
#: The 403's reason when no token is configured and the peer is not loopback.
LOOPBACK_ONLY = (
    "the scripting contract answers only loopback clients unless make_router(token=...) is set"
    f" (or {TOKEN_ENV}); this request came from {{client}}"
)
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

    def snapshot(self, *, records: bool = True) -> dict[str, Any]:
        counts = {
            "live_count": len(self._live),
            "totals": dict(self._totals),
            "tasks": len(asyncio.all_tasks()),
        }
        if not records:
            return counts
        return {
            "live": [r.as_json() for r in self._live.values()],
            "finished": [r.as_json() for r in self._finished],
            **counts,
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


# -- the lock -----------------------------------------------------------------------------------


def _is_loopback(host: str) -> bool:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False  # a name ("testclient"), not an address the OS vouches for
    mapped = getattr(address, "ipv4_mapped", None)
    return (mapped or address).is_loopback


def _gate(token: str | None) -> Callable[[Request], Awaitable[None]]:
    """The dependency every contract route runs first: the token, or a loopback peer."""
    expected = token.encode() if token else None

    async def admit(request: Request) -> None:  # async: FastAPI would give a def a thread
        if expected is not None:
            given = request.headers.get(TOKEN_HEADER)
            if given is None:
                raise HTTPException(403, f"the scripting contract needs its {TOKEN_HEADER} header")
            if not hmac.compare_digest(given.encode(), expected):
                raise HTTPException(403, f"the {TOKEN_HEADER} header does not match the token")
            return
        host = request.client.host if request.client is not None else None
        if host is None or not _is_loopback(host):
            raise HTTPException(403, LOOPBACK_ONLY.format(client=host or "an unknown peer"))

    return admit


class _Slots:
    """The scripted streams running now, each with the monotonic time it is due to end."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._due: dict[int, float] = {}

    def take(self, stream_id: int, due: float) -> None:
        """Hold a slot for ``stream_id`` until :meth:`release`; 429 when none is free."""
        if len(self._due) >= self.capacity:
            wait = max(1, math.ceil(min(self._due.values()) - time.monotonic()))
            raise HTTPException(
                429,
                f"{self.capacity} scripted streams are running, the most this contract allows at"
                " once; retry when one ends",
                headers={"Retry-After": str(wait)},
            )
        self._due[stream_id] = due

    def release(self, stream_id: int) -> None:
        self._due.pop(stream_id, None)


class _SlotResponse(GuardedEventSourceResponse):
    """A scripted stream that gives its slot back however it ends (completed, client gone,
    cancelled), since the slot is taken before the response runs."""

    def __init__(self, *args: Any, release: Callable[[], None], **options: Any) -> None:
        super().__init__(*args, **options)
        self._release = release

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._release()


def make_router(
    registry: StreamRegistry | None = None,
    *,
    token: str | None = None,
    max_streams: int = 64,
    max_body_bytes: int = 64 * 1024,
    max_total_delay_s: float = 60.0,
    shutdown_grace_s: float = 2.0,
) -> APIRouter:
    """Build the contract's routes around ``registry`` (a fresh one when omitted).

    ``token`` locks them (None: ``SSE_HARNESS_CONTRACT_TOKEN``, else loopback clients only);
    ``max_streams`` caps the scripted streams running at once. See the module docstring.
    """
    if max_streams < 1:
        raise ValueError(f"max_streams must be 1 or more, got {max_streams}")
    streams = registry if registry is not None else StreamRegistry()
    slots = _Slots(max_streams)
    api = APIRouter(
        max_body_size=max_body_bytes,
        tags=["contract"],
        route_class=JsonSafeRoute,
        dependencies=[Depends(_gate(token if token is not None else os.environ.get(TOKEN_ENV)))],
    )
    limits = {
        "max_body_bytes": max_body_bytes,
        "max_steps": MAX_STEPS,
        "max_delay_ms": MAX_DELAY_MS,
        "max_total_delay_s": max_total_delay_s,
        "max_streams": max_streams,
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
        slots.take(stream_id, time.monotonic() + script.total_delay_s())
        control = StreamControl(
            max_total_delay_s + shutdown_grace_s + 1, shutdown_grace_s=shutdown_grace_s
        )
        return _SlotResponse(
            streams.observe(_play(script, control), stream_id=stream_id, endpoint="/_script"),
            headers={STREAM_ID_HEADER: str(stream_id)},
            keepalive_s=0,
            control=control,
            shutdown_grace_s=shutdown_grace_s,
            on_disconnect=lambda: streams.mark_disconnected(stream_id),
            release=lambda: slots.release(stream_id),
        )

    @api.get("/_observe/streams")
    async def observed_streams(records: bool = True) -> dict[str, Any]:
        """Live and recently finished streams, end reasons and the process's task count."""
        return streams.snapshot(records=records)

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
