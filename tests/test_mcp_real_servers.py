"""The MCP profile against real MCP servers on loopback, each started as its docs show.

Five servers, each a process of its own (``tests/mcp_servers/``), started once for the module:

- ``python-sdk``: the official Python SDK (``mcp`` 2.x), ``MCPServer.streamable_http_app()``
  under uvicorn, without an event store;
- ``python-sdk-event-store``: the same with the SDK example's in-memory event store;
- ``fastmcp``: the standalone ``fastmcp`` package, ``mcp.http_app()`` with its own event store;
- ``ts-sdk-example``: the official TypeScript SDK's own example server,
  ``dist/esm/examples/server/simpleStreamableHttp.js``, unmodified (a preload binds it to
  127.0.0.1), installed with ``npm ci`` from ``tests/mcp_servers/ts/package-lock.json``;
- ``ts-sdk-conformance``: a TypeScript SDK server built like that example, with the
  conformance suite's two tools, which the example lacks.

Each is graded once by ``run_check`` (``server.mcp`` cases; every case of the profile on
``python-sdk-event-store``), all at once in threads, and every case's outcome is asserted.
Each outcome other than OK, UNIMPLEMENTED and INFORMATIONAL is a finding about the server,
and a ``test_raw_*`` test shows it on the wire, without the harness (aiohttp, the bytes the
server sent). The servers' logs go to pytest's temporary folder.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from harness.clients.errors import Unavailable
from harness.clients.node import install_locked
from harness.server.cases import load_catalog
from harness.server.check import CheckOptions, run_check
from harness.server.target import CROSS_ORIGIN, Target
from harness.servers.launch import RunningApp, start

SERVERS = Path(__file__).with_name("mcp_servers")
TS = SERVERS / "ts"
#: The TypeScript SDK's example server, as the package ships it.
TS_EXAMPLE = (
    "node_modules/@modelcontextprotocol/sdk/dist/esm/examples/server/simpleStreamableHttp.js"
)
#: Longest a whole grading of one server may take (the all-cases run reads a keep-alive
#: stream for about 32 s).
GRADE_TIMEOUT_S = 120.0
#: Longest one raw read may take.
READ_TIMEOUT_S = 5.0
#: The revision every server here negotiates.
VERSION = "2025-11-25"
#: Request ids of the raw tests: far above the harness's (which count from 1), so a raw
#: exchange never shares a stream id with a harness run in a store keyed by request id.
RAW_ID = 900_000

PYTHON_SDK = "python-sdk"
PYTHON_SDK_STORE = "python-sdk-event-store"
FASTMCP = "fastmcp"
TS_SDK_EXAMPLE = "ts-sdk-example"
TS_SDK_CONFORMANCE = "ts-sdk-conformance"
NAMES = [PYTHON_SDK, PYTHON_SDK_STORE, FASTMCP, TS_SDK_EXAMPLE, TS_SDK_CONFORMANCE]
#: The one server graded with every case of the profile, not only server.mcp.
ALL_CASES = PYTHON_SDK_STORE

OK, NS, INFO, FAILED, UNIMPL = "OK", "NON-STRICT", "INFORMATIONAL", "FAILED", "UNIMPLEMENTED"


def _outcomes(**given: str | set[str]) -> dict[str, set[str]]:
    """server.mcp.1..20 as OK, but for the cases given (``m4=NS``), 18..20 UNIMPLEMENTED (no
    legacy transport; every server negotiates 2025-11-25, not the stateless 2026-07-28)."""
    found: dict[str, set[str]] = {f"server.mcp.{n}": {OK} for n in range(1, 21)}
    for n in (18, 19, 20):
        found[f"server.mcp.{n}"] = {UNIMPL}
    for key, outcome in given.items():
        found[f"server.mcp.{key[1:]}"] = {outcome} if isinstance(outcome, str) else outcome
    return found


EXPECTED: dict[str, dict[str, set[str]]] = {
    # No event store: no ids, so nothing to prime (M-04 is an observation there:
    # test_raw_python_sdk_without_event_store_*) or resume (6, 9-11); close_sse_stream() is a
    # no-op (12: the tool answers on its stream).
    PYTHON_SDK: _outcomes(m4=INFO, m6=UNIMPL, m9=UNIMPL, m10=UNIMPL, m11=UNIMPL, m12=INFO),
    # The example's store is one for every session and the SDK does not scope it: a resume in
    # another session replays this one, and a resume of one's own request N also brings the
    # other session's request N (test_raw_python_sdk_event_store_*).
    PYTHON_SDK_STORE: _outcomes(m11=FAILED),
    # FastMCP scopes its store by session; no Origin check by default (test_raw_origin).
    FASTMCP: _outcomes(m17=FAILED),
    # No progress tool (so nothing to drop and resume: 6-11) and no reconnection tool (12);
    # Host is checked, Origin is not (test_raw_origin).
    TS_SDK_EXAMPLE: _outcomes(
        m6=UNIMPL, m7=UNIMPL, m8=UNIMPL, m9=UNIMPL, m10=UNIMPL, m11=UNIMPL, m12=UNIMPL, m17=FAILED
    ),
    # The example's InMemoryEventStore orders a replay by id string, and ids made in the same
    # millisecond sort by their random suffix: the response then comes back before the last
    # progress in about a third of the runs (test_raw_ts_sdk_store_replays_out_of_order).
    # The same store replays the SDK's priming placeholder as a message event with data {}
    # when the two shared a millisecond and the placeholder's id sorts later: no JSON-RPC
    # message on the resumed stream (test_raw_ts_sdk_store_replays_the_priming_placeholder).
    TS_SDK_CONFORMANCE: _outcomes(m5={OK, FAILED}, m9={OK, NS}, m17=FAILED),
}

#: What every case of the profile outside server.mcp gets on the Python SDK: sse-starlette
#: sends Connection: keep-alive itself (test_raw_python_sdk_sends_connection_keep_alive).
OTHER_CASES: dict[str, str] = {
    "server.headers.6": NS,
    "server.headers.7": UNIMPL,  # HTTP/2 only; uvicorn speaks HTTP/1.1
    "server.framing.8": INFO,
    "server.framing.9": INFO,
    "server.timing.2": INFO,
    "server.keepalive.1": NS,  # graded with a 1 s bound (see ``grades``)
}


# -- starting the servers --------------------------------------------------------------------------


async def _install_ts() -> Path:
    """The TypeScript SDK from the shipped lock (``npm ci``: exact versions, integrity hashes),
    installed once per lock into the cache, as the server matrix installs its Node apps."""
    return await install_locked(TS, "mcp-ts-sdk")


def _argv(name: str, ts_root: Path, node: str) -> list[str]:
    python = [sys.executable]
    return {
        PYTHON_SDK: [*python, str(SERVERS / "python_sdk.py")],
        PYTHON_SDK_STORE: [*python, str(SERVERS / "python_sdk.py"), "--event-store"],
        FASTMCP: [*python, str(SERVERS / "fastmcp_app.py")],
        # MCP_PORT=0: the system picks the port, the preload prints it.
        TS_SDK_EXAMPLE: [
            "env", "MCP_PORT=0", node, "--require", str(TS / "loopback.cjs"),
            str(ts_root / TS_EXAMPLE),
        ],
        TS_SDK_CONFORMANCE: [node, str(ts_root / "conformance_server.mjs")],
    }[name]  # fmt: skip


@dataclass
class Servers:
    """The running servers by name, and why any of them is not running."""

    running: dict[str, RunningApp]
    broken: dict[str, str]

    def url(self, name: str) -> str:
        if name in self.broken:
            pytest.fail(f"{name} did not start: {self.broken[name]}")
        return f"{self.running[name].base_url}/mcp"


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    node = shutil.which("node")
    if node is None or shutil.which("npm") is None:
        pytest.fail(
            "node and npm are needed for the TypeScript SDK's servers (Debian: apt-get install"
            " nodejs npm; .ci/run installs them)"
        )
    try:
        ts_root = asyncio.run(_install_ts())
    except Unavailable as exc:
        pytest.fail(f"npm ci of tests/mcp_servers/ts failed: {exc}")
    logs = tmp_path_factory.mktemp("mcp-servers")
    found = Servers({}, {})

    def launch(name: str) -> None:
        try:
            found.running[name] = start(_argv(name, ts_root, node), logs / f"{name}.log")
        except Unavailable as exc:
            found.broken[name] = str(exc)

    with ThreadPoolExecutor(len(NAMES)) as pool:
        list(pool.map(launch, NAMES))
    try:
        yield found
    finally:
        for app in found.running.values():
            app.stop()


@pytest.fixture(scope="module")
def grades(servers: Servers) -> dict[str, dict[str, Any]]:
    """Each server's conformance report, all graded at once: ``server.mcp`` on each, every case
    of the profile on :data:`ALL_CASES` (one run per server: two runs at once against the SDK
    example's store, which keys streams by request id, would resume into each other)."""
    load_catalog()  # once, before the threads

    def grade(name: str) -> dict[str, Any]:
        target = Target(servers.url(name), profile="mcp")
        cases = None if name == ALL_CASES else "server.mcp"
        # A 1 s keep-alive bound: the keep-alive case grades the SDK's GET stream in a second
        # instead of reading it for half a minute (sse-starlette pings every 15 s).
        options = CheckOptions(target=target, cases=cases, write=False, keepalive_bound_s=1.0)
        return run_check(options).report

    running = [name for name in NAMES if name in servers.running]
    with ThreadPoolExecutor(len(running)) as pool:
        futures = {name: pool.submit(grade, name) for name in running}
        return {name: future.result(GRADE_TIMEOUT_S) for name, future in futures.items()}


def _evidence(report: dict[str, Any], ids: set[str]) -> str:
    return "\n".join(
        f"  {c['id']} {c['outcome']}: {c['evidence']['observed']}"
        for c in report["cases"]
        if c["id"] in ids
    )


# -- the verdicts ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_server_mcp_outcomes(
    name: str, servers: Servers, grades: dict[str, dict[str, Any]]
) -> None:
    servers.url(name)  # fails with the reason when the server did not start
    report = grades[name]
    got = {c["id"]: c["outcome"] for c in report["cases"] if c["id"].startswith("server.mcp.")}
    wrong = {i for i, outcome in got.items() if outcome not in EXPECTED[name].get(i, set())}
    assert set(got) == set(EXPECTED[name]), sorted(set(got) ^ set(EXPECTED[name]))
    assert not wrong, f"{name}: unexpected outcomes\n{_evidence(report, wrong)}"
    assert report["target"]["profile"] == "mcp"
    assert report["summary"]["ERROR"] == 0


