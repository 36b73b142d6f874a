"""What the reference server costs: one hot stream, and thousands of slow ones.

    python benchmarks/bench_reference_server.py [--hot-seconds 3] [--rounds 3]
                                                [--streams 1000 5000] [--measure-seconds 10]

1. Hot stream: one client reads as fast as it can from three servers producing the same
   counter-shaped events with the same encoder: a raw Starlette ``StreamingResponse`` (the
   framework ceiling), plain sse-starlette, and the reference counter (``interval_ms=0``:
   observation, fault pipeline, guard, sse-starlette). Rounds are interleaved and the best one
   counts (other load on the host can only slow a round down). Printed: events/s of each and
   the ratio reference / raw.
2. Concurrent streams: N counter streams at 1 event/s each (N from ``--streams``), connected at
   most 200 at a time. Once every stream has delivered its first event, events are measured for
   ``--measure-seconds``. Printed: p50/p99 delivery latency (client dispatch time minus the
   ``sent`` stamp in the payload; one host, one clock), p50/p99 lateness (dispatch minus
   ``intended``: the server falling behind its schedule), events lost or duplicated, and the
   server's RSS growth per stream.

Every server runs in its own process (``python -m reference_server``, or this script's
``serve-baseline`` mode), so it never shares the client's GIL; everything stays on 127.0.0.1, the
open-file limit is raised to its hard limit, and every phase is bounded in time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import statistics
import sys
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import psutil

from harness.stream import Parser, encode
from reference_server.launch import serve_forever, serve_subprocess

SERVER_ARGS = ["--no-access-log", "--log-level", "warning", "--max-events", "100000000"]
CONNECT_AT_ONCE = 200  # below uvicorn's accept backlog (2048)


def raise_fd_limit() -> int:
    """5,000 streams need 5,000 sockets on each side; children inherit the raised limit."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


async def _counter_blocks() -> AsyncIterator[bytes]:
    """Counter-shaped events from the project's encoder, as fast as they can go.

    Like the reference producers it yields to the event loop once per event: without that, a hot
    producer starves the loop, which then never learns that its client left (the process even
    ignores SIGTERM).
    """
    n = 0
    while True:
        now = time.time()
        payload = {"seq": n, "intended": now, "sent": now, "pad": ""}
        yield encode(data=json.dumps(payload, separators=(",", ":")), id=str(n))
        n += 1
        await asyncio.sleep(0)


def baseline_app() -> Any:
    """``/raw``: Starlette's StreamingResponse (the ceiling); ``/sse-starlette``: the same
    bytes through plain sse-starlette, to tell its cost from the reference server's own."""
    from sse_starlette import EventSourceResponse
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response, StreamingResponse
    from starlette.routing import Route

    async def raw(_request: Request) -> Response:
        return StreamingResponse(_counter_blocks(), media_type="text/event-stream")

    async def plain_sse_starlette(_request: Request) -> Response:
        return EventSourceResponse(_counter_blocks())

    return Starlette(routes=[Route("/raw", raw), Route("/sse-starlette", plain_sse_starlette)])


async def hot_stream(url: str, seconds: float) -> float:
    """Events per second one client receives; a block ends at the only "\\n\\n" it holds."""
    events, tail = 0, b""
    timeout = aiohttp.ClientTimeout(total=seconds + 30)
    async with aiohttp.ClientSession(timeout=timeout) as session, session.get(url) as response:
        started = time.monotonic()
        deadline = started + seconds
        while time.monotonic() < deadline:
            chunk = tail + await response.content.readany()
            events += chunk.count(b"\n\n")
            tail = chunk[-1:]
        elapsed = time.monotonic() - started
        response.close()
    return events / elapsed


@dataclass
class Tally:
    measuring: bool = False
    latency_ms: list[float] = field(default_factory=list)
    lateness_ms: list[float] = field(default_factory=list)
    lost: int = 0
    duplicated: int = 0
    first_events: int = 0
    failed: int = 0


async def slow_stream(
    session: aiohttp.ClientSession,
    url: str,
    tally: Tally,
    connect_slots: asyncio.Semaphore,
    stop: asyncio.Event,
) -> None:
    parser = Parser()
    last_seq = -1
    try:
        async with connect_slots:
            response = await session.get(url)
        async with response:
            while not stop.is_set():
                chunk = await response.content.readany()
                if not chunk:
                    break
                now = time.time()
                for event in parser.feed(chunk):
                    payload = json.loads(event.data)
                    seq = payload["seq"]
                    if last_seq < 0:
                        tally.first_events += 1
                    elif seq <= last_seq:
                        tally.duplicated += tally.measuring
                    else:
                        tally.lost += (seq - last_seq - 1) * tally.measuring
                    last_seq = max(last_seq, seq)
                    if tally.measuring:
                        tally.latency_ms.append((now - payload["sent"]) * 1000)
                        tally.lateness_ms.append((now - payload["intended"]) * 1000)
    except (TimeoutError, aiohttp.ClientError, OSError):
        tally.failed += 1


def percentile(values: Sequence[float], q: float) -> float:
    return statistics.quantiles(values, n=1000, method="inclusive")[round(q * 10) - 1]


