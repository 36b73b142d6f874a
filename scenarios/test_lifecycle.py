"""Clients that leave at random points, and clients that resume at random points (S-18, S-23)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
import pytest
from hypothesis import given, note, seed
from hypothesis import strategies as st

from harness.contract import STREAM_ID_HEADER
from harness.pytest_plugin import scenario_seed
from harness.server.cases.context import Context
from harness.server.cases.lifecycle import STOP_BOUND_S
from harness.server.probe import Capture, Window, capture
from harness.server.target import Target

SCRIPT_EVENTS = 30
SPACING_MS = 20


async def leave_after(target: Target, events: int) -> tuple[str, float, dict[str, Any] | None]:
    """Stream a script, read ``events`` events, hang up; return the target's record of it."""
    steps: list[dict[str, Any]] = []
    for n in range(SCRIPT_EVENTS):
        steps += [{"delay_ms": SPACING_MS}, {"event": {"data": str(n), "id": str(n)}}]
    async with aiohttp.ClientSession() as session:
        ctx = Context(target, session)
        async with session.post(
            target.contract_base + "/_script",
            json={"steps": steps},
            headers=target.request_headers(target.contract_auth()),
        ) as response:
            stream_id = response.headers[STREAM_ID_HEADER]
            seen = 0
            while seen < events:
                chunk = await asyncio.wait_for(response.content.readany(), timeout=5)
                if not chunk:
                    break
                seen += chunk.count(b"\n\n")
            response.close()
        left = time.monotonic()
        record = await ctx.observed(stream_id)
        while record is not None and record["ended"] is None and time.monotonic() - left < 3:
            await asyncio.sleep(0.02)  # a bounded poll of an observable condition
            record = await ctx.observed(stream_id)
        return stream_id, time.monotonic() - left, record


@seed(scenario_seed())
@given(events=st.integers(min_value=0, max_value=SCRIPT_EVENTS + 2))
def test_generator_stops_within_a_second_of_the_client_leaving(
    scripted: Target, events: int
) -> None:
    stream_id, waited, record = asyncio.run(leave_after(scripted, events))
    note(f"stream {stream_id}: {record}")
    assert record is not None, "the observation endpoint lost the stream"
    assert record["ended"] is not None, f"generator still running {waited:.1f} s after leaving"
    if record["stop_after_disconnect_s"] is not None:  # the target saw the client leave
        assert record["stop_after_disconnect_s"] <= STOP_BOUND_S
    else:
        assert record["end_reason"] == "completed"


@pytest.fixture(scope="module")
def first_connection(sse_target: Target) -> Capture:
    if not sse_target.resumable:
        pytest.skip(
            "the target is not declared resumable: pass --sse-resumable if reconnecting with"
            " Last-Event-ID continues right after that id"
        )

    async def read() -> Capture:
        async with aiohttp.ClientSession(auto_decompress=False) as session:
            return await capture(
                session,
                sse_target.url,
                headers=sse_target.request_headers(),
                window=Window(max_events=30, max_seconds=10),
            )

    cap = asyncio.run(read())
    ids = [e for e in cap.events if e.id_field]
    if len(ids) < 3:
        pytest.skip(
            f"the first connection carried {len(ids)} ids; resuming from a random id needs at"
            " least 3: send an id: field with each event"
        )
    return cap


@seed(scenario_seed())
@given(data=st.data())
def test_resume_continues_right_after_any_id(
    sse_target: Target, first_connection: Capture, data: st.DataObject
) -> None:
    ids = [e.id_field for e in first_connection.events if e.id_field]
    pivot = data.draw(st.integers(min_value=0, max_value=len(ids) - 2), label="pivot")
    want = ids[pivot + 1 : pivot + 4]

    async def resume() -> Capture:
        async with aiohttp.ClientSession(auto_decompress=False) as session:
            return await capture(
                session,
                sse_target.url,
                headers=sse_target.request_headers({"Last-Event-ID": ids[pivot]}),
                window=Window(max_events=len(want), max_seconds=10),
            )

    cap = asyncio.run(resume())
    # The window stops reading once it holds len(want) events; the read that completed them may
    # carry more (a busy server or machine batches events), which are not wrong.
    assert [e.id_field for e in cap.events if e.id_field][: len(want)] == want
