"""Throughput of harness.client.EventSource against peer Python SSE clients, over a workload suite.

    python benchmarks/bench_clients.py [--scale 1.0] [--rounds 9] [--only NAME ...]

One server subprocess (its own interpreter, so it never competes for this process's GIL) serves
pre-built bodies with chunked transfer encoding, one path per workload:

* ``a``: one-line ASCII events (``data:`` only);
* ``b``: ``id``, ``event``, two ``data`` lines, non-ASCII text;
* ``c``: CRLF line ends (``id`` and ``data``), as sse-starlette sends by default;
* ``d``: one event per HTTP chunk, each written on its own, as a flushing server sends;
* ``e``: 100 KB data lines.

Each measurement runs in a fresh interpreter that imports only the client it measures, reads the
stream once to warm up, collects garbage and then times the stream once more, as pyperf runs each
benchmark in its own worker process. In one shared interpreter, every peer's modules and the
events the previous client kept stayed on the heap that each later client's garbage collections
walk: a tax that depended on the order of the clients, not on their code. Rounds interleave
clients and workloads and the best round counts. This machine is shared, and its CPU runs up to
twice as slow for a few hundred milliseconds at a time: only ratios from one run mean anything,
hence nine rounds by default (the whole suite takes some 12 minutes on 2 cores).

While timed, a client only appends the events it yields to a list; afterwards their (type, data,
id) are hashed and compared with the hash of the expected events, so a client that drops,
duplicates or mangles an event is NOT RANKED, with the reason. "raw aiohttp read" counts bytes
only: what the transport gives any aiohttp-based client, the reference for ``d``. "harness parser
(no I/O)" feeds the body from memory in 64 KiB pieces: the parser's own ceiling.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import hashlib
import json
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from record import Figure, record  # benchmarks/ is the script's folder, first on sys.path

HTTP_CHUNK = 64 * 1024
#: A measuring interpreter (warm-up and timed stream) that takes longer is not ranked.
CHILD_TIMEOUT_S = 600
HARNESS = "harness.client.EventSource"
HTTPX = ("httpx-sse (async)", "httpx-sse (sync)")
RAW = "raw aiohttp read (bytes only)"
TEXT = "héllo wörld, grüße from Zürich: 世界 ✓ — naïve café"


@dataclass(frozen=True)
class Workload:
    key: str
    title: str
    events: int  # at --scale 1
    block: Callable[[int], str]  # the i-th event's text
    per_event_chunks: bool = False

    def body(self, n: int) -> bytes:
        return "".join(self.block(i) for i in range(n)).encode()

    def expected(self, n: int) -> list[tuple[str, str, str]]:
        """(type, data, id) of each event, decoded by the spec oracle of the test suite's kind."""
        events = []
        for i in range(n):
            fields = [line.partition(": ") for line in self.block(i).splitlines()]
            kind = next((v for k, _, v in fields if k == "event"), "message")
            data = "\n".join(v for k, _, v in fields if k == "data")
            id_ = next((v for k, _, v in fields if k == "id"), "")
            events.append((kind, data, id_))
        return events


def _json(i: int) -> str:
    return f'{{"seq":{i},"ts":{1700000000 + i / 1000:.3f},"payload":"xxxxxxxxxxxxxxxx"}}'


WORKLOADS = [
    Workload("a", "one-line ASCII", 100_000, lambda i: f"data: {_json(i)}\n\n"),
    Workload(
        "b",
        "id+event+2 data, non-ASCII",
        100_000,
        lambda i: f"id: {i}\nevent: tick\ndata: {i} {TEXT}\ndata: {TEXT[::-1]}\n\n",
    ),
    Workload("c", "CRLF line ends", 100_000, lambda i: f"id: {i}\r\ndata: {_json(i)}\r\n\r\n"),
    Workload(
        "d",
        "one event per HTTP chunk",
        50_000,
        lambda i: f"id: {i}\ndata: {_json(i)}\n\n",
        per_event_chunks=True,
    ),
    Workload("e", "100 KB data line", 300, lambda i: f"id: {i}\ndata: {i:06d}{'y' * 99_994}\n\n"),
]