async def many_streams(url: str, pid: int, count: int, measure_s: float) -> dict[str, float]:
    server = psutil.Process(pid)
    idle_rss = server.memory_info().rss
    tally, stop = Tally(), asyncio.Event()
    slots = asyncio.Semaphore(CONNECT_AT_ONCE)
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=30)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        target = url + "/counter?count=100000&interval_ms=1000"
        tasks = [
            asyncio.create_task(slow_stream(session, target, tally, slots, stop))
            for _ in range(count)
        ]
        ramp_deadline = time.monotonic() + 60
        while tally.first_events + tally.failed < count and time.monotonic() < ramp_deadline:
            await asyncio.sleep(0.1)
        ramp_s = 60 - (ramp_deadline - time.monotonic())
        tally.measuring = True
        await asyncio.sleep(measure_s)
        tally.measuring = False
        busy_rss = server.memory_info().rss
        stop.set()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return {
        "streams": count,
        "connected": tally.first_events,
        "failed": tally.failed,
        "ramp_s": ramp_s,
        "events": len(tally.latency_ms),
        "p50_ms": percentile(tally.latency_ms, 50),
        "p99_ms": percentile(tally.latency_ms, 99),
        "late_p50_ms": percentile(tally.lateness_ms, 50),
        "late_p99_ms": percentile(tally.lateness_ms, 99),
        "lost": tally.lost,
        "duplicated": tally.duplicated,
        "rss_kib_per_stream": (busy_rss - idle_rss) / 1024 / max(1, tally.first_events),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hot-seconds", type=float, default=3.0)
    parser.add_argument("--rounds", type=int, default=3, help="hot-stream rounds; best counts")
    parser.add_argument("--streams", type=int, nargs="+", default=[1000, 5000])
    parser.add_argument("--measure-seconds", type=float, default=10.0)
    args = parser.parse_args(argv)
    limit = raise_fd_limit()
    if max(args.streams) * 2 + 100 > limit:
        parser.error(f"open-file limit {limit} is too low for {max(args.streams)} streams")

    baseline = (sys.executable, __file__, "serve-baseline")
    best = {"raw": 0.0, "sse-starlette": 0.0, "reference": 0.0}
    with (
        serve_subprocess(["--log-level", "warning"], command=baseline) as plain,
        serve_subprocess(SERVER_ARGS) as reference,
    ):
        urls = {
            "raw": plain.url + "/raw",
            "sse-starlette": plain.url + "/sse-starlette",
            "reference": reference.url + "/counter?count=100000000&interval_ms=0",
        }
        for _ in range(args.rounds):  # interleaved, best of: other load on the host only slows
            for name, url in urls.items():
                best[name] = max(best[name], asyncio.run(hot_stream(url, args.hot_seconds)))
    raw_eps, sse_eps, ref_eps = best["raw"], best["sse-starlette"], best["reference"]
    rows = []
    for count in args.streams:
        with serve_subprocess(SERVER_ARGS) as server:
            rows.append(
                asyncio.run(many_streams(server.url, server.popen.pid, count, args.measure_seconds))
            )

    print(f"\nhot stream: one client, best of {args.rounds} rounds of {args.hot_seconds:g} s")
    print(f"  raw Starlette StreamingResponse  {raw_eps:>9,.0f} events/s  (ceiling)")
    print(
        f"  plain sse-starlette              {sse_eps:>9,.0f} events/s  ({sse_eps / raw_eps:.2f})"
    )
    print(
        f"  reference counter stream         {ref_eps:>9,.0f} events/s  ({ref_eps / raw_eps:.2f})"
    )
    print(f"  ratio reference / raw            {ref_eps / raw_eps:>9.2f}")
    print(f"\nconcurrent 1 event/s counter streams, measured {args.measure_seconds:g} s")
    header = ("streams", "connected", "ramp s", "events", "p50 ms", "p99 ms", "late p50",
              "late p99", "lost", "dup", "RSS KiB/str")  # fmt: skip
    print("  " + "  ".join(f"{h:>9}" for h in header))
    for r in rows:
        cells = (r["streams"], r["connected"], f"{r['ramp_s']:.1f}", r["events"],
                 f"{r['p50_ms']:.2f}", f"{r['p99_ms']:.2f}", f"{r['late_p50_ms']:.1f}",
                 f"{r['late_p99_ms']:.1f}",
                 r["lost"], r["duplicated"], f"{r['rss_kib_per_stream']:.1f}")  # fmt: skip
        print("  " + "  ".join(f"{c:>9}" for c in cells))
    failed = sum(int(r["failed"]) for r in rows)
    return 1 if failed else 0


def serve_baseline(argv: Sequence[str]) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--log-level", default="warning")
    args = parser.parse_args(argv)
    serve_forever(
        baseline_app(), host=args.host, port=args.port, graceful_s=1, log_level=args.log_level,
        access_log=False,
    )  # fmt: skip


if __name__ == "__main__":
    if sys.argv[1:2] == ["serve-baseline"]:
        serve_baseline(sys.argv[2:])
    else:
        sys.exit(main())
