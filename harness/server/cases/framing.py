"""The bytes of the stream against the event-stream grammar (S-04..S-12).

These cases read the validating parser's violations from the main capture: the parser is the one
place that knows the grammar, so a case only chooses which violations it owns and says what they
cost a client.
"""

from __future__ import annotations

from collections import Counter

from harness.outcome import Level
from harness.server.cases.context import Context
from harness.server.cases.hints import read_more
from harness.server.cases.model import Finding, case
from harness.server.probe import Capture, Window
from harness.stream import EVENT_STREAM, Violation

_KNOWN = (b"data", b"event", b"id", b"retry")


def _name(violation: Violation) -> bytes:
    return violation.excerpt.split(b":", 1)[0]


def not_a_stream(cap: Capture) -> Finding | None:
    """The grammar of a body is judged only when the response claims to be an event stream;
    a 422 JSON body or an HTML page is already FAILED by server.status.1 / server.headers.1."""
    if cap.status == 200 and cap.media_type == EVENT_STREAM:
        return None
    return Finding(
        f"not an event stream (status {cap.status}, Content-Type {cap.content_type!r}):"
        " grammar not judged",
        None,
    )


def no_body(cap: Capture, window: Window) -> Finding:
    """Nothing to judge: no body arrived; reading longer may help, or another stream must."""
    more = read_more(cap, window)
    return Finding(
        f"no body received ({cap.end}{': ' + cap.error if cap.error else ''})",
        None,
        next_step=f"{more}, or point at a stream that is sending events"
        if more
        else "point at a stream that sends events",
    )


def still_open(cap: Capture, window: Window) -> Finding:
    """The window ended before the stream did: its close is judged only if the read reaches it."""
    more = read_more(cap, window) or "read longer"
    return Finding(
        "the stream was still open when the window ended: close not observed",
        None,
        next_step=f"if the stream ends, {more}; an endless stream has no close to judge",
    )


def _judge(
    cap: Capture, window: Window, owned: list[Violation], ok_text: str, breach_text: str
) -> Finding:
    if (other := not_a_stream(cap)) is not None:
        return other
    if not cap.chunks:
        return no_body(cap, window)
    if not owned:
        return Finding(f"{ok_text} ({len(cap.body)} bytes read)")
    first = owned[0]
    more = f"; {len(owned) - 1} more" if len(owned) > 1 else ""
    return Finding(
        f"{breach_text} at byte {first.offset}: {first.message}{more}", False, first.excerpt
    )


def _owned(cap: Capture, rule: str) -> list[Violation]:
    return [v for v in cap.violations if v.rule == rule]


@case(
    "server.framing.1",
    "The body is valid UTF-8",
    ["S-04"],
    fix='encode every event as UTF-8: yield str, or bytes made by text.encode("utf-8")',
)
async def utf8(ctx: Context) -> Finding:
    cap = await ctx.stream()
    return _judge(cap, ctx.window, _owned(cap, "S-04"), "valid UTF-8", "invalid UTF-8")


@case(
    "server.framing.2",
    "A BOM appears only at byte 0",
    ["S-06"],
    fix="strip U+FEFF from event data and fields (a BOM may only open the stream)",
)
async def bom(ctx: Context) -> Finding:
    cap = await ctx.stream()
    return _judge(cap, ctx.window, _owned(cap, "S-06"), "no BOM after byte 0", "BOM after byte 0")


@case(
    "server.framing.3",
    "Field names are lowercase data, event, id, retry",
    ["S-08"],
    fix="write field names in lowercase (data:, event:, id:, retry:), or let an SSE library"
    " write the events (sse-starlette's ServerSentEvent)",
)
async def field_case(ctx: Context) -> Finding:
    cap = await ctx.stream()
    owned = [v for v in _owned(cap, "S-08") if _name(v).lower() in _KNOWN]
    return _judge(cap, ctx.window, owned, "all known field names lowercase", "wrongly cased field")


@case(
    "server.framing.4",
    "No unknown field lines (a value holding CR or LF creates them)",
    ["S-06", "S-08"],
    fix="never put CR or LF inside a field value: write multi-line data as one data: line per"
    " line (sse-starlette's ServerSentEvent(data=...) does), and strip CR and LF from event and"
    " id values",
)
async def unknown_fields(ctx: Context) -> Finding:
    cap = await ctx.stream()
    owned = [v for v in _owned(cap, "S-08") if _name(v).lower() not in _KNOWN]
    return _judge(cap, ctx.window, owned, "no unknown field lines", "unknown field line")


@case(
    "server.framing.5",
    "id values hold no U+0000",
    ["S-10"],
    fix="strip U+0000 from event ids: clients ignore an id that holds it",
)
async def id_nul(ctx: Context) -> Finding:
    cap = await ctx.stream()
    return _judge(cap, ctx.window, _owned(cap, "S-10"), "no NUL in any id", "NUL in id")


