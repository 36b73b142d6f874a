"""Generated scripts through the target's real stack arrive exactly and on time (S-04..S-12, S-17).

Each example posts a script of events, comments and delays to the target's scripting contract
and compares what a conforming client dispatches with what the standard says it must.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
from hypothesis import given, note, seed
from hypothesis import strategies as st

from harness.pytest_plugin import scenario_seed
from harness.server.cases.context import Context
from harness.server.cases.scripted import expected_events
from harness.server.probe import Capture
from harness.server.target import Target

#: How late (after its schedule) or early an event may arrive, measured from the first event.
SCHEDULE_BOUND_S = 0.25

text = st.text(st.characters(exclude_categories=["Cs"]), max_size=20)
one_line = text.filter(lambda s: "\r" not in s and "\n" not in s)
fields = st.fixed_dictionaries(
    {},
    optional={
        "data": text,
        "event": one_line,
        "id": one_line.filter(lambda s: "\x00" not in s),
        "retry": st.integers(min_value=0, max_value=10**12),
    },
)
step = st.one_of(
    fields.map(lambda f: {"event": f}),
    text.map(lambda c: {"comment": c}),
    st.integers(min_value=0, max_value=40).map(lambda ms: {"delay_ms": ms}),
)
scripts = st.lists(step, min_size=1, max_size=12)
eols = st.sampled_from(["\n", "\r\n", "\r"])


async def play(target: Target, steps: list[dict[str, Any]], eol: str) -> Capture:
    async with aiohttp.ClientSession(auto_decompress=False) as session:
        return await Context(target, session).script("generated", steps, eol)


def schedule(steps: list[dict[str, Any]]) -> list[float]:
    """When each dispatched event is due, in seconds after the script starts."""
    due, clock = [], 0.0
    for item in steps:
        clock += item.get("delay_ms", 0) / 1000
        if item.get("event", {}).get("data") is not None:
            due.append(clock)
    return due


@seed(scenario_seed())
@given(steps=scripts, eol=eols)
def test_script_arrives_exactly_and_on_time(
    scripted: Target, steps: list[dict[str, Any]], eol: str
) -> None:
    cap = asyncio.run(play(scripted, steps, eol))
    note(f"wire: {cap.raw!r}")
    assert cap.status == 200, cap.error
    assert cap.end == "eof", (cap.end, cap.error)
    blocks = [s["event"] for s in steps if "event" in s]
    assert [e.event for e in cap.events] == expected_events(blocks)
    retries = [b["retry"] for b in blocks if "retry" in b]
    assert cap.retry == (retries[-1] if retries else None)
    ids = [b["id"] for b in blocks if "id" in b]
    assert cap.last_event_id == (ids[-1] if ids else "")
    assert cap.violations == []
    due = schedule(steps)
    if due:
        start = cap.events[0].t - due[0]
        offsets = [e.t - start - d for e, d in zip(cap.events, due, strict=True)]
        note(f"arrival offsets from schedule: {offsets}")
        assert all(-SCHEDULE_BOUND_S <= o <= SCHEDULE_BOUND_S for o in offsets)
