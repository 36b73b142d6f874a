"""Event ids and resuming after ``Last-Event-ID`` (S-13, S-18)."""

from __future__ import annotations

import itertools
from collections import Counter

from harness.server.cases.context import Context
from harness.server.cases.hints import read_more
from harness.server.cases.model import Finding, Need, case
from harness.server.probe import Capture, Window

#: Events read after a resume: enough to see a gap or a duplicate, few enough to stay quick.
RESUME_EVENTS = 5
#: What a stream without ids costs, and the line that gives it ids.
GIVE_IDS = (
    "give every event an id (id: field; sse-starlette: ServerSentEvent(data=..., id=str(n)))"
    " so a client that reconnects can resume"
)


def _one_answer(ctx: Context) -> Window:
    """A window for an exchange that only needs the answer and at most one event."""
    return Window(max_events=1, max_seconds=min(ctx.window.max_seconds, 3.0))


def _ids(cap: Capture) -> list[str]:
    """The non-empty ids the events' own blocks carried, in order (repeats kept)."""
    return [e.id_field for e in cap.events if e.id_field]


@case(
    "server.ids.1",
    "Event ids are unique, so resuming by id is unambiguous",
    ["S-18"],
    fix="give every event its own id (a sequence number or the source's key), never one id to"
    " several events or event types",
)
async def unique_ids(ctx: Context) -> Finding:
    cap = await ctx.stream()
    ids = _ids(cap)
    if not ids:
        return Finding(
            f"no ids in {len(cap.events)} events: clients cannot resume",
            None,
            next_step=GIVE_IDS if cap.events else read_more(cap, ctx.window),
        )
    repeated = {i: n for i, n in Counter(ids).items() if n > 1}
    if not repeated:
        return Finding(f"{len(ids)} ids, all distinct")
    types = Counter(e.event.type for e in cap.events if e.id_field in repeated)
    return Finding(
        f"ids repeat ({dict(list(repeated.items())[:5])})"
        + (f" across event types {sorted(types)}" if len(types) > 1 else "")
        + ": a client resuming after one of them cannot say which event it means",
        False,
    )


@case(
    "server.ids.2",
    "Numeric ids form a sequence without gaps",
    ["S-18"],
    fix="number each stream's events consecutively (1, 2, 3 ...) and send every one of them; if"
    " ids come from a sequence shared with other streams, gaps are by design",
)
async def gapless_ids(ctx: Context) -> Finding:
    cap = await ctx.stream()
    ids = _ids(cap)
    if len(ids) < 3 or not all(i.isascii() and i.isdigit() for i in ids):
        return Finding(
            f"{len(ids)} ids, not a numeric sequence: gaps cannot be judged",
            None,
            next_step=read_more(cap, ctx.window) if len(ids) < 3 else None,
        )
    numbers = [int(i) for i in ids]
    steps = [b - a for a, b in itertools.pairwise(numbers)]
    if all(s == 1 for s in steps):
        return Finding(f"ids {numbers[0]}..{numbers[-1]}, no gap")
    where = next(k for k, s in enumerate(steps) if s != 1)
    kind = "gap" if steps[where] > 1 else "repeat or step back"
    return Finding(
        f"{kind} after id {numbers[where]}: next is {numbers[where + 1]}"
        " (a lost or duplicated event, as a load test would count it)",
        False,
    )


@case(
    "server.resume.1",
    "Reconnecting with Last-Event-ID continues right after that id",
    ["S-18"],
    needs=Need.RESUMABLE,
    fix="on a request with a Last-Event-ID header, send the events after that id (kept in a"
    " replay buffer) before going live; without the header, start afresh",
)
async def resume_exact(ctx: Context) -> Finding:
    first = await ctx.stream()
    ids = _ids(first)
    if len(ids) < 2:
        return Finding(
            f"{len(ids)} ids in the first connection: nothing to resume from",
            None,
            next_step=read_more(first, ctx.window) or GIVE_IDS,
        )
    pivot = len(ids) // 2 - 1 if len(ids) > 2 else 0
    expected = ids[pivot + 1 : pivot + 1 + RESUME_EVENTS]
    window = Window(
        max_events=len(expected),
        max_seconds=ctx.window.max_seconds,
        header_timeout=ctx.window.header_timeout,
    )
    again = await ctx.fetch(
        f"resume:{ids[pivot]}", headers={"Last-Event-ID": ids[pivot]}, window=window
    )
    got = _ids(again)[: len(expected)]
    evidence = f"Last-Event-ID: {ids[pivot]} -> ids {got}; expected {expected}"
    if again.status != 200:
        return Finding(f"resume answered {again.status}: {evidence}", False)
    return Finding(evidence, got == expected, again.raw[:120])


@case(
    "server.resume.2",
    "An unknown Last-Event-ID gets a clean answer, not a 5xx or a hang",
    ["S-18"],
    fix="treat a Last-Event-ID the app does not know (too old, from another stream) as a fresh"
    " start, or answer 204 to stop the client; never let it raise",
)
async def resume_unknown(ctx: Context) -> Finding:
    bogus = "no-such-id-\u2603"
    cap = await ctx.fetch("resume:bogus", headers={"Last-Event-ID": bogus}, window=_one_answer(ctx))
    if cap.status is None:
        return Finding(f"no answer to Last-Event-ID {bogus!r}: {cap.end}: {cap.error}", False)
    ok = cap.status < 500
    return Finding(f"Last-Event-ID {bogus!r} answered {cap.status}", ok)


@case(
    "server.resume.3",
    "After the stream ends, a reconnect learns whether to continue (200) or stop (204)",
    ["S-13"],
    needs=Need.RESUMABLE,
    observation=True,
)
async def after_end(ctx: Context) -> Finding:
    """An observation: ending with 204 is advice (S-13), and a 200 that resumes is as right for
    a stream that continues; the report says which the target does."""
    first = await ctx.stream()
    if first.end != "eof":
        more = read_more(first, ctx.window)
        return Finding(
            f"the stream did not end within the window ({first.end})",
            None,
            next_step=f"if the stream ends, {more}" if more else None,
        )
    last = first.last_event_id
    cap = await ctx.fetch(
        "resume:after-end", headers={"Last-Event-ID": last}, window=_one_answer(ctx)
    )
    if cap.status == 204:
        return Finding(f"reconnect with Last-Event-ID {last!r} answered 204: clients stop", None)
    return Finding(
        f"reconnect with Last-Event-ID {last!r} answered {cap.status} with"
        f" {len(cap.events)} events: clients keep reconnecting after every end",
        None,
    )
