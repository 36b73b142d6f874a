"""Fixed scripts through the target's own stack must arrive exactly (S-04..S-12, S-17).

The expected events are written from the standard's semantics, not by running the encoder: a
script event's data arrives with every CR, LF or CRLF as LF, its type defaults to ``message``, and
the last event ID carries over. The generated versions of these checks live in ``scenarios/``.
"""

from __future__ import annotations

import re
from typing import Any

from harness.server.cases.context import Context
from harness.server.cases.model import Finding, Need, case
from harness.stream import Event

_BREAK = re.compile("\r\n|\r|\n")
#: Scheduled spacing of the timing script, and how far an arrival may stray from it.
SPACING_S = 0.15
TOLERANCE_S = 0.1
#: The script left the contract's router intact, so what changed it lies on the way out.
REWRITTEN = (
    "something between the app and the client rewrites the stream's bytes (a middleware, a"
    " proxy's body filter, a re-encoding): mount make_router() next to your SSE routes and remove"
    " layers until the script arrives intact"
)


def expected_events(fields: list[dict[str, Any]]) -> list[Event]:
    events = []
    last = ""
    for item in fields:
        if item.get("id") is not None:
            last = item["id"]
        if item.get("data") is not None:
            events.append(
                Event(item.get("event") or "message", _BREAK.sub("\n", item["data"]), last)
            )
    return events


def steps_of(fields: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"event": {k: v for k, v in item.items() if v is not None}} for item in fields]


async def _round_trip(
    ctx: Context, key: str, fields: list[dict[str, Any]], eol: str = "\n"
) -> Finding:
    cap = await ctx.script(key, steps_of(fields), eol)
    want = expected_events(fields)
    got = [e.event for e in cap.events]
    if cap.status != 200:
        return Finding(f"the script was answered {cap.status} ({cap.end}: {cap.error})", False)
    if got == want:
        return Finding(f"{len(want)} events arrived exactly (eol {eol!r})", True, cap.raw[:120])
    index = next((i for i, (a, b) in enumerate(zip(got, want, strict=False)) if a != b), None)
    if index is None:
        return Finding(
            f"{len(got)} events arrived, {len(want)} expected ({cap.end})", False, cap.raw[-120:]
        )
    return Finding(
        f"event {index}: got {got[index]!r}, expected {want[index]!r}", False, cap.raw[:200]
    )


MULTILINE = [
    {"data": "a\nb"},
    {"data": "a\r\nb"},
    {"data": "a\rb"},
    {"data": "\n"},
    {"data": "x\n"},
    {"data": "\r\n\r\n"},
]


@case(
    "server.script.1",
    "Multi-line data arrives line for line",
    ["S-06"],
    needs=Need.SCRIPTED,
    fix=REWRITTEN,
)
async def multiline(ctx: Context) -> Finding:
    return await _round_trip(ctx, "multiline", MULTILINE)


@case(
    "server.script.2",
    "Leading spaces in data survive",
    ["S-09"],
    needs=Need.SCRIPTED,
    fix=REWRITTEN,
)
async def leading_space(ctx: Context) -> Finding:
    fields = [{"data": " x"}, {"data": "  y"}, {"data": " "}, {"data": ""}, {"data": "\t z"}]
    return await _round_trip(ctx, "leading-space", fields)


@case(
    "server.script.3",
    "Colons and empty values in data survive",
    ["S-06"],
    needs=Need.SCRIPTED,
    fix=REWRITTEN,
)
async def colons(ctx: Context) -> Finding:
    fields = [{"data": "a:b"}, {"data": ":c"}, {"data": "data: d"}, {"data": "id: 7"}]
    return await _round_trip(ctx, "colons", fields)


@case(
    "server.script.4", "Ids set, carry over and reset", ["S-10"], needs=Need.SCRIPTED, fix=REWRITTEN
)
async def ids(ctx: Context) -> Finding:
    fields = [
        {"data": "a", "id": "1"},
        {"data": "b"},
        {"data": "c", "id": "ü-2 x"},
        {"id": "silent"},
        {"data": "d"},
        {"data": "e", "id": ""},
    ]
    return await _round_trip(ctx, "ids", fields)


@case("server.script.5", "retry reaches the client", ["S-11"], needs=Need.SCRIPTED, fix=REWRITTEN)
async def retry(ctx: Context) -> Finding:
    fields: list[dict[str, Any]] = [
        {"data": "a", "retry": 0},
        {"retry": 1500},
        {"data": "b", "retry": 3000},
    ]
    found = await _round_trip(ctx, "retry", fields)
    cap = await ctx.script("retry", steps_of(fields))
    if found.conforms and cap.retry != 3000:
        return Finding(f"events arrived, but the client's retry is {cap.retry}, not 3000", False)
    return found


@case(
    "server.script.6",
    "Event names arrive; empty means message",
    ["S-12"],
    needs=Need.SCRIPTED,
    fix=REWRITTEN,
)
async def event_names(ctx: Context) -> Finding:
    fields = [
        {"data": "a"},
        {"data": "b", "event": ""},
        {"data": "c", "event": "update"},
        {"data": "d", "event": "ünï code"},
        {"data": "e", "event": "message"},
    ]
    return await _round_trip(ctx, "event-names", fields)


@case(
    "server.script.7",
    "Any Unicode in data arrives intact",
    ["S-04"],
    needs=Need.SCRIPTED,
    fix=REWRITTEN,
)
async def unicode(ctx: Context) -> Finding:
    fields = [
        {"data": "七夕情人節"},
        {"data": "🎉 emoji"},
        {"data": "a\u2028b\u2029c\x85d\x0be\x0cf"},
        {"data": "nul\x00inside"},
        {"data": "\ufeffbom inside"},
    ]
    return await _round_trip(ctx, "unicode", fields)


@case(
    "server.script.8",
    "CRLF line ends give the same events",
    ["S-05"],
    needs=Need.SCRIPTED,
    fix=REWRITTEN,
)
async def crlf(ctx: Context) -> Finding:
    return await _round_trip(ctx, "crlf", MULTILINE, "\r\n")


@case(
    "server.script.9",
    "CR line ends give the same events",
    ["S-05"],
    needs=Need.SCRIPTED,
    fix=REWRITTEN,
)
async def cr(ctx: Context) -> Finding:
    return await _round_trip(ctx, "cr", MULTILINE, "\r")


@case(
    "server.script.10",
    "Events arrive on schedule: each flushed when produced",
    ["S-17"],
    needs=Need.SCRIPTED,
    fix="flush each event as it is produced: turn buffering off in middleware and proxies"
    " (X-Accel-Buffering: no; nginx: proxy_buffering off;) and leave the stream uncompressed",
)
async def on_schedule(ctx: Context) -> Finding:
    count = 5
    steps: list[dict[str, Any]] = []
    for n in range(count):
        if n:
            steps.append({"delay_ms": int(SPACING_S * 1000)})
        steps.append({"event": {"data": str(n)}})
    cap = await ctx.script("schedule", steps)
    if len(cap.events) != count:
        return Finding(f"{len(cap.events)} of {count} events arrived ({cap.end})", False)
    base = cap.events[0].t
    offsets = [e.t - base - n * SPACING_S for n, e in enumerate(cap.events)]
    worst = max(offsets, key=abs)
    timings = {"worst_offset_s": worst, "spacing_s": SPACING_S}
    return Finding(
        f"arrival offsets from the schedule: {[round(o * 1000) for o in offsets]} ms"
        f" (tolerance {TOLERANCE_S * 1000:.0f} ms)",
        abs(worst) <= TOLERANCE_S,
        timings=timings,
    )
