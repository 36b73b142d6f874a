"""What the server does when clients leave (S-23), seen through the contract's observation.

A black box cannot show whether a generator stops when its client goes away; a target that
speaks the scripting contract reports its streams, and each response names its stream in the
``X-SSE-Stream-Id`` header, so these cases watch the target's own endpoint, faults and all.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp

from harness.contract import STREAM_ID_HEADER
from harness.server.cases.context import Context
from harness.server.cases.model import Finding, Need, case

#: What usually makes a generator stop when its client leaves.
STOP_ON_DISCONNECT = (
    "stop the generator when the client leaves: sse-starlette stops it for you; with"
    " StreamingResponse, return when await request.is_disconnected() is true, and never run the"
    " producer in a task that outlives the response"
)
#: How an endpoint of the user's own becomes observable.
OBSERVE_ENDPOINT = (
    "this endpoint does not name its stream: wrap its generator in the contract's"
    " StreamRegistry.observe and send X-SSE-Stream-Id (harness.contract explains how)"
)
#: A generator must stop within this long after its client left (issue: 1 s).
STOP_BOUND_S = 1.0
#: How long to keep asking the target before concluding a generator still runs.
SETTLE_S = STOP_BOUND_S + 1.5
POLL_S = 0.05
CYCLES = 50


async def _open_and_abandon(ctx: Context) -> str | None:
    """Open the target's stream, read its first chunk, then drop the connection.

    None when the response names no stream, or the target dropped the connection itself (that
    stream then never started, so there is no generator to watch).
    """
    try:
        answer = await asyncio.wait_for(
            ctx.transport.open(
                ctx.target.method,
                ctx.target.url,
                headers=ctx.target.request_headers(),
                body=ctx.target.body,
            ),
            ctx.window.header_timeout,
        )
    except (aiohttp.ClientError, OSError, TimeoutError):
        return None
    try:
        stream_id = answer.headers.get(STREAM_ID_HEADER)
        if answer.status == 200:
            await asyncio.wait_for(answer.read(), ctx.window.header_timeout)
        return stream_id
    except (aiohttp.ClientError, OSError, TimeoutError):
        return None
    finally:
        answer.close()  # abandon: no more reads; the socket (HTTP/2: the stream) goes away


async def _settle(ctx: Context, stream_id: str) -> dict[str, Any] | None:
    """The target's record once the generator has ended, or its live record after SETTLE_S."""
    deadline = time.monotonic() + SETTLE_S
    record = await ctx.observed(stream_id)
    while record is not None and record.get("ended") is None and time.monotonic() < deadline:
        await asyncio.sleep(POLL_S)  # a bounded poll of an observable condition
        record = await ctx.observed(stream_id)
    return record


@case(
    "server.disconnect.1",
    "The generator stops within 1 s of the client leaving",
    ["S-23"],
    needs=Need.OBSERVABLE,
    fix=STOP_ON_DISCONNECT,
)
async def generator_stops(ctx: Context) -> Finding:
    stream_id = await _open_and_abandon(ctx)
    if stream_id is None:
        return Finding(
            f"no {STREAM_ID_HEADER} (none on the response, or the connection failed):"
            " this endpoint is not observed",
            None,
            next_step=OBSERVE_ENDPOINT,
        )
    left = time.monotonic()
    record = await _settle(ctx, stream_id)
    if record is None:
        return Finding(f"stream {stream_id} unknown to the observation endpoint", None)
    if record.get("ended") is None:
        waited = time.monotonic() - left
        return Finding(
            f"stream {stream_id}: generator still running {waited:.1f} s after the client left"
            f" ({record.get('blocks')} blocks produced)",
            False,
            timings={"waited_s": waited},
        )
    reason = record.get("end_reason")
    stop = record.get("stop_after_disconnect_s")
    if stop is None:
        return Finding(f"stream {stream_id} ended as {reason!r} before the client left", None)
    return Finding(
        f"stream {stream_id}: generator ended ({reason}) {stop * 1000:.0f} ms after the disconnect",
        stop <= STOP_BOUND_S,
        timings={"stop_after_disconnect_s": stop},
    )


@case(
    "server.disconnect.2",
    f"{CYCLES} abandoned connections leave no generator running",
    ["S-23"],
    needs=Need.OBSERVABLE,
    timeout=60.0,
    fix=STOP_ON_DISCONNECT + ", and release each stream's resources in a finally: block",
)
async def no_leak(ctx: Context) -> Finding:
    ids = await asyncio.gather(*(_open_and_abandon(ctx) for _ in range(CYCLES)))
    observed = [i for i in ids if i is not None]
    if not observed:
        return Finding(
            f"no {STREAM_ID_HEADER} on any of {CYCLES} responses (or their connections failed):"
            " not observed",
            None,
            next_step=OBSERVE_ENDPOINT,
        )
    records = await asyncio.gather(*(_settle(ctx, i) for i in observed))
    running = [
        i
        for i, r in zip(observed, records, strict=True)
        if r and (r.get("ended") is None or (r.get("stop_after_disconnect_s") or 0) > SETTLE_S)
    ]
    stops = [
        r["stop_after_disconnect_s"] for r in records if r and r.get("stop_after_disconnect_s")
    ]
    timings = {"worst_stop_s": max(stops)} if stops else {}
    if running:
        return Finding(
            f"{len(running)} of {len(observed)} generators still running {SETTLE_S:.1f} s"
            " after their clients left",
            False,
            timings=timings,
        )
    return Finding(
        f"all {len(observed)} generators ended after their clients left", timings=timings
    )