def test_every_profile_case_on_the_python_sdk(grades: dict[str, dict[str, Any]]) -> None:
    """The whole profile on one server: the generic SSE cases grade the progress call's POST
    stream (and, for keep-alives, a GET stream), the MCP cases as above."""
    report = grades[ALL_CASES]
    got = {c["id"]: c["outcome"] for c in report["cases"]}
    others = {i: o for i, o in got.items() if not i.startswith("server.mcp.")}
    wanted = {i: OTHER_CASES.get(i, OK) for i in others}
    wrong = {i for i in others if others[i] != wanted[i]}
    assert not wrong, f"unexpected outcomes\n{_evidence(report, wrong)}"
    assert len(others) >= 20  # headers, framing, timing, keep-alive, close, status
    # The GET stream is graded: silent past the 1 s bound (the SDK pings every 15 s).
    keepalive = next(c for c in report["cases"] if c["id"] == "server.keepalive.1")
    assert keepalive["outcome"] == NS and "silent for" in keepalive["evidence"]["observed"]


# -- raw exchanges: each finding without the harness -----------------------------------------------


@dataclass(frozen=True)
class Raw:
    status: int
    headers: dict[str, str]
    body: bytes

    def blocks(self) -> list[dict[str, str]]:
        """The body's events, field by field as sent (CRLF or LF), comments left out."""
        text = self.body.decode("utf-8").replace("\r\n", "\n")
        found = []
        for block in text.split("\n\n"):
            fields: dict[str, str] = {}
            for line in block.split("\n"):
                if line and not line.startswith(":"):
                    name, _, value = line.partition(":")
                    fields[name] = value.removeprefix(" ")
            if fields:
                found.append(fields)
        return found

    def messages(self) -> list[dict[str, Any]]:
        return [json.loads(b["data"]) for b in self.blocks() if b.get("data")]