def counts(scale: float) -> dict[str, int]:
    return {w.key: max(1, int(w.events * scale)) for w in WORKLOADS}


def digest(events: Iterable[tuple[str, str, str]]) -> str:
    h = hashlib.blake2b(digest_size=16)
    for kind, data, id_ in events:
        h.update(f"{len(kind)}:{kind}{len(data)}:{data}{len(id_)}:{id_}".encode())
    return h.hexdigest()


def wire(workload: Workload, n: int) -> list[bytes]:
    """The chunked-encoded response body, as the pieces the server writes one by one."""
    if workload.per_event_chunks:
        pieces = [workload.block(i).encode() for i in range(n)]
    else:
        body = workload.body(n)
        pieces = [body[i : i + HTTP_CHUNK] for i in range(0, len(body), HTTP_CHUNK)]
    return [b"%x\r\n%s\r\n" % (len(p), p) for p in pieces] + [b"0\r\n\r\n"]


# -- server (runs in a subprocess: `bench_clients.py --serve SCALE`) -----------------------------


async def serve(scale: float) -> None:
    n = counts(scale)
    wires = {f"/{w.key}": wire(w, n[w.key]) for w in WORKLOADS}
    head = (
        b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
        b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    )

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await reader.readuntil(b"\r\n\r\n")
            path = request.split(b" ", 2)[1].decode()
            writer.write(head)
            for piece in wires[path]:  # one write each: a flushing server's send pattern
                writer.write(piece)
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=64)
    print(server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


# -- consumers: each returns the event objects it yielded (raw read: the byte count) -------------
# While timed, a consumer only appends to a list; the events are compared after the clock stops.

Events = list[Any]


async def run_harness(url: str, n: int) -> Events:
    from harness.client import EventSource

    out: list[Any] = []
    add = out.append
    async with EventSource(url, reconnect=False, timeout=600) as source:
        async for event in source:
            add(event)
    return out


async def run_httpx_sse_async(url: str, n: int) -> Events:
    import httpx
    from httpx_sse import aconnect_sse

    out: list[Any] = []
    add = out.append
    async with (
        httpx.AsyncClient(timeout=600) as client,
        aconnect_sse(client, "GET", url) as source,
    ):
        async for event in source.aiter_sse():
            add(event)
    return out


def run_httpx_sse_sync(url: str, n: int) -> Events:
    import httpx
    from httpx_sse import connect_sse

    out: list[Any] = []
    add = out.append
    with httpx.Client(timeout=600) as client, connect_sse(client, "GET", url) as source:
        for event in source.iter_sse():
            add(event)
    return out


def run_sseclient_requests(url: str, n: int) -> Events:
    import requests
    import sseclient

    out: list[Any] = []
    add = out.append
    response = requests.get(url, stream=True, headers={"Accept": "text/event-stream"})
    # The documented usage; sseclient's stub wants an Iterator, a Response is only iterable.
    for event in sseclient.SSEClient(response).events():  # type: ignore[arg-type]
        add(event)
    response.close()
    return out


def run_sseclient_urllib3(url: str, n: int) -> Events:
    import sseclient
    import urllib3

    out: list[Any] = []
    add = out.append
    http = urllib3.PoolManager()
    response = http.request(
        "GET", url, preload_content=False, headers={"Accept": "text/event-stream"}
    )
    for event in sseclient.SSEClient(response).events():
        add(event)
    response.release_conn()
    return out


def run_requests_sse(url: str, n: int) -> Events:
    from requests_sse import EventSource

    # It reconnects forever at the end of a stream, so stop at n (a wrong event still shows).
    out: list[Any] = []
    add = out.append
    with EventSource(url, timeout=600) as source:
        for event in source:
            add(event)
            if len(out) == n:
                break
    return out


async def run_aiohttp_sse_client2(url: str, n: int) -> Events:
    from aiohttp_sse_client2.client import EventSource

    out: list[Any] = []
    add = out.append
    async with EventSource(url) as source:
        async for event in source:
            add(event)
            if len(out) == n:
                break
    return out


async def run_raw_aiohttp(url: str, n: int) -> Events | int:
    import aiohttp

    size = 0
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        async for chunk in response.content.iter_any():
            size += len(chunk)
    return size


def run_parser_only(url: str, n: int) -> Events:
    from harness.stream import Parser

    body = _bodies[url]
    parser = Parser()
    out: list[Any] = []
    for start in range(0, len(body), HTTP_CHUNK):
        out += parser.feed(body[start : start + HTTP_CHUNK])
    return out


_bodies: dict[str, bytes] = {}  # url -> body, for the no-I/O ceiling

Consumer = Callable[[str, int], "Events | int | Awaitable[Events | int]"]


@dataclass(frozen=True)
class Client:
    name: str
    run: Consumer
    #: The attributes that hold an event's type and its (last) event id, in this library.
    type_attr: str = "type"
    id_attr: str = "last_event_id"

    def normalise(self, events: Events) -> list[tuple[str, str, str]]:
        """Peers spell an absent id None and the default type None or "": compare the values."""
        kind, id_ = self.type_attr, self.id_attr
        return [(getattr(e, kind) or "message", e.data, getattr(e, id_) or "") for e in events]


CLIENTS = [
    Client(HARNESS, run_harness),
    Client(HTTPX[0], run_httpx_sse_async, "event", "id"),
    Client(HTTPX[1], run_httpx_sse_sync, "event", "id"),
    Client("sseclient-py (requests)", run_sseclient_requests, "event", "id"),
    Client("sseclient-py (urllib3)", run_sseclient_urllib3, "event", "id"),
    Client("requests-sse", run_requests_sse),
    Client("aiohttp-sse-client2", run_aiohttp_sse_client2),
    Client(RAW, run_raw_aiohttp),
    Client("harness parser (no I/O)", run_parser_only),
]


def measure(client: Client, url: str, n: int) -> tuple[float, Events | int]:
    started = time.perf_counter()
    result = client.run(url, n)
    if asyncio.iscoroutine(result):
        result = asyncio.run(result)
    elapsed = time.perf_counter() - started
    return elapsed, result  # type: ignore[return-value]


def verdict(client: Client, result: Events | int, body: bytes, expected: str) -> str | None:
    """Why a client's result is wrong, or None when it is exactly the expected stream."""
    if isinstance(result, int):
        return None if result == len(body) else f"read {result} of {len(body)} bytes"
    if digest(client.normalise(result)) == expected:
        return None
    return f"{len(result)} events, (type, data, id) hash differs"


def measure_alone(name: str, key: str, base: str, scale: float) -> dict[str, Any]:
    """One timed stream in this interpreter (`--measure`): its seconds, or why it is not ranked."""
    client = next(c for c in CLIENTS if c.name == name)
    workload = next(w for w in WORKLOADS if w.key == key)
    n = counts(scale)[key]
    url = f"{base}/{key}"
    _bodies[url] = body = workload.body(n)
    try:
        measure(client, url, n)  # warm-up: imports, caches, the heap grown to the stream's size
        gc.collect()
        elapsed, result = measure(client, url, n)
    except Exception as exc:  # a peer that crashes is reported, not ranked
        return {"wrong": f"error: {exc!r}"[:90]}
    wrong = verdict(client, result, body, digest(workload.expected(n)))
    return {"wrong": wrong} if wrong else {"elapsed": elapsed}


def measure_in_child(name: str, key: str, base: str, scale: float) -> dict[str, Any]:
    """:func:`measure_alone` in a fresh interpreter; a child that crashes or hangs is not ranked."""
    command = [sys.executable, __file__, "--scale", str(scale), "--measure", name, key, base]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=CHILD_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return {"wrong": f"no result within {CHILD_TIMEOUT_S} s"}
    if done.returncode:
        last = (done.stderr.strip().splitlines() or [""])[-1]
        return {"wrong": f"exit {done.returncode}: {last}"[:90]}
    outcome: dict[str, Any] = json.loads(done.stdout)
    return outcome


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("--scale", type=float, default=1.0, help="multiplies every workload's size")
    ap.add_argument("--rounds", type=int, default=9)
    ap.add_argument("--only", nargs="*", help="substrings of client names to run")
    ap.add_argument("--workloads", default="abcde", help="keys of the workloads to run")
    ap.add_argument("--serve", type=float, help=argparse.SUPPRESS)
    ap.add_argument("--measure", nargs=3, metavar=("CLIENT", "KEY", "BASE"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve:
        asyncio.run(serve(args.serve))
        return
    if args.measure:
        name, key, base = args.measure
        print(json.dumps(measure_alone(name, key, base, args.scale)))
        return

    n = counts(args.scale)
    workloads = [w for w in WORKLOADS if w.key in args.workloads]
    clients = [c for c in CLIENTS if not args.only or any(s in c.name for s in args.only)]
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(args.scale)], stdout=subprocess.PIPE, text=True
    )
    best: dict[tuple[str, str], float] = {}
    broken: dict[tuple[str, str], str] = {}
    try:
        assert server.stdout is not None
        base = f"http://127.0.0.1:{int(server.stdout.readline())}"
        for _ in range(args.rounds):
            for w in workloads:
                for client in clients:
                    key = (w.key, client.name)
                    if key in broken:
                        continue
                    outcome = measure_in_child(client.name, w.key, base, args.scale)
                    if "elapsed" in outcome:
                        best[key] = min(outcome["elapsed"], best.get(key, float("inf")))
                    else:
                        broken[key] = outcome["wrong"]
    finally:
        server.terminate()
        server.wait()
    report(workloads, clients, n, best, broken, args)


def report(
    workloads: list[Workload],
    clients: list[Client],
    n: dict[str, int],
    best: dict[tuple[str, str], float],
    broken: dict[tuple[str, str], str],
    args: argparse.Namespace,
) -> None:
    """The workload table (events/s; NOT RANKED with the reason), then the gated figures."""
    print(
        f"best of {args.rounds} interleaved rounds, each measurement in a fresh interpreter,"
        f" Python {sys.version.split()[0]}, events/s; ratios in the same run; sizes: "
        + ", ".join(f"{w.key}={n[w.key]} x {len(w.block(1).encode())} B" for w in workloads)
    )
    print(f"\n{'client':31}" + "".join(f"{w.key + ' ' + w.title[:18]:>23}" for w in workloads))
    for client in clients:
        cells = []
        for w in workloads:
            key = (w.key, client.name)
            cells.append("NOT RANKED" if key in broken else f"{n[w.key] / best[key]:,.0f}")
        print(f"{client.name:31}" + "".join(f"{c:>23}" for c in cells))
    for (w_key, name), why in sorted(broken.items()):
        print(f"  NOT RANKED {w_key} {name}: {why}")

    figures: list[Figure] = []
    for w in workloads:
        harness = best.get((w.key, HARNESS))
        httpx = min((best[(w.key, h)] for h in HTTPX if (w.key, h) in best), default=None)
        if harness is None:
            continue
        figures.append(Figure(f"{w.key} harness", n[w.key] / harness, "events/s"))
        if httpx is not None:
            figures.append(Figure(f"{w.key} harness / httpx-sse", httpx / harness, "ratio"))
        if w.per_event_chunks and (w.key, RAW) in best:
            figures.append(
                Figure(f"{w.key} harness / raw read", best[(w.key, RAW)] / harness, "ratio")
            )
    if figures:
        record(
            "clients",
            figures,
            title="harness.client.EventSource vs the faster httpx-sse, per workload",
        )


if __name__ == "__main__":
    main()
