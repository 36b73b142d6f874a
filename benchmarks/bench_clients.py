"""Throughput of harness.client.EventSource against peer Python SSE clients, over loopback.

    python benchmarks/bench_clients.py [--events 100000] [--rounds 5]

A server subprocess (its own interpreter, so it never competes for this process's GIL) serves a
pre-built body of ``--events`` events (``id: N``, ``event: tick``, ~60 bytes of JSON data) with
chunked transfer encoding. Every client consumes the whole stream in this process; rounds are
interleaved and the best round counts. Each consumer checks it got every event, in order (first
id 0, last id N-1, exactly N events); a client that loses or duplicates events is reported, not
ranked. "raw aiohttp read" only counts bytes: the ceiling any aiohttp-based client can reach.
"harness parser (no I/O)" feeds the body from memory: the parser's own ceiling.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

HTTP_CHUNK = 16 * 1024  # the server's HTTP chunk size (a flushing server would send smaller)


def build_body(n: int) -> bytes:
    parts = []
    for i in range(n):
        data = json.dumps({"seq": i, "ts": 1700000000.0 + i / 1000, "payload": "x" * 16})
        parts.append(f"id: {i}\nevent: tick\ndata: {data}\n\n")
    return "".join(parts).encode()


def chunked(body: bytes) -> bytes:
    out = bytearray()
    for start in range(0, len(body), HTTP_CHUNK):
        piece = body[start : start + HTTP_CHUNK]
        out += b"%x\r\n%s\r\n" % (len(piece), piece)
    out += b"0\r\n\r\n"
    return bytes(out)


# -- server (runs in a subprocess: `bench_clients.py --serve N`) --------------------------------


async def serve(n: int) -> None:
    wire = chunked(build_body(n))
    head = (
        b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
        b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    )

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(head)
            writer.write(wire)
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=64)
    print(server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


# -- consumers: each returns (events, first id, last id) -------------------------------------------

Result = tuple[int, str | None, str | None]


async def run_harness(url: str, n: int) -> Result:
    from harness.client import EventSource

    count, first, last = 0, None, None
    async with EventSource(url, reconnect=False, timeout=600) as source:
        async for event in source:
            if count == 0:
                first = event.last_event_id
            count += 1
            last = event.last_event_id
    return count, first, last


async def run_httpx_sse_async(url: str, n: int) -> Result:
    import httpx
    from httpx_sse import aconnect_sse

    count, first, last = 0, None, None
    async with (
        httpx.AsyncClient(timeout=600) as client,
        aconnect_sse(client, "GET", url) as source,
    ):
        async for event in source.aiter_sse():
            if count == 0:
                first = event.id
            count += 1
            last = event.id
    return count, first, last


def run_httpx_sse_sync(url: str, n: int) -> Result:
    import httpx
    from httpx_sse import connect_sse

    count, first, last = 0, None, None
    with httpx.Client(timeout=600) as client, connect_sse(client, "GET", url) as source:
        for event in source.iter_sse():
            if count == 0:
                first = event.id
            count += 1
            last = event.id
    return count, first, last


def run_sseclient_requests(url: str, n: int) -> Result:
    import requests
    import sseclient

    count, first, last = 0, None, None
    response = requests.get(url, stream=True, headers={"Accept": "text/event-stream"})
    # The documented usage; sseclient's stub wants an Iterator, a Response is only iterable.
    for event in sseclient.SSEClient(response).events():  # type: ignore[arg-type]
        if count == 0:
            first = event.id
        count += 1
        last = event.id
    response.close()
    return count, first, last


def run_sseclient_urllib3(url: str, n: int) -> Result:
    import sseclient
    import urllib3

    count, first, last = 0, None, None
    http = urllib3.PoolManager()
    response = http.request(
        "GET", url, preload_content=False, headers={"Accept": "text/event-stream"}
    )
    for event in sseclient.SSEClient(response).events():
        if count == 0:
            first = event.id
        count += 1
        last = event.id
    response.release_conn()
    return count, first, last


def run_requests_sse(url: str, n: int) -> Result:
    from requests_sse import EventSource

    # It reconnects forever at the end of a stream, so stop at n (lost events still show: ids).
    count, first, last = 0, None, None
    with EventSource(url, timeout=600) as source:
        for event in source:
            if count == 0:
                first = event.last_event_id
            count += 1
            last = event.last_event_id
            if count == n:
                break
    return count, first, last


async def run_aiohttp_sse_client2(url: str, n: int) -> Result:
    from aiohttp_sse_client2.client import EventSource

    count, first, last = 0, None, None
    async with EventSource(url) as source:
        async for event in source:
            if count == 0:
                first = event.last_event_id
            count += 1
            last = event.last_event_id
            if count == n:
                break
    return count, first, last


async def run_raw_aiohttp(url: str, n: int) -> Result:
    import aiohttp

    size = 0
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        async for chunk in response.content.iter_any():
            size += len(chunk)
    expected = len(build_body_cached(n))
    return (n if size == expected else -size), "0", str(n - 1)


def run_parser_only(url: str, n: int) -> Result:
    from harness.stream import Parser

    body = build_body_cached(n)
    parser = Parser()
    count, first, last = 0, None, None
    for start in range(0, len(body), 64 * 1024):
        for event in parser.feed(body[start : start + 64 * 1024]):
            if count == 0:
                first = event.last_event_id
            count += 1
            last = event.last_event_id
    return count, first, last


_BODY: dict[int, bytes] = {}


def build_body_cached(n: int) -> bytes:
    if n not in _BODY:
        _BODY[n] = build_body(n)
    return _BODY[n]


Consumer = Callable[[str, int], Result | Awaitable[Result]]


@dataclass
class Client:
    name: str
    run: Consumer
    kind: str  # "harness", "peer", "ceiling"


CLIENTS = [
    Client("harness.client.EventSource", run_harness, "harness"),
    Client("httpx-sse (async)", run_httpx_sse_async, "peer"),
    Client("httpx-sse (sync)", run_httpx_sse_sync, "peer"),
    Client("sseclient-py (requests)", run_sseclient_requests, "peer"),
    Client("sseclient-py (urllib3)", run_sseclient_urllib3, "peer"),
    Client("requests-sse", run_requests_sse, "peer"),
    Client("aiohttp-sse-client2", run_aiohttp_sse_client2, "peer"),
    Client("raw aiohttp read (bytes only)", run_raw_aiohttp, "ceiling"),
    Client("harness parser (no I/O)", run_parser_only, "ceiling"),
]


def measure(client: Client, url: str, n: int) -> tuple[float, Result]:
    started = time.perf_counter()
    result = client.run(url, n)
    if asyncio.iscoroutine(result):
        result = asyncio.run(result)
    elapsed = time.perf_counter() - started
    assert isinstance(result, tuple)
    return elapsed, result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--events", type=int, default=100_000)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--only", nargs="*", help="substrings of client names to run")
    ap.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve:
        asyncio.run(serve(args.serve))
        return

    n = args.events
    clients = [c for c in CLIENTS if not args.only or any(s in c.name for s in args.only)]
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(n)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline())
        url = f"http://127.0.0.1:{port}/stream"
        body = build_body_cached(n)
        print(
            f"{n} events, {len(body) / 1e6:.1f} MB body, {len(body) / n:.0f} B/event, "
            f"best of {args.rounds} interleaved rounds, Python {sys.version.split()[0]}"
        )
        best: dict[str, float] = {}
        broken: dict[str, str] = {}
        for round_ in range(args.rounds + 1):  # round 0 warms up (imports, caches): not counted
            for client in clients:
                if client.name in broken:
                    continue
                try:
                    elapsed, (count, first, last) = measure(client, url, n)
                except Exception as exc:  # a peer that crashes is reported, not ranked
                    broken[client.name] = f"error: {exc!r}"[:80]
                    continue
                if (count, first, last) != (n, "0", str(n - 1)):
                    broken[client.name] = f"got {count} events, ids {first}..{last}"
                    continue
                if round_ == 0:
                    continue
                best[client.name] = min(elapsed, best.get(client.name, float("inf")))
    finally:
        server.terminate()
        server.wait()

    harness = best.get("harness.client.EventSource")
    peers = [best[c.name] for c in clients if c.kind == "peer" and c.name in best]
    fastest_peer = min(peers) if peers else None
    print()
    print(f"{'client':32} {'events/s':>11} {'best s':>8} {'vs harness':>11} {'vs best peer':>13}")
    for client in sorted(clients, key=lambda c: best.get(c.name, float("inf"))):
        if client.name in broken:
            print(f"{client.name:32} {'NOT RANKED':>11}  {broken[client.name]}")
            continue
        t = best[client.name]
        vs_h = f"{harness / t:.2f}x" if harness else "-"
        vs_p = f"{fastest_peer / t:.2f}x" if fastest_peer else "-"
        tag = "" if client.kind != "ceiling" else "  (ceiling)"
        print(f"{client.name:32} {n / t:>11,.0f} {t:>8.3f} {vs_h:>11} {vs_p:>13}{tag}")
    if harness and fastest_peer:
        print(f"\nharness is {fastest_peer / harness:.2f}x the fastest peer (target >= 1.5x)")


if __name__ == "__main__":
    main()