def _has(*needles: bytes) -> Callable[[bytes], bool]:
    return lambda body: all(n in body for n in needles)


class Wire:
    """An MCP client that shows what it got: every request bounded by :data:`READ_TIMEOUT_S`,
    every stream read until ``until`` says so (or it ends)."""

    def __init__(self, http: aiohttp.ClientSession, url: str) -> None:
        self.http, self.url = http, url

    async def send(
        self,
        method: str,
        headers: dict[str, str],
        body: dict[str, Any] | None = None,
        until: Callable[[bytes], bool] | None = None,
    ) -> Raw:
        async with asyncio.timeout(READ_TIMEOUT_S):
            data = json.dumps(body).encode() if body is not None else None
            async with self.http.request(method, self.url, headers=headers, data=data) as r:
                got = b""
                while not (until and until(got)):
                    chunk = await r.content.readany()
                    if not chunk:
                        break
                    got += chunk
                return Raw(r.status, {k.lower(): v for k, v in r.headers.items()}, got)

    async def session(self) -> dict[str, str]:
        """initialize and initialized; the headers every later request of the session sends."""
        params = {
            "protocolVersion": VERSION,
            "capabilities": {},
            "clientInfo": {"name": "raw", "version": "0"},
        }
        init = {"jsonrpc": "2.0", "id": RAW_ID, "method": "initialize", "params": params}
        opened = await self.send("POST", POST_HEADERS, init, until=_has(b'"protocolVersion"'))
        assert opened.status == 200, opened
        headers = {
            **POST_HEADERS,
            "Mcp-Session-Id": opened.headers["mcp-session-id"],
            "MCP-Protocol-Version": VERSION,
        }
        done = {"jsonrpc": "2.0", "method": "notifications/initialized"}
        assert (await self.send("POST", headers, done)).status == 202
        return headers

    async def call(
        self,
        headers: dict[str, str],
        request_id: int,
        token: str,
        tool: str = "test_tool_with_progress",
    ) -> Raw:
        """tools/call read to its response."""
        meta = {"progressToken": token}
        body = {"jsonrpc": "2.0", "id": request_id, "method": "tools/call",
                "params": {"name": tool, "arguments": {}, "_meta": meta}}  # fmt: skip
        return await self.send("POST", headers, body, until=_has(f'"id":{request_id}'.encode()))

    async def resume(self, headers: dict[str, str], last_event_id: str, until: bytes) -> Raw:
        """GET with Last-Event-ID, read until ``until`` (these servers keep the stream open)."""
        get = {**_get_headers(headers), "Last-Event-ID": last_event_id}
        return await self.send("GET", get, until=_has(until))


