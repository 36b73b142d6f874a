"""When bytes arrive: prompt headers, flushed events, keep-alive cadence (S-16, S-17)."""

from __future__ import annotations

import itertools
import sys
from dataclasses import replace

from harness.server.cases.context import Context
from harness.server.cases.hints import read_more
from harness.server.cases.model import Finding, case
from harness.server.probe import Capture, Window

#: Headers later than this keep a client's ``open`` waiting, which users see as a hang.
HEADERS_BOUND_S = 1.0
#: A stream that waits this long for its first event and then delivers everything at once is
#: buffered somewhere (the framework, a middleware, a proxy) rather than slow to produce.
BURST_WAIT_S = 0.2
BURST_SPREAD = 0.1
#: A silence is over the keep-alive bound only beyond it by this share of the bound (at least
#: KEEPALIVE_SLACK_MIN_S): a keep-alive sent exactly every bound seconds arrives a little late
#: (timers, scheduling, the network), and that is the cadence the bound asks for.
KEEPALIVE_TOLERANCE = 0.05
KEEPALIVE_SLACK_MIN_S = 0.1
#: Chunks carrying comments that show a keep-alive cadence: one may be a greeting, three are a
#: rhythm.
CADENCE_COMMENTS = 3
#: How long past the tolerated silence the keep-alive read waits before it stops, so a silence
#: it stops on is over the limit beyond any timer's jitter.
IDLE_MARGIN_S = 0.5
#: The keep-alive interval sse-starlette uses by default, suggested when the bound allows it.
PING_S = 15.0


def keepalive_limit(bound: float) -> float:
    """The longest silence graded as within ``bound`` (the bound plus its tolerance)."""
    return bound + max(bound * KEEPALIVE_TOLERANCE, KEEPALIVE_SLACK_MIN_S)


def keepalive_window(window: Window, bound: float) -> Window:
    """The keep-alive case's own read: it must see a silence outlast the bound, which the run's
    window (10 s by default, half the default bound) cannot. It stops as soon as it can grade:
    once a silence has outlasted the limit, or once three keep-alive comments showed their
    cadence; a stream that keeps sending is followed for the run's window plus the limit, so
    one that falls idle within the window every other case reads is still seen idle."""
    limit = keepalive_limit(bound)
    return replace(
        window,
        max_events=sys.maxsize,
        max_seconds=window.max_seconds + limit + IDLE_MARGIN_S,
        idle_seconds=limit + IDLE_MARGIN_S,
        comment_chunks=CADENCE_COMMENTS,
    )


def _silences(cap: Capture) -> list[float]:
    """Gaps between consecutive arrivals, from the headers to the end of the capture."""
    if cap.t_headers is None:
        return []
    stamps = [cap.t_headers, *(c.t for c in cap.chunks), cap.duration]
    return [b - a for a, b in itertools.pairwise(stamps)]


@case(
    "server.timing.1",
    "Response headers arrive promptly",
    ["S-17"],
    fix="return the streaming response at once and do slow work (queries, model calls) inside the"
    " generator, so the headers go out before the first event is ready",
)
async def headers_prompt(ctx: Context) -> Finding:
    cap = await ctx.stream()
    if cap.t_headers is None:
        return Finding(f"no response headers: {cap.end}: {cap.error}", False)
    ok = cap.t_headers <= HEADERS_BOUND_S
    return Finding(
        f"headers after {cap.t_headers * 1000:.0f} ms"
        + ("" if ok else f" (bound {HEADERS_BOUND_S * 1000:.0f} ms): clients wait to open"),
        ok,
        timings={"headers_s": cap.t_headers},
    )


@case("server.timing.2", "Time to first event", ["S-17"], observation=True)
async def first_event(ctx: Context) -> Finding:
    cap = await ctx.stream()
    if not cap.events or cap.t_headers is None:
        return Finding(
            "no event within the window",
            None,
            timings={"window_s": cap.duration},
            next_step=read_more(cap, ctx.window),
        )
    first = cap.events[0].t
    return Finding(
        f"first event {first * 1000:.0f} ms after the request"
        f" ({(first - cap.t_headers) * 1000:.0f} ms after the headers)",
        None,
        timings={"headers_s": cap.t_headers, "first_event_s": first},
    )


