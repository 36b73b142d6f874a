"""One test per sse-starlette quirk (SPEC.md "Known traps"): what sse-starlette 3.7 does left to
itself, and that ``harness.sse_guard`` keeps it off the wire. Plus StreamControl, the
guard's shutdown-aware waiting."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator

import anyio
import pytest
from fastapi import FastAPI
from sse_starlette import EventSourceResponse, ServerSentEvent
from sse_starlette.sse import SendTimeoutError
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from harness.sse_guard import (
    KEEPALIVE_COMMENT,
    GuardedEventSourceResponse,
    StreamControl,
    StreamEnded,
    TimerSlots,
    _SendWatchdog,
    expose_server_send,
)
from harness.stream import encode
from reference_server.frames import Frame
from reference_server.launch import serve_in_thread

pytestmark = pytest.mark.timeout(30)


# -- field formatting: sse-starlette's ServerSentEvent vs the project's encoder -------------------


@pytest.mark.parametrize(
    ("fields", "raw_line"),
    [
        ({"retry": True}, b"retry: True\r\n"),  # S-11: clients ignore it
        ({"retry": -1}, b"retry: -1\r\n"),  # S-11
        ({"id": "a\x00b"}, b"id: a\x00b\r\n"),  # S-10: clients ignore the whole field
        ({"id": "a\nb"}, b"id: ab\r\n"),  # S-10: the id is silently changed
    ],
)
def test_sse_starlette_writes_what_the_guard_refuses(
    fields: dict[str, object], raw_line: bytes
) -> None:
    assert raw_line in ServerSentEvent(data="x", **fields).encode()  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        Frame(data="x", **fields).encode()  # type: ignore[arg-type]


def test_sse_starlette_defaults_to_crlf_and_the_guard_to_what_it_is_given() -> None:
    assert ServerSentEvent(data="x").encode() == b"data: x\r\n\r\n"
    assert EventSourceResponse(_chunks()).sep == "\r\n"
    assert GuardedEventSourceResponse(_chunks()).sep == "\n"


def test_sse_starlette_forces_connection_keep_alive_and_the_guard_drops_it() -> None:
    raw = EventSourceResponse(_chunks(), headers={"Connection": "close"})
    assert raw.headers["connection"] == "keep-alive"  # even over the caller's own header
    guarded = GuardedEventSourceResponse(_chunks(), headers={"X-Other": "1"})
    assert "connection" not in guarded.headers
    assert guarded.headers["x-other"] == "1"
    assert guarded.headers["cache-control"] == "no-store"  # S-20, kept from sse-starlette


def test_sse_starlette_pings_every_15_s_and_the_guard_uses_the_given_interval() -> None:
    assert EventSourceResponse(_chunks()).ping_interval == 15
    assert GuardedEventSourceResponse(_chunks(), keepalive_s=0.5).ping_interval == 0.5
    assert GuardedEventSourceResponse(_chunks(), keepalive_s=0).ping_interval == 0
    assert encode(comment="keep-alive") == KEEPALIVE_COMMENT


# -- the same quirks on the wire, under uvicorn ---------------------------------------------------

BLOCKS = [encode(data="a", id="1"), encode(data="b\nc", event="e")]


async def _chunks(pause_s: float = 0.0) -> AsyncIterator[bytes]:
    yield BLOCKS[0]
    await anyio.sleep(pause_s)  # part of the stream's content: an idle stretch for pings
    yield BLOCKS[1]


def _quirk_app() -> FastAPI:
    app = FastAPI()

    @app.get("/raw")
    async def raw() -> Response:
        events = [ServerSentEvent(data="a", id="1"), ServerSentEvent(data="b\nc", event="e")]

        async def stream() -> AsyncIterator[ServerSentEvent]:
            yield events[0]
            await anyio.sleep(0.1)
            yield events[1]

        return EventSourceResponse(stream(), ping=0.02)

    @app.get("/guarded")
    async def guarded(keepalive_s: float) -> Response:
        return GuardedEventSourceResponse(_chunks(0.1), keepalive_s=keepalive_s)

    return app


@pytest.fixture(scope="module")
def quirk_server() -> Iterator[str]:
    with serve_in_thread(_quirk_app()) as base:
        yield base


async def test_on_the_wire_sse_starlette_sends_crlf_timestamped_pings_and_connection(
    quirk_server: str, fetch
) -> None:
    wire = await fetch(quirk_server + "/raw")
    assert wire.headers["Connection"] == "keep-alive"
    assert wire.body.startswith(b"id: 1\r\ndata: a\r\n\r\n")
    assert b": ping - 20" in wire.body  # ": ping - <datetime>\r\n\r\n"


async def test_on_the_wire_the_guard_sends_exactly_its_bytes(quirk_server: str, fetch) -> None:
    wire = await fetch(quirk_server + "/guarded?keepalive_s=0.02")
    assert "Connection" not in wire.headers
    body = wire.body
    assert body.startswith(BLOCKS[0]) and body.endswith(BLOCKS[1])
    pings = body[len(BLOCKS[0]) : -len(BLOCKS[1])]
    assert pings and pings == KEEPALIVE_COMMENT * (len(pings) // len(KEEPALIVE_COMMENT))
    silent = await fetch(quirk_server + "/guarded?keepalive_s=0")
    assert silent.body == b"".join(BLOCKS)


# -- StreamControl ------------------------------------------------------------------------------


async def test_pause_waits_the_given_time() -> None:
    started = time.monotonic()
    await StreamControl(10).pause(0.05)
    assert time.monotonic() - started >= 0.05 * 0.95


async def test_pause_ends_the_stream_within_half_the_grace_period_on_shutdown() -> None:
    control = StreamControl(10, shutdown_grace_s=0.2)
    asyncio.get_running_loop().call_later(0.02, control.shutdown.set)
    started = time.monotonic()
    with pytest.raises(StreamEnded) as ended:
        await control.pause(5)
    assert ended.value.reason == "shutdown"
    assert time.monotonic() - started < 0.5  # poll_s is 0.1


async def test_pause_ends_the_stream_at_its_time_bound() -> None:
    control = StreamControl(0.05)
    await control.pause(0.01)
    with pytest.raises(StreamEnded) as ended:
        await control.pause(5)
    assert ended.value.reason == "limit"
    with pytest.raises(StreamEnded):
        await control.pause(0)


async def test_pause_returns_early_when_woken() -> None:
    control, wake = StreamControl(10), anyio.Event()
    asyncio.get_running_loop().call_later(0.02, wake.set)
    started = time.monotonic()
    await control.pause(5, wake=wake)
    assert time.monotonic() - started < 1


# -- the costs the guard takes off sse-starlette's hands ------------------------------------------


def test_sse_starlette_takes_an_anyio_lock_and_the_guard_an_asyncio_one() -> None:
    # anyio's Lock passes a shielded checkpoint on every acquire, even a free one: per ping.
    assert isinstance(EventSourceResponse(_chunks())._send_lock, anyio.Lock)
    assert isinstance(GuardedEventSourceResponse(_chunks())._send_lock, asyncio.Lock)


async def test_a_send_that_outlasts_its_timeout_ends_as_sse_starlette_ends_it() -> None:
    blocked = asyncio.Event()

    async def never_accepts(_message: Message) -> None:
        await blocked.wait()

    watchdog = _SendWatchdog(asyncio.get_running_loop(), check_s=0.02)
    with pytest.raises(SendTimeoutError):
        await watchdog.send(never_accepts, {}, timeout_s=0.05)
    assert asyncio.current_task().cancelling() == 0  # type: ignore[union-attr]
    await watchdog.send(_accepts, {}, timeout_s=0.05)  # a prompt send is left alone


async def test_a_cancel_from_elsewhere_during_a_send_stays_a_cancel() -> None:
    watchdog = _SendWatchdog(asyncio.get_running_loop(), check_s=0.02)

    async def slow(_message: Message) -> None:
        await asyncio.sleep(10)

    task = asyncio.ensure_future(watchdog.send(slow, {}, timeout_s=5))
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def _accepts(_message: Message) -> None:
    return None


async def test_timer_slots_never_wake_early_and_share_a_timer_per_slot() -> None:
    slots = TimerSlots(asyncio.get_running_loop())
    start = time.monotonic()
    deadlines = [start + 0.002 * k for k in range(1, 30)]
    woken: list[float] = []

    async def wait(deadline: float) -> None:
        await slots.wait_until(deadline)
        woken.append(time.monotonic() - deadline)

    waits = [asyncio.ensure_future(wait(d)) for d in deadlines]
    await asyncio.sleep(0)
    assert len(slots._slots) <= 13  # 29 waits over 58 ms: one timer per 5 ms slot
    await asyncio.gather(*waits)
    assert min(woken) >= 0


@pytest.mark.parametrize(("ahead_s", "step_ms"), [(0.1, 5), (0.5, 10), (1.0, 20), (15.0, 20)])
async def test_a_longer_wait_shares_a_coarser_slot(ahead_s: float, step_ms: int) -> None:
    # Within 1/40 of the wait: a 1 s tick may end 21 ms late, a 0.1 s one 6 ms.
    slots = TimerSlots(asyncio.get_running_loop())
    deadline_ms = (time.monotonic() + ahead_s) * 1000
    slots.wait_until(deadline_ms / 1000).cancel()
    (slot,) = slots._slots
    assert slot % step_ms == 0 and deadline_ms <= slot < deadline_ms + step_ms


# -- pings only after silence, body chunks straight to the server ---------------------------------


def _scope() -> Scope:
    return {"type": "http", "method": "GET", "path": "/", "headers": []}


async def _never_disconnects() -> Message:
    await asyncio.Event().wait()
    raise AssertionError("unreachable")


async def _silences_before_pings(response: Response) -> list[float]:
    """Run ``response`` with a recording server; the silence before each ping it sent."""
    stamped: list[tuple[float, bytes]] = []

    async def server(message: Message) -> None:
        stamped.append((time.monotonic(), message.get("body", b"")))

    started = time.monotonic()
    await response(_scope(), _never_disconnects, server)
    silences, last = [], started
    for at, body in stamped:
        if body.startswith(b":"):
            silences.append(at - last)
        last = at
    return silences


async def _busy_then_silent(silence_s: float) -> AsyncIterator[bytes]:
    for _ in range(20):
        yield BLOCKS[0]
        await anyio.sleep(0.01)  # part of the stream's content: never silent for long
    await anyio.sleep(silence_s)
    yield BLOCKS[1]


async def test_sse_starlette_pings_a_busy_stream_and_the_guard_only_a_silent_one() -> None:
    raw = EventSourceResponse(_busy_then_silent(0), ping=0.05, sep="\n")
    assert min(await _silences_before_pings(raw)) < 0.05  # a ping right after an event
    guarded = GuardedEventSourceResponse(_busy_then_silent(1.0), keepalive_s=0.2)
    silences = await _silences_before_pings(guarded)
    assert silences  # the silent second got its keep-alive...
    assert min(silences) >= 0.2  # ...and only a silence did


def _counting(app: ASGIApp, seen: list[str]) -> ASGIApp:
    """A middleware that notes each message passing its ``send`` wrapper."""

    async def counted(scope: Scope, receive: Receive, send: Send) -> None:
        async def note(message: Message) -> None:
            seen.append(message["type"] + (" +" if message.get("more_body") else ""))
            await send(message)

        await app(scope, receive, note)

    return counted


def _holding_start(app: ASGIApp) -> ASGIApp:
    """A middleware that holds the response start until the first body (as compressors do)."""

    async def holding(scope: Scope, receive: Receive, send: Send) -> None:
        held: list[Message] = []

        async def hold(message: Message) -> None:
            if message["type"] == "http.response.start":
                held.append(message)
                return
            while held:
                await send(held.pop())
            await send(message)

        await app(scope, receive, hold)

    return holding


async def _serve_once(app: ASGIApp) -> bytes:
    body = bytearray()

    async def server(message: Message) -> None:
        body.extend(message.get("body", b""))

    await app(_scope(), _never_disconnects, server)
    return bytes(body)


START, CHUNK, END = "http.response.start", "http.response.body +", "http.response.body"


async def test_each_middleware_sees_every_chunk_and_the_guard_sends_them_past_it() -> None:
    async def endpoint(scope: Scope, receive: Receive, send: Send) -> None:
        await GuardedEventSourceResponse(_chunks(), keepalive_s=0)(scope, receive, send)

    seen: list[str] = []
    assert await _serve_once(_counting(endpoint, seen)) == b"".join(BLOCKS)
    assert seen == [START, CHUNK, CHUNK, END]  # without the guard's way past
    seen.clear()
    assert await _serve_once(expose_server_send(_counting(endpoint, seen))) == b"".join(BLOCKS)
    assert seen == [START, END]  # the chunks went straight to the server
    seen.clear()
    held = expose_server_send(_counting(_holding_start(endpoint), seen))
    assert await _serve_once(held) == b"".join(BLOCKS)
    assert seen == [START, CHUNK, CHUNK, END]  # a held start keeps every chunk on its path