def _get_headers(session: dict[str, str]) -> dict[str, str]:
    """A GET's headers in the session whose POST headers are ``session``."""
    return {
        "Accept": "text/event-stream",
        "Mcp-Session-Id": session["Mcp-Session-Id"],
        "MCP-Protocol-Version": VERSION,
    }


POST_HEADERS = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}


@pytest.fixture
async def wire(servers: Servers) -> AsyncIterator[Callable[[str], Wire]]:
    async with aiohttp.ClientSession() as http:
        yield lambda name: Wire(http, servers.url(name))


def _progress_id(raw: Raw, value: int) -> str:
    """The event id of the progress notification ``value`` on a stream."""
    for block in raw.blocks():
        data = json.loads(block["data"]) if block.get("data") else {}
        if data.get("method") == "notifications/progress" and data["params"]["progress"] == value:
            return block["id"]
    raise AssertionError(f"no progress {value} on {raw.body!r}")


def _digest(raw: Raw) -> list[str]:
    """A stream's messages in order, each as "progress <token> <value>" or "response <id>"."""
    found = []
    for m in raw.messages():
        if m.get("method") == "notifications/progress":
            found.append(f"progress {m['params']['progressToken']} {m['params']['progress']:g}")
        elif "id" in m and ("result" in m or "error" in m):
            found.append(f"response {m['id']}")
        else:
            found.append(json.dumps(m))
    return found


async def test_raw_python_sdk_without_event_store_sends_no_priming_event(
    wire: Callable[[str], Wire],
) -> None:
    """server.mcp.4 NON-STRICT on python-sdk: with no event store the SDK sends no priming
    event (it mints one only when a store is set), and no event carries an id."""
    mcp = wire(PYTHON_SDK)
    call = await mcp.call(await mcp.session(), RAW_ID + 1, "raw-no-store")
    assert call.status == 200 and call.headers["content-type"].startswith("text/event-stream")
    assert call.body.startswith(
        b'event: message\r\ndata: {"jsonrpc":"2.0","method":"notifications/'
    )
    assert b"\r\nid:" not in call.body and not call.body.startswith(b"id:")
    assert _digest(call) == [
        "progress raw-no-store 0",
        "progress raw-no-store 50",
        "progress raw-no-store 100",
        f"response {RAW_ID + 1}",
    ]