@case(
    "server.timing.3",
    "Events arrive as they are produced, not in a burst",
    ["S-17"],
    fix="flush each event as it is produced: yield events one by one, turn buffering off in"
    " middleware and proxies (X-Accel-Buffering: no; nginx: proxy_buffering off;) and leave the"
    " stream uncompressed",
)
async def no_burst(ctx: Context) -> Finding:
    """The wait counts from the request, not the headers: a buffering proxy holds both."""
    cap = await ctx.stream()
    if len(cap.events) < 3:
        more = read_more(cap, ctx.window)
        return Finding(
            f"{len(cap.events)} events: too few to judge the cadence",
            None,
            next_step=f"{more}, or point at a stream that sends 3 events or more"
            if more
            else "point at a stream that sends 3 events or more",
        )
    wait = cap.events[0].t
    spread = cap.events[-1].t - cap.events[0].t
    timings = {"wait_s": wait, "spread_s": spread}
    burst = wait >= BURST_WAIT_S and spread <= BURST_SPREAD * (wait + spread)
    if burst:
        return Finding(
            f"nothing for {wait * 1000:.0f} ms, then {len(cap.events)} events within"
            f" {spread * 1000:.0f} ms: the stream is buffered, not flushed per event",
            False,
            cap.chunks[-1].data[:80],
            timings,
        )
    return Finding(
        f"{len(cap.events)} events over {spread * 1000:.0f} ms in {len(cap.chunks)} chunks",
        timings=timings,
    )


def _ping_hint(bound: float) -> str:
    ping = min(PING_S, bound)
    return (
        f"send a comment line (: ping) at least every {ping:g} s while the stream is idle;"
        f" sse-starlette: EventSourceResponse(..., ping={ping:g})"
    )


@case(
    "server.keepalive.1",
    "An idle stream sends a comment before proxies time out",
    ["S-16"],
    fix=_ping_hint(PING_S),
    own_window=keepalive_window,
)
async def keepalive(ctx: Context) -> Finding:
    """Read on its own connection (``keepalive_window``), as long as grading takes."""
    bound = ctx.keepalive_bound_s
    cap = await ctx.fetch("keepalive", window=keepalive_window(ctx.window, bound))
    gaps = _silences(cap)
    if cap.t_headers is None or not gaps:
        return Finding(f"no response: {cap.end}: {cap.error}", None)
    longest = max(gaps)
    limit = keepalive_limit(bound)
    comments = len(cap.comment_times)
    seen = cap.duration - cap.t_headers
    timings = {"longest_silence_s": longest, "bound_s": bound, "limit_s": limit, "read_s": seen}
    within = f"bound {bound:g} s, tolerated up to {limit:.2f} s"
    if longest > limit:
        return Finding(
            f"silent for {longest:.2f} s ({within}) with {comments} comment chunks:"
            " a proxy may close the idle stream",
            False,
            timings=timings,
            next_step=_ping_hint(bound),
        )
    if seen >= bound or comments >= CADENCE_COMMENTS or (comments and cap.end == "eof"):
        return Finding(
            f"longest silence {longest:.2f} s in {seen:.1f} s read ({within});"
            f" {comments} comment chunks",
            timings=timings,
        )
    if cap.end == "eof":
        return Finding(
            f"the stream ended after {seen:.1f} s, before it could stay idle for the keep-alive"
            f" bound {bound:g} s, and sent no comment: cadence not observed",
            None,
            timings=timings,
            next_step="to grade it, point at a stream that stays open and idle past the bound"
            " (the reference server's /keepalive), or lower --keepalive-bound below"
            f" the stream's {seen:.1f} s",
        )
    return Finding(
        f"the read ended ({cap.end}{': ' + cap.error if cap.error else ''}) after {seen:.1f} s,"
        f" before the keep-alive bound {bound:g} s: cadence not observed",
        None,
        timings=timings,
    )
