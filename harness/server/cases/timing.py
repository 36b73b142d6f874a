"""When bytes arrive: prompt headers, flushed events, keep-alive cadence (S-16, S-17)."""

from __future__ import annotations

import itertools

from harness.server.cases.context import Context
from harness.server.cases.model import Finding, case
from harness.server.probe import Capture

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


def keepalive_limit(bound: float) -> float:
    """The longest silence graded as within ``bound`` (the bound plus its tolerance)."""
    return bound + max(bound * KEEPALIVE_TOLERANCE, KEEPALIVE_SLACK_MIN_S)


def _silences(cap: Capture) -> list[float]:
    """Gaps between consecutive arrivals, from the headers to the end of the capture."""
    if cap.t_headers is None:
        return []
    stamps = [cap.t_headers, *(c.t for c in cap.chunks), cap.duration]
    return [b - a for a, b in itertools.pairwise(stamps)]


@case("server.timing.1", "Response headers arrive promptly", ["S-17"])
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


@case("server.timing.2", "Time to first event", ["S-17"])
async def first_event(ctx: Context) -> Finding:
    cap = await ctx.stream()
    if not cap.events or cap.t_headers is None:
        return Finding("no event within the window", None, timings={"window_s": cap.duration})
    first = cap.events[0].t
    return Finding(
        f"first event {first * 1000:.0f} ms after the request"
        f" ({(first - cap.t_headers) * 1000:.0f} ms after the headers)",
        None,
        timings={"headers_s": cap.t_headers, "first_event_s": first},
    )


@case("server.timing.3", "Events arrive as they are produced, not in a burst", ["S-17"])
async def no_burst(ctx: Context) -> Finding:
    """The wait counts from the request, not the headers: a buffering proxy holds both."""
    cap = await ctx.stream()
    if len(cap.events) < 3:
        return Finding(f"{len(cap.events)} events: too few to judge the cadence", None)
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


@case("server.keepalive.1", "An idle stream sends a comment before proxies time out", ["S-16"])
async def keepalive(ctx: Context) -> Finding:
    cap = await ctx.stream()
    gaps = _silences(cap)
    if not gaps:
        return Finding(f"no response: {cap.end}", None)
    longest = max(gaps)
    bound = ctx.keepalive_bound_s
    limit = keepalive_limit(bound)
    comments = len(cap.comment_times)
    timings = {"longest_silence_s": longest, "bound_s": bound, "limit_s": limit}
    within = f"bound {bound:.1f} s, tolerated up to {limit:.2f} s"
    if longest > limit:
        return Finding(
            f"silent for {longest:.2f} s ({within}) with {comments} comment chunks:"
            " a proxy may close the idle stream",
            False,
            timings=timings,
        )
    if cap.duration < bound and not comments:
        return Finding(
            f"window {cap.duration:.1f} s is shorter than the keep-alive bound {bound:.1f} s"
            " and no comment arrived: cadence not observed",
            None,
            timings=timings,
        )
    return Finding(
        f"longest silence {longest:.2f} s ({within}); {comments} comment chunks",
        timings=timings,
    )