async def test_raw_python_sdk_event_store_replays_another_sessions_stream(
    wire: Callable[[str], Wire],
) -> None:
    """server.mcp.11 FAILED on python-sdk-event-store (M-10): session B's GET with an event id
    that session A's stream issued gets the rest of A's stream, A's response included. The
    SDK hands Last-Event-ID to the event store without checking the session, and the SDK
    example's store (one for the whole server, as the example wires it) looks it up globally."""
    mcp = wire(PYTHON_SDK_STORE)
    a, b = await mcp.session(), await mcp.session()
    call = await mcp.call(a, RAW_ID + 2, "raw-session-a")
    assert _digest(call)[-1] == f"response {RAW_ID + 2}"
    stolen = await mcp.resume(b, _progress_id(call, 0), until=f'"id":{RAW_ID + 2}'.encode())
    assert stolen.status == 200
    assert a["Mcp-Session-Id"] != b["Mcp-Session-Id"]
    assert _digest(stolen) == [
        "progress raw-session-a 50",
        "progress raw-session-a 100",
        f"response {RAW_ID + 2}",
    ]
    assert b'"progressToken":"raw-session-a","progress":50' in stolen.body


async def test_raw_python_sdk_event_store_mixes_sessions_with_the_same_request_id(
    wire: Callable[[str], Wire],
) -> None:
    """M-10, not graded by the harness (its request ids are unique over a run): the SDK names a
    POST's stream after the request id alone, so in the example's one store two sessions'
    requests with the same id share a stream, and session A's own resume replays session B's
    progress and B's response, a second response to A's request id."""
    mcp = wire(PYTHON_SDK_STORE)
    a, b = await mcp.session(), await mcp.session()
    same = RAW_ID + 3
    mine = await mcp.call(a, same, "raw-mine")
    await mcp.call(b, same, "raw-theirs")
    second = f'"id":{same}'.encode()
    resumed = await mcp.send(
        "GET",
        {**_get_headers(a), "Last-Event-ID": _progress_id(mine, 0)},
        until=lambda body: body.count(second) == 2,
    )
    assert resumed.status == 200
    assert _digest(resumed) == [
        "progress raw-mine 50",
        "progress raw-mine 100",
        f"response {same}",
        "progress raw-theirs 0",
        "progress raw-theirs 50",
        "progress raw-theirs 100",
        f"response {same}",
    ]


@pytest.mark.parametrize(
    ("name", "status"),
    [(PYTHON_SDK, 403), (FASTMCP, 200), (TS_SDK_EXAMPLE, 200), (TS_SDK_CONFORMANCE, 200)],
)
async def test_raw_origin(wire: Callable[[str], Wire], name: str, status: int) -> None:
    """server.mcp.17 FAILED on fastmcp and both TypeScript servers (M-17, 2025-11-25: an
    invalid Origin MUST get 403): a request from a foreign page's Origin is served. FastMCP
    checks neither Host nor Origin by default; the TypeScript SDK's createMcpExpressApp()
    checks Host only. The Python SDK's streamable_http_app() refuses it (the control)."""
    mcp = wire(name)
    headers = {**await mcp.session(), "Origin": CROSS_ORIGIN}
    listed = {"jsonrpc": "2.0", "id": RAW_ID + 4, "method": "tools/list", "params": {}}
    got = await mcp.send("POST", headers, listed, until=_has(b'"tools"'))
    assert got.status == status, got
    if status == 200:
        assert any(m.get("id") == RAW_ID + 4 and "tools" in m["result"] for m in got.messages())
    else:
        assert got.body == b"Invalid Origin header"


async def test_raw_python_sdk_sends_connection_keep_alive(wire: Callable[[str], Wire]) -> None:
    """server.headers.6 NON-STRICT on the Python SDK: its streams are sse-starlette responses,
    which set Connection: keep-alive themselves (redundant over HTTP/1.1, forbidden over
    HTTP/2)."""
    mcp = wire(PYTHON_SDK_STORE)
    call = await mcp.call(await mcp.session(), RAW_ID + 5, "raw-headers")
    assert call.headers["connection"] == "keep-alive"
    assert call.headers["content-type"].startswith("text/event-stream")


