"""HTTP around the stream: CORS for browsers, HEAD, redirects (S-01, S-15, S-19)."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter

import aiohttp

from harness.outcome import Level
from harness.server.cases.context import Context
from harness.server.cases.headers import header_excerpt
from harness.server.cases.hints import read_more
from harness.server.cases.model import Finding, Need, case
from harness.server.cases.timing import HEADERS_BOUND_S
from harness.server.h2transport import H2Link, H2Transport, StreamReset
from harness.server.probe import Capture, Window
from harness.server.target import CROSS_ORIGIN
from harness.server.transport import Answer

#: A foreign origin, only ever sent as a header value.
ORIGIN = CROSS_ORIGIN
QUICK = Window(max_events=1, max_seconds=3.0, header_timeout=5.0)
#: What a page on another origin needs, for an app that has no CORS yet.
ADD_CORS = (
    "if pages on other origins open this stream, add CORS: app.add_middleware(CORSMiddleware,"
    ' allow_origins=["https://your.site"], allow_headers=["Last-Event-ID"])'
)


@case(
    "server.cors.1",
    "A CORS preflight allows the Last-Event-ID header",
    ["S-19"],
    fix="allow the Last-Event-ID request header in CORS: CORSMiddleware(..., allow_headers=["
    '"Last-Event-ID"])',
)
async def preflight(ctx: Context) -> Finding:
    cap = await ctx.fetch(
        "preflight",
        method="OPTIONS",
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": ctx.target.method,
            "Access-Control-Request-Headers": "last-event-id",
        },
        read_body=False,
        window=QUICK,
    )
    if cap.status is None:
        return Finding(f"no answer to the preflight: {cap.end}: {cap.error}", False)
    allow_origin = cap.headers.get("Access-Control-Allow-Origin")
    if allow_origin is None:
        return Finding(
            f"preflight answered {cap.status} without CORS headers: only same-origin pages"
            " can connect",
            None,
            header_excerpt(cap),
            next_step=ADD_CORS,
        )
    allowed = {
        h.strip().lower() for h in cap.headers.get("Access-Control-Allow-Headers", "").split(",")
    }
    ok = "last-event-id" in allowed or "*" in allowed
    return Finding(
        f"preflight {cap.status}, Allow-Headers {sorted(allowed - {''})}"
        + ("" if ok else ": a browser reconnecting with Last-Event-ID is refused"),
        ok,
        header_excerpt(cap, "Access-Control-Allow-Origin", "Access-Control-Allow-Headers"),
    )


@case(
    "server.cors.2",
    "A cross-origin stream names an allowed origin",
    ["S-19"],
    fix="answer a cross-origin request with Access-Control-Allow-Origin naming the page's origin"
    ' (or *): CORSMiddleware(..., allow_origins=["https://your.site"])',
)
async def allow_origin(ctx: Context) -> Finding:
    cap = await ctx.fetch("cross-origin", headers={"Origin": ORIGIN}, window=QUICK)
    if cap.status is None:
        return Finding(f"no answer: {cap.end}: {cap.error}", False)
    value = cap.headers.get("Access-Control-Allow-Origin")
    if value is None:
        return Finding(
            "no Access-Control-Allow-Origin: same-origin pages only", None, next_step=ADD_CORS
        )
    return Finding(
        f"Access-Control-Allow-Origin: {value}",
        value in ("*", ORIGIN),
        header_excerpt(cap, "Access-Control-Allow-Origin", "Access-Control-Allow-Credentials"),
    )


#: A HEAD answered after this share of the GET stream's whole life came when the stream ended.
HELD_SHARE = 0.8
#: How much later than the GET's headers a HEAD may answer before its lateness counts at all.
HEAD_SLACK_S = 0.3


def _held(head: Capture, stream: Capture) -> bool:
    """Was the HEAD answered only when the stream ended, as Node answers a HEAD routed to a
    GET handler? Only a stream that ended in the window can tell; an endless one is caught by
    the HEAD timeout instead."""
    return (
        head.t_headers is not None
        and stream.end == "eof"
        and stream.t_headers is not None
        and head.t_headers - stream.t_headers > HEAD_SLACK_S
        and head.t_headers >= HELD_SHARE * stream.duration
    )


@case(
    "server.http.1",
    "HEAD is answered promptly, without a body",
    ["S-01"],
    level=Level.PRACTICE,
    fix="answer HEAD with the stream's headers and no body, without running the stream: a HEAD"
    ' route that returns Response(media_type="text/event-stream")',
)
async def head(ctx: Context) -> Finding:
    """Monitors and proxies probe with HEAD; a stream endpoint that hangs on it looks down.

    Graded on time to headers whatever the stream's length: a HEAD held until the stream ends
    is late on a short stream and never answered on an endless one.
    """
    cap = await ctx.head(QUICK)
    if cap.t_headers is None:
        held = (
            ": a HEAD routed to the stream handler is answered only when the stream ends,"
            " and on an endless stream never"
            if cap.end == "timeout"
            else ""
        )
        return Finding(f"HEAD got no answer: {cap.end}: {cap.error}{held}", False, cap.raw)
    if cap.status is None:
        return Finding(f"HEAD answered with no readable status line ({cap.reason!r})", False)
    stream = await ctx.stream()
    took = cap.t_headers * 1000
    problems = []
    if _held(cap, stream):
        problems.append(
            f"about when the GET stream ended ({stream.duration * 1000:.0f} ms):"
            " HEAD is held until the stream ends"
        )
    elif cap.t_headers > HEADERS_BOUND_S:
        problems.append(f"later than {HEADERS_BOUND_S * 1000:.0f} ms")
    if cap.status >= 500:
        problems.append("a server error")
    if cap.chunks:
        problems.append(
            f"then {len(cap.raw)} body bytes after the HEAD response, which has no body"
            f" (first {cap.chunks[0].t * 1000:.0f} ms after the request)"
        )
    return Finding(
        f"HEAD answered {cap.status} after {took:.0f} ms" + "".join(f"; {p}" for p in problems),
        not problems,
        cap.raw if cap.chunks else header_excerpt(cap, "Content-Type", "Allow"),
        {"headers_s": cap.t_headers},
    )


@case("server.http.2", "Redirects on the way to the stream", ["S-15"], observation=True)
async def redirects(ctx: Context) -> Finding:
    """An observation: following redirects is the client's duty (S-15 is ADVICE), so no
    redirect chain a server sends is a breach; the report says which there was."""
    cap = await ctx.stream()
    if not cap.redirects:
        return Finding("no redirect", None)
    chain = " -> ".join(f"{status} {url}" for status, url in cap.redirects)
    return Finding(f"redirected: {chain}; clients follow, but reconnect to the original URL", None)


#: Concurrent streams the capacity case opens: enough to meet a small connection limit, few
#: enough to stay a probe rather than a load test.
CAPACITY_STREAMS = 100


@case(
    "server.capacity.1",
    f"Under {CAPACITY_STREAMS} concurrent streams, a refusal is a 5xx, not a reset or a hang",
    ["S-14"],
    timeout=60.0,
    fix="refuse streams beyond capacity with an HTTP error (503, with Retry-After), not by"
    " dropping or stalling the connection: uvicorn --limit-concurrency N answers 503",
)
async def capacity(ctx: Context) -> Finding:
    """A 5xx stops a conforming client; a reset or a timeout makes it reconnect, which is the
    retry storm an overloaded server least needs."""
    timeout = ctx.window.header_timeout

    async def open_one() -> Answer | str:
        try:
            return await asyncio.wait_for(
                ctx.transport.open(
                    ctx.target.method,
                    ctx.target.url,
                    headers=ctx.target.request_headers(),
                    body=ctx.target.body,
                ),
                timeout,
            )
        except TimeoutError:
            return f"no answer within {timeout:.0f} s"
        except StreamReset as exc:  # HTTP/2: the frame and its code are the evidence
            return str(exc)
        except (aiohttp.ClientError, OSError) as exc:
            return type(exc).__name__

    # Every stream is held until all are answered, as that many clients would hold them.
    answers = await asyncio.gather(*(open_one() for _ in range(CAPACITY_STREAMS)))
    for answer in answers:
        if isinstance(answer, Answer):
            answer.close()
    seen = Counter(a.status if isinstance(a, Answer) else a for a in answers)
    refused = {k: n for k, n in seen.items() if k != 200}
    if not refused:
        return Finding(f"all {CAPACITY_STREAMS} streams answered 200: no capacity limit reached")
    clean = all(isinstance(k, int) and k >= 500 for k in refused)
    return Finding(
        f"{seen.get(200, 0)} of {CAPACITY_STREAMS} answered 200; refused: {dict(refused)}"
        + ("" if clean else ": clients reconnect at once after anything but an HTTP error"),
        clean,
    )


#: Streams the multiplexing case opens on one HTTP/2 connection (fewer if the server's
#: SETTINGS_MAX_CONCURRENT_STREAMS says so: a limit it announces is not a breach).
MULTIPLEX_STREAMS = 100


@case(
    "server.capacity.2",
    f"{MULTIPLEX_STREAMS} streams multiplexed on one HTTP/2 connection each deliver bytes",
    ["S-14"],
    needs=Need.HTTP2,
    timeout=60.0,
    fix="let one HTTP/2 connection carry many streams: raise the server's concurrent-stream"
    " limit (hypercorn: h2_max_concurrent_streams) and refuse with a 503, not a reset",
)
async def multiplexed(ctx: Context) -> Finding:
    """Browsers put every EventSource of an origin on one HTTP/2 connection, so a server whose
    streams stall, or get reset, once many share a connection fails pages with many tabs. A
    refusal is a 5xx, as in server.capacity.1; a stream that stays silent, or a reset (named
    with its code), is not."""
    main = await ctx.stream()
    if not main.chunks:
        return Finding(
            f"the stream itself sent no body within the window ({main.end})",
            None,
            next_step=read_more(main, ctx.window),
        )
    transport = ctx.transport
    if not isinstance(transport, H2Transport):
        return Finding("the run does not speak HTTP/2", None)
    try:
        link = await transport.link(ctx.target.url, fresh=True)
    except (OSError, TimeoutError) as exc:
        return Finding(f"no second HTTP/2 connection: {type(exc).__name__}: {exc}", False)
    count = min(MULTIPLEX_STREAMS, link.h2.remote_settings.max_concurrent_streams)
    patience = ctx.window.header_timeout + ctx.window.max_seconds
    drains: list[asyncio.Task[None]] = []
    try:
        # Every stream stays open until all have answered, as that many tabs would hold them.
        seen = Counter(
            await asyncio.gather(*(_first_bytes(ctx, link, patience, drains) for _ in range(count)))
        )
    finally:
        await link.aclose()  # ends every drain: reads on a closed connection raise StreamReset
        await asyncio.gather(*drains)
    flowing = seen.pop("streamed", 0)
    limit = "" if count == MULTIPLEX_STREAMS else f" (the server allows {count} at once)"
    if not seen:
        return Finding(f"all {count} streams on one connection delivered body bytes{limit}")
    clean = all(k.startswith("status 5") for k in seen)
    return Finding(
        f"{flowing} of {count} streams on one connection delivered body bytes{limit};"
        f" the others: {dict(seen)}"
        + ("" if clean else ": a stall or a reset is not a refusal clients understand"),
        clean,
    )


async def _first_bytes(
    ctx: Context, link: H2Link, patience: float, drains: list[asyncio.Task[None]]
) -> str:
    """Open one stream on ``link`` and wait for its first body bytes; the answer, as a key.
    The stream is left open (the caller closes the connection)."""
    target = ctx.target
    try:
        async with asyncio.timeout(patience):
            answer = await link.request(
                target.method, target.url, target.request_headers(), target.body
            )
            if answer.status != 200:
                return f"status {answer.status}"
            if not await answer.read():
                return "ended without a byte"
    except TimeoutError:
        return f"nothing within {patience:.0f} s"
    except StreamReset as exc:
        return str(exc)
    # Keep reading, so this stream's data never holds the connection's window from the others.
    drains.append(asyncio.ensure_future(_drain(answer)))
    return "streamed"


async def _drain(answer: Answer) -> None:
    with contextlib.suppress(StreamReset):
        while await answer.read():
            pass
