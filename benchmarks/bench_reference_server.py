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
import contextlib
import json
import resource
import shlex
import statistics
import sys
import time
from collections.abc import AsyncIterator, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import aiohttp
import psutil
from record import Figure, record  # benchmarks/ is the script's folder, first on sys.path

from harness.stream import Parser, encode
from reference_server.launch import serve_forever, serve_subprocess

SERVER_ARGS = ["--no-access-log", "--log-level", "warning", "--max-events", "100000000"]
T = TypeVar("T")
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


class _Chunked:
    """Decoder of HTTP/1.1 chunked transfer coding: the body bytes of what it is fed."""

    def __init__(self) -> None:
        self._buffer = b""
        self._left = 0  # data bytes of the current chunk still to come
        self._skip = 0  # bytes of the CRLF after a chunk's data still to come

    def feed(self, data: bytes) -> bytes:
        buffer, body = self._buffer + data, bytearray()
        while True:
            if self._left:
                body += buffer[: self._left]
                taken = min(self._left, len(buffer))
                self._left, buffer = self._left - taken, buffer[taken:]
                if self._left:
                    break
                self._skip = 2
            if self._skip:
                taken = min(self._skip, len(buffer))
                self._skip, buffer = self._skip - taken, buffer[taken:]
                if self._skip:
                    break
            end = buffer.find(b"\r\n")
            if end < 0:
                break
            self._left = int(buffer[:end].split(b";")[0], 16)
            buffer = buffer[end + 2 :]
            if not self._left:  # the last chunk: only its (trailer-free) CRLF follows
                self._skip = 2
        self._buffer = buffer
        return bytes(body)


class _CounterReader(asyncio.Protocol):
    """One counter stream read straight off its socket: no HTTP client library in the way.

    With aiohttp at 5,000 streams the client spent more CPU per event than the server, and its
    lag showed up as server lateness; a protocol callback per read costs a fraction of that.
    """

    def __init__(self, path: str, tally: Tally, headers_seen: asyncio.Future[None]) -> None:
        self.path, self.tally, self.headers_seen = path, tally, headers_seen
        self.head = b""
        self.chunked: _Chunked | None = None
        self.parser = Parser()
        self.last_seq = -1
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is no subclass
        request = (
            f"GET {self.path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n"
        )
        transport.write(request.encode())

    def data_received(self, data: bytes) -> None:
        now = time.time()
        if self.chunked is None:
            self.head += data
            end = self.head.find(b"\r\n\r\n")
            if end < 0:
                return
            if not self.head.startswith(b"HTTP/1.1 200"):
                self._fail()
                return
            self.chunked, data = _Chunked(), self.head[end + 4 :]
            if not self.headers_seen.done():
                self.headers_seen.set_result(None)
        tally = self.tally
        for event in self.parser.feed(self.chunked.feed(data)):
            payload = json.loads(event.data)
            seq = payload["seq"]
            if self.last_seq < 0:
                tally.first_events += 1
            elif seq <= self.last_seq:
                tally.duplicated += tally.measuring
            else:
                tally.lost += (seq - self.last_seq - 1) * tally.measuring
            self.last_seq = max(self.last_seq, seq)
            if tally.measuring:
                tally.latency_ms.append((now - payload["sent"]) * 1000)
                tally.lateness_ms.append((now - payload["intended"]) * 1000)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.headers_seen.done():
            self.headers_seen.set_exception(ConnectionError("closed before the response"))

    def _fail(self) -> None:
        self.tally.failed += 1
        if self.transport is not None:
            self.transport.close()


async def open_counter(
    url: str, path: str, tally: Tally, connect_slots: asyncio.Semaphore
) -> asyncio.Transport | None:
    """Open one stream (at most ``CONNECT_AT_ONCE`` at a time until their headers are in)."""
    host, port = url.removeprefix("http://").rsplit(":", 1)
    loop = asyncio.get_running_loop()
    async with connect_slots:
        seen: asyncio.Future[None] = loop.create_future()
        try:
            transport, _ = await asyncio.wait_for(
                loop.create_connection(lambda: _CounterReader(path, tally, seen), host, int(port)),
                30,
            )
            await asyncio.wait_for(seen, 30)
        except (TimeoutError, OSError):
            tally.failed += 1
            return None
    return transport


def run_fast(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run under uvloop when it is installed: the client must not be what falls behind."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coroutine)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(coroutine)


def percentile(values: Sequence[float], q: float) -> float:
    return statistics.quantiles(values, n=1000, method="inclusive")[round(q * 10) - 1]


def _cpu_s(process: psutil.Process, *, children: bool = True) -> float:
    """User + system CPU seconds of ``process`` and its children (``--workers`` processes)."""
    total = 0.0
    for each in (process, *(process.children(recursive=True) if children else ())):
        with contextlib.suppress(psutil.NoSuchProcess):
            times = each.cpu_times()
            total += times.user + times.system
    return total


def _rss(process: psutil.Process) -> int:
    return sum(p.memory_info().rss for p in (process, *process.children(recursive=True)))


async def many_streams(url: str, pid: int, count: int, measure_s: float) -> dict[str, float]:
    server = psutil.Process(pid)
    client = psutil.Process()
    idle_rss = _rss(server)
    tally = Tally()
    slots = asyncio.Semaphore(CONNECT_AT_ONCE)
    path = "/counter?count=100000&interval_ms=1000"
    opening = [asyncio.create_task(open_counter(url, path, tally, slots)) for _ in range(count)]
    try:
        ramp_deadline = time.monotonic() + 60
        while tally.first_events + tally.failed < count and time.monotonic() < ramp_deadline:
            await asyncio.sleep(0.1)
        ramp_s = 60 - (ramp_deadline - time.monotonic())
        server_cpu, client_cpu = _cpu_s(server), _cpu_s(client, children=False)
        tally.measuring = True
        await asyncio.sleep(measure_s)
        tally.measuring = False
        server_cpu, client_cpu = (
            _cpu_s(server) - server_cpu,
            _cpu_s(client, children=False) - client_cpu,
        )
        busy_rss = _rss(server)
    finally:
        for task in opening:
            task.cancel()
        for transport in await asyncio.gather(*opening, return_exceptions=True):
            if transport is not None and not isinstance(transport, BaseException):
                transport.close()
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
        "server_us_per_event": server_cpu * 1e6 / max(1, len(tally.latency_ms)),
        "client_us_per_event": client_cpu * 1e6 / max(1, len(tally.latency_ms)),
    }