@case(
    "server.framing.6",
    "retry values are ASCII digits only",
    ["S-11"],
    fix="write retry as whole milliseconds in ASCII digits (retry: 3000), not 3.0, -1, true or 3s",
)
async def retry_digits(ctx: Context) -> Finding:
    cap = await ctx.stream()
    found = _judge(
        cap, ctx.window, _owned(cap, "S-11"), "every retry value is ASCII digits", "bad retry"
    )
    if found.conforms and cap.retry is not None:
        return Finding(f"{found.observed}; last retry {cap.retry} ms")
    return found


@case(
    "server.framing.7",
    "The last event ends with a blank line before close",
    ["S-07"],
    fix='end every event with a blank line ("\\n\\n"), and end the stream by returning from the'
    " generator, not by raising, so the last event is not cut",
)
async def final_blank_line(ctx: Context) -> Finding:
    cap = await ctx.stream()
    if cap.end == "window":
        return still_open(cap, ctx.window)
    return _judge(
        cap,
        ctx.window,
        _owned(cap, "S-07"),
        "the stream ended on a blank line",
        "stream ended mid-block",
    )


@case("server.framing.8", "Line terminators are CRLF, LF or CR", ["S-05"], observation=True)
async def terminators(ctx: Context) -> Finding:
    """An observation, never a verdict: every byte before the last terminator ends in CR, LF or
    CRLF by construction, and what follows it is an unfinished line (server.framing.7, S-07).
    Which terminators a stream mixes is worth knowing for proxies."""
    cap = await ctx.stream()
    if not cap.body:
        return Finding("no body received", None)
    crlf = cap.body.count(b"\r\n")
    counts = {"CRLF": crlf, "LF": cap.body.count(b"\n") - crlf, "CR": cap.body.count(b"\r") - crlf}
    used = {k: v for k, v in counts.items() if v}
    mixed = " (mixed)" if len(used) > 1 else ""
    return Finding(f"line terminators: {used}{mixed}", None)


@case(
    "server.framing.9",
    "Event types seen (omitted or empty means message)",
    ["S-12"],
    observation=True,
)
async def event_types(ctx: Context) -> Finding:
    cap = await ctx.stream()
    if not cap.events:
        return Finding("no events dispatched", None)
    types = Counter(e.event.type for e in cap.events)
    return Finding(f"{len(cap.events)} events by type: {dict(types)}", None)


@case(
    "server.framing.10",
    "Data sent is dispatched: blank lines end the events",
    ["S-07"],
    fix='end each event with a blank line: yield f"data: {text}\\n\\n" (one \\n leaves the'
    " event undispatched)",
)
async def data_dispatched(ctx: Context) -> Finding:
    cap = await ctx.stream()
    if (other := not_a_stream(cap)) is not None:
        return other
    if not cap.body:
        return no_body(cap, ctx.window)
    if cap.events:
        return Finding(f"{len(cap.events)} events dispatched from {len(cap.body)} bytes")
    if b"data" not in cap.body:
        return Finding(f"{len(cap.body)} bytes, no data field: nothing to dispatch", None)
    return Finding(
        "data fields arrived but no event was dispatched: no blank line ended them",
        False,
        cap.body[:80],
    )


@case(
    "server.close.1",
    "The body ends with a clean close, not an abort",
    ["S-07"],
    level=Level.PRACTICE,
    fix="end the response by returning from the generator, not by raising: catch errors inside"
    " it and send them as an event",
)
async def clean_close(ctx: Context) -> Finding:
    """An abort is a network error to clients: they reconnect, as after a clean close. If it cut
    an event, server.framing.7 fails that as a MUST; the abort itself is graded as a PRACTICE."""
    cap = await ctx.stream()
    if cap.end == "window":
        return still_open(cap, ctx.window)
    if cap.end == "aborted":
        lost = _owned(cap, "S-07")
        cut = ", cutting an event" if lost and "lost" in lost[0].message else ""
        return Finding(f"the body was aborted{cut}: {cap.error}", False, cap.raw[-80:])
    return Finding(f"the body ended: {cap.end}", cap.end in ("eof", "no-body"))


@case(
    "server.framing.11",
    "Lines and events fit a client's bounded buffers (1 MiB line, 8 MiB event)",
    ["S-07"],
    level=Level.PRACTICE,
    fix="split large payloads into several events (a line under 1 MiB, an event under 8 MiB),"
    " and end every event with a blank line",
)
async def within_bounds(ctx: Context) -> Finding:
    """An event that never ends (an endless line, a data field without a blank line) is never
    dispatched; a bounded client gives up on it, so the harness does too, and says so."""
    cap = await ctx.stream()
    if cap.end == "limit":
        return Finding(f"{cap.error}: a bounded client gives up here", False, cap.raw[-80:])
    return Finding(f"no line or event beyond the bounds in {len(cap.body)} bytes")