async def test_raw_ts_sdk_example_streams_carry_event_ids(wire: Callable[[str], Wire]) -> None:
    """On ts-sdk-example the resumption cases are UNIMPLEMENTED because it lists no progress
    tool; its streams do carry ids (each session has an InMemoryEventStore): the initialize
    stream opens with a priming event."""
    mcp = wire(TS_SDK_EXAMPLE)
    params = {
        "protocolVersion": VERSION,
        "capabilities": {},
        "clientInfo": {"name": "raw", "version": "0"},
    }
    init = {"jsonrpc": "2.0", "id": RAW_ID + 6, "method": "initialize", "params": params}
    opened = await mcp.send("POST", POST_HEADERS, init, until=_has(b'"protocolVersion"'))
    first = opened.blocks()[0]
    assert first.keys() == {"id", "data"} and first["data"] == "", opened.body
    assert opened.body.startswith(f"id: {first['id']}\ndata: \n\n".encode())


async def _calls_until(
    mcp: Wire, session: dict[str, str], wanted: Callable[[Raw], bool], token: str
) -> tuple[int, Raw]:
    """Progress calls until one whose stream ``wanted`` picks (ids made in one millisecond),
    eight at a time, at most 64 calls (each is one in three or better)."""
    for start_id in range(RAW_ID + 100, RAW_ID + 164, 8):
        ids = range(start_id, start_id + 8)
        calls = await asyncio.gather(*(mcp.call(session, i, f"{token}-{i}") for i in ids))
        for request_id, call in zip(ids, calls, strict=True):
            if wanted(call):
                return request_id, call
    raise AssertionError("no call of 64 made two of its event ids in one millisecond")


def _response_id(raw: Raw) -> str:
    return next(b["id"] for b in raw.blocks() if b.get("data") and '"result"' in b["data"])


async def test_raw_ts_sdk_store_replays_out_of_order(wire: Callable[[str], Wire]) -> None:
    """server.mcp.9 NON-STRICT (now and then) on ts-sdk-conformance (M-09: a resume gives the
    rest of the stream in order): the SDK example's InMemoryEventStore sorts a replay by event
    id string, ``<stream>_<Date.now()>_<random>``, so the response and the last progress, sent
    in one millisecond, come back in the order of their random suffixes. A call where that
    order is the wrong one is picked from the POST streams' ids, then resumed: the response
    comes before progress 100. (The harness's evidence then says "the response never came":
    the response ended its read and the late progress 100 was counted after it.)"""
    mcp = wire(TS_SDK_CONFORMANCE)
    session = await mcp.session()

    def misordered(call: Raw) -> bool:
        # (and the priming event sorts before progress 0: else it is replayed too, below)
        primed_first = call.blocks()[0]["id"] < _progress_id(call, 0)
        return primed_first and _response_id(call) < _progress_id(call, 100)

    request_id, call = await _calls_until(mcp, session, misordered, "raw-order")
    token = f"raw-order-{request_id}"
    assert _digest(call)[1:] == [
        f"progress {token} 50",
        f"progress {token} 100",
        f"response {request_id}",
    ]
    resumed = await mcp.resume(session, _progress_id(call, 0), until=b'"progress":100')
    assert _digest(resumed) == [
        f"progress {token} 50",
        f"response {request_id}",
        f"progress {token} 100",
    ]


async def test_raw_ts_sdk_store_replays_the_priming_placeholder(
    wire: Callable[[str], Wire],
) -> None:
    """Not graded by the harness (its M-05 reads the first stream, not the resumed one): the
    TypeScript SDK stores a priming event as the message ``{}`` and the example's store does
    not skip it, so when it sorts after the Last-Event-ID (made in the same millisecond) a
    resume replays ``event: message`` with ``data: {}``, an event whose data is no JSON-RPC
    message (M-05)."""
    mcp = wire(TS_SDK_CONFORMANCE)
    session = await mcp.session()

    def priming_after_first(call: Raw) -> bool:
        priming = call.blocks()[0]
        return priming["data"] == "" and priming["id"] > _progress_id(call, 0)

    request_id, call = await _calls_until(mcp, session, priming_after_first, "raw-priming")
    priming_id = call.blocks()[0]["id"]
    resumed = await mcp.resume(session, _progress_id(call, 0), until=f'"id":{request_id}'.encode())
    assert resumed.blocks()[0] == {"event": "message", "id": priming_id, "data": "{}"}
    assert resumed.body.startswith(f"event: message\nid: {priming_id}\ndata: {{}}\n\n".encode())