def _hot_streams(rounds: int, seconds: float) -> dict[str, float]:
    """Best events/s of each hot server, rounds interleaved (other load only slows a round)."""
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
        for _ in range(rounds):
            for name, url in urls.items():
                best[name] = max(best[name], asyncio.run(hot_stream(url, seconds)))
    print(f"\nhot stream: one client, best of {rounds} rounds of {seconds:g} s")
    for name, label in (("raw", "raw Starlette StreamingResponse"),
                        ("sse-starlette", "plain sse-starlette"),
                        ("reference", "reference counter stream")):  # fmt: skip
        ratio = best[name] / best["raw"]
        print(f"  {label:<32} {best[name]:>9,.0f} events/s  ({ratio:.2f} of raw)")
    return best


def _variants(before_tree: str | None, server_args: list[str]) -> dict[str, Sequence[str]]:
    """Server commands to compare: this tree, and (``--before-tree``) an exported older one.

    The older tree runs from its own folder (``python -m`` puts the working directory first on
    ``sys.path``) with ``PYTHONPATH`` set to it alone, so it also runs without whatever extra
    packages (uvloop, httptools) this process was given through ``PYTHONPATH``.
    """
    this = (sys.executable, "-m", "reference_server", *SERVER_ARGS, *server_args)
    if before_tree is None:
        return {"now": this}
    old = (
        "env",
        "-C",
        before_tree,
        f"PYTHONPATH={before_tree}",
        sys.executable,
        "-m",
        "reference_server",
    )
    return {"before": (*old, *SERVER_ARGS), "now": this}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hot-seconds", type=float, default=3.0)
    parser.add_argument("--rounds", type=int, default=3, help="hot-stream rounds; best counts")
    parser.add_argument("--skip-hot", action="store_true", help="only the concurrent streams")
    parser.add_argument("--streams", type=int, nargs="+", default=[1000, 5000])
    parser.add_argument("--measure-seconds", type=float, default=10.0)
    parser.add_argument(
        "--before-tree",
        metavar="DIR",
        help="also measure the server of an older tree (git archive REV | tar -x -C DIR)",
    )
    parser.add_argument(
        "--server-args", default="", help="extra flags for this tree's server, e.g. '--workers 2'"
    )
    args = parser.parse_args(argv)
    limit = raise_fd_limit()
    if max(args.streams) * 2 + 100 > limit:
        parser.error(f"open-file limit {limit} is too low for {max(args.streams)} streams")

    figures: list[Figure] = []
    if not args.skip_hot:
        best = _hot_streams(args.rounds, args.hot_seconds)
        figures.append(Figure("hot reference / raw", best["reference"] / best["raw"], "ratio"))
    variants = _variants(args.before_tree, shlex.split(args.server_args))
    rows: list[tuple[str, dict[str, float]]] = []
    for count in args.streams:
        for label, command in variants.items():  # interleaved per stream count
            with serve_subprocess(command=command) as server:
                measured = many_streams(server.url, server.popen.pid, count, args.measure_seconds)
                rows.append((label, run_fast(measured)))

    print(f"\nconcurrent 1 event/s counter streams, measured {args.measure_seconds:g} s")
    header = ("server", "streams", "connected", "events", "srv us/ev", "cli us/ev", "p50 ms",
              "p99 ms", "late p50", "late p99", "lost", "dup", "RSS KiB/str")  # fmt: skip
    print("  " + "  ".join(f"{h:>9}" for h in header))
    for label, r in rows:
        cells = (label, r["streams"], r["connected"], r["events"],
                 f"{r['server_us_per_event']:.1f}", f"{r['client_us_per_event']:.1f}",
                 f"{r['p50_ms']:.2f}", f"{r['p99_ms']:.2f}", f"{r['late_p50_ms']:.1f}",
                 f"{r['late_p99_ms']:.1f}",
                 r["lost"], r["duplicated"], f"{r['rss_kib_per_stream']:.1f}")  # fmt: skip
        print("  " + "  ".join(f"{c:>9}" for c in cells))
        prefix = f"{label} {r['streams']:.0f} streams"
        figures += [
            Figure(f"{prefix} server CPU", r["server_us_per_event"], "us/event", "lower"),
            Figure(f"{prefix} lateness p99", r["late_p99_ms"], "ms", "lower"),
            Figure(f"{prefix} latency p99", r["p99_ms"], "ms", "lower"),
            Figure(f"{prefix} lost+dup", r["lost"] + r["duplicated"], "events", "lower"),
            Figure(f"{prefix} RSS", r["rss_kib_per_stream"], "KiB/stream", "lower"),
        ]
    record("reference_server", figures, title="reference server: CPU per event, lateness")
    failed = sum(int(r["failed"]) for _, r in rows)
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
