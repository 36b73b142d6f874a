"""The MCP columns of the client matrix: the official MCP SDKs on the ``client.mcp.*`` cases.

The group and the fuzzing server's MCP endpoint are checked without a client (the handshake, the
case's bytes with the call's id written in, every request recorded with its role), the grader's
resume timing against the conformance suite's tolerance on hand-made observations; then both
columns run every case (and two generic ones, through the decoder their SDK reads streams with)
through ``sse-harness clients`` and their outcomes are pinned. Every
FAILED or NON-STRICT cell is a real SDK bug, reproduced below without the harness: the SDK's own
call against a few lines of raw asyncio server (or its own SSE parser), showing the request or
the delay the cell was graded on. Loopback only; every wait is bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client

from harness.cli import main
from harness.clients import node
from harness.clients.adapters import CLIENTS
from harness.clients.catalog import CASES
from harness.clients.errors import Unavailable
from harness.clients.grader import grade_cell, ungradable
from harness.clients.mcp_cases import MCP, PING_ID, RETRY_MS
from harness.clients.node import NodeClients
from harness.clients.observation import Observation
from harness.clients.server import FuzzServer, SeenRequest, Served
from harness.outcome import Outcome
from harness.rules import RULES

BY_ID = {case.id: case for case in CASES}
COLUMNS = ("mcp-python", "mcp-typescript")
OK, NS, FAILED = Outcome.OK, Outcome.NON_STRICT, Outcome.FAILED
#: Every cell that is not OK, with the test below that reproduces it without the harness.
PINNED: dict[str, dict[str, Outcome]] = {
    "mcp-python": {
        # Its decoder, on a generic case: the same CR held back as in client.mcp.7.
        "client.lines.3": FAILED,
        # httpx2's decoder holds a CR ending a chunk: test_raw_python_sdk_holds_a_result_...
        "client.mcp.7": FAILED,
        # a resume that drops is retried with the id it started from:
        # test_raw_python_sdk_resumes_with_a_stale_last_event_id_after_a_resume_drops
        "client.mcp.14": FAILED,
        # httpx2 decodes the body as utf-8, not utf-8-sig: a BOM joins the first field's name,
        # and that first line is lost: test_raw_python_sdk_loses_the_first_line_after_a_bom
        "client.mcp.15": FAILED,
    },
    "mcp-typescript": {
        "client.lines.3": FAILED,
        # eventsource-parser 3 holds a CR ending a chunk: test_raw_ts_sdk_parser_holds_a_cr_...
        "client.mcp.7": FAILED,
        # a stream without ids ends without a response: the call waits for its request timeout:
        # test_raw_ts_sdk_waits_for_its_timeout_when_a_stream_ends_without_a_response
        "client.mcp.12": NS,
        # a resume that drops before an event is retried without Last-Event-ID:
        # test_raw_ts_sdk_resumes_without_last_event_id_after_a_resume_drops_before_an_event
        "client.mcp.13": FAILED,
    },
}
#: Generic cases the columns run too, through the decoder their SDK reads streams with.
GENERIC = ("client.lines.1", "client.lines.3")
#: What a loaded machine may turn an OK resume cell into: a resume later than retry + 200 ms.
LATE = "late for the 500 ms retry"


# -- the group, the endpoint and the grader, without a client -------------------------------------


def test_the_group_is_bounded_and_tied_to_rules() -> None:
    assert len(MCP) >= 10
    assert [case.id for case in MCP] == [f"client.mcp.{n}" for n in range(1, len(MCP) + 1)]
    assert all(BY_ID[case.id] is case for case in MCP)
    for case in MCP:
        assert case.mcp is not None and case.bound <= 5.0
        assert case.rules[0].startswith("C-") and set(case.rules) <= set(RULES)
        assert b'"@id"' in b"".join(p.data for r in case.responses for p in r.body) or (
            case.mcp.result is None
        )
    cited = {rule for case in MCP for rule in case.rules}
    assert {"M-04", "M-05", "M-09", "M-11", "C-R4", "C-H8", "C-P2", "C-P4"} <= cited


def test_elsewhere_an_mcp_column_is_the_decoder_its_sdk_reads_streams_with() -> None:
    for name in COLUMNS:
        spec = CLIENTS[name]
        assert spec.decoder_only and spec.sdk == "mcp"
        assert (
            spec.speaks(BY_ID["client.mcp.3"]) and ungradable(BY_ID["client.mcp.3"], spec) is None
        )
        assert not spec.speaks(BY_ID["client.llm.1"])
        assert ungradable(BY_ID["client.lines.1"], spec) is None
        verdict = ungradable(BY_ID["client.reconnect.2"], spec)
        assert verdict is not None and verdict.outcome is Outcome.UNIMPLEMENTED
    assert not CLIENTS["harness"].speaks(MCP[0])  # every other column reads them as streams


async def _exchange(
    port: int, method: str, path: str, payload: object = None, headers: dict[str, str] | None = None
) -> tuple[bytes, bytes]:
    """One request on its own connection: the response head, and the body of a closed stream
    (nothing for a held one or a JSON answer)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    data = b"" if payload is None else json.dumps(payload).encode()
    lines = [f"{method} {path} HTTP/1.1", "Host: t", f"Content-Length: {len(data)}"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    writer.write("\r\n".join(lines).encode() + b"\r\n\r\n" + data)
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 3)
    body = b""
    streamed = b"text/event-stream" in head and method != "GET"
    if streamed or "Last-Event-ID" in (headers or {}):
        body = await asyncio.wait_for(reader.readuntil(b"0\r\n\r\n"), 3)
    writer.close()
    return head, body


async def test_the_endpoint_answers_the_handshake_then_the_case_bytes() -> None:
    call = {"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": "fuzz"}}
    init = {"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {}}
    steps: list[tuple[str, object, dict[str, str], bytes]] = [
        ("POST", init, {}, b"200"),
        ("POST", {"jsonrpc": "2.0", "method": "notifications/initialized"}, {}, b"202"),
        ("GET", None, {}, b"200"),
        ("POST", {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}, {}, b"200"),
        ("POST", call, {}, b"200"),
        ("GET", None, {"Last-Event-ID": "1"}, b"200"),
        ("POST", {"jsonrpc": "2.0", "id": PING_ID, "result": {}}, {}, b"202"),
        ("DELETE", None, {}, b"200"),
    ]
    async with FuzzServer() as server:
        cell = server.open_cell(BY_ID["client.mcp.3"], mcp=True)
        bodies = []
        for method, payload, headers, status in steps:
            head, body = await _exchange(server.port, method, cell.path, payload, headers)
            assert head.split(b" ")[1] == status, (method, payload, head)
            assert f"Mcp-Session-Id: sse-harness-{cell.token}".encode() in head
            bodies.append(body)
        roles = " ".join(str(request.role) for request in cell.requests)
        assert roles == "initialize notification standalone list call resume answer delete"
        assert cell.requests[0].body == json.dumps(init).encode()
        assert len(cell.served) == len(cell.requests)
        assert cell.served[2].ended_at is None  # the standalone stream is held
    assert b"id: 1\nretry: 500\ndata:\n\n" in bodies[4]
    # the resume, with the call's id and its (absent, so null) progress token written in
    assert b'"id":7,"result"' in bodies[5] and b'"progressToken":null' in bodies[5]
    assert b"@id" not in bodies[5] and b"@token" not in bodies[5]
    with pytest.raises(ValueError, match="not an MCP case"):
        FuzzServer().open_cell(BY_ID["client.lines.1"], mcp=True)


def _observed(resume_delay: float) -> Observation:
    """client.mcp.3 as a conforming SDK does it, its resume ``resume_delay`` after the close."""
    case = BY_ID["client.mcp.3"]
    t0 = 1000.0
    obs = Observation(case, "/c/9/case/client.mcp.3", t0)
    init = (
        b'{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25"}}'
    )
    session = [("Mcp-Session-Id", b"sse-harness-9"), ("MCP-Protocol-Version", b"2025-11-25")]
    resume = [("Accept", b"text/event-stream"), ("Last-Event-ID", b"1"), *session]
    obs.requests = [
        SeenRequest(t0, "POST", obs.path, [], init, "initialize"),
        SeenRequest(t0 + 0.1, "POST", obs.path, session, b"{}", "call"),
        SeenRequest(t0 + 0.1 + resume_delay, "GET", obs.path, resume, b"", "resume"),
    ]
    obs.served = [
        Served(200, t0, [t0], t0, True),
        Served(200, t0 + 0.1, [t0 + 0.1], t0 + 0.1, True),
        Served(200, t0 + 0.2 + resume_delay, [], None, True),
    ]
    records: list[dict[str, Any]] = [
        {"kind": "progress", "t": t0 + 2, "progress": n, "total": 3, "message": f"step {n}"}
        for n in (1, 2, 3)
    ]
    obs.records = [*records, {"kind": "result", "t": t0 + 2, "text": "done", "is_error": False}]
    obs.ended = "client returned"
    return obs


@pytest.mark.parametrize(
    ("delay", "outcome", "note"),
    [
        (0.440, FAILED, "before the 500 ms retry"),
        (0.455, OK, ""),
        (0.695, OK, ""),
        (0.750, NS, LATE),
        (1.010, FAILED, "more than twice the 500 ms retry"),
    ],
)
def test_resume_timing_is_graded_with_the_conformance_suites_tolerance(
    delay: float, outcome: Outcome, note: str
) -> None:
    """EARLY_TOLERANCE 50 ms, LATE_TOLERANCE 200 ms, VERY_LATE_MULTIPLIER 2 (sse-retry.ts)."""
    verdict = grade_cell(BY_ID["client.mcp.3"], _observed(delay), CLIENTS["mcp-python"])
    assert verdict.outcome is outcome, verdict.notes
    assert all(note in n for n in verdict.notes) and bool(verdict.notes) is bool(note)


def test_an_exception_on_a_legal_stream_is_failed_with_the_exception() -> None:
    obs = _observed(0.5)
    obs.records = [*obs.records[:1], {"kind": "exception", "t": 1.0, "type": "E", "message": "x"}]
    obs.ended = "client raised"
    verdict = grade_cell(BY_ID["client.mcp.3"], obs, CLIENTS["mcp-typescript"])
    assert verdict.outcome is FAILED
    assert "raised E: x on a legal stream" in verdict.notes
    assert verdict.notes[0].startswith("the progress callback got 1/3")


# -- the two columns ----------------------------------------------------------------------------


def _node_runs() -> bool:
    return shutil.which("node") is not None and shutil.which("npm") is not None


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """``sse-harness clients`` with both columns on every client.mcp case, once."""
    out = tmp_path_factory.mktemp("mcp-clients")
    names = COLUMNS if _node_runs() else COLUMNS[:1]
    cases = ",".join(["client.mcp.*", *GENERIC])
    args = ["clients", "--clients", ",".join(names), "--cases", cases, "-q"]
    markdown = out / "clients.md"
    assert main([*args, "--report-dir", str(out), "--markdown", str(markdown)]) == 0
    data: dict[str, Any] = json.loads((out / "clients.json").read_text(encoding="utf-8"))
    data["markdown"] = markdown.read_text(encoding="utf-8")
    return data


@pytest.mark.parametrize("name", COLUMNS)
def test_each_column_gets_its_pinned_outcomes(report: dict[str, Any], name: str) -> None:
    if name not in report["summary"]:
        pytest.skip("node is not installed")
    cells = {r["case"]: r for r in report["results"] if r["client"] == name}
    assert set(cells) == {case.id for case in MCP} | set(GENERIC)
    wrong = []
    for case_id, cell in cells.items():
        want = PINNED[name].get(case_id, OK).value
        late_only = cell["outcome"] == NS.value and all(LATE in n for n in cell["notes"])
        if cell["outcome"] != want and not (want == OK.value and late_only):
            wrong.append(f"{case_id}: {cell['outcome']} {cell['notes']}")
    assert not wrong, "\n".join(wrong)
    for case_id, cell in cells.items():
        assert cell["observed"]["duration_s"] <= 5.5  # bounded: a hang is graded, not waited for
        if case_id.startswith("client.mcp."):
            assert cell["expected"]["api"] == "mcp" and cell["expected"]["tool"] == "fuzz"


def test_the_failures_carry_their_evidence(report: dict[str, Any]) -> None:
    cells = {(r["client"], r["case"]): r for r in report["results"]}
    stale = cells[("mcp-python", "client.mcp.14")]
    assert stale["notes"][0].startswith("resume GET #2")
    assert "sent Last-Event-ID: 2; expected 3" in stale["notes"][0] and stale["rule"] == "C-R4"
    lost = cells[("mcp-python", "client.mcp.15")]["notes"][0]
    assert lost.startswith('the progress callback got 2/3 "step 2", 3/3 "step 3"; expected 1/3')
    held = cells[("mcp-python", "client.mcp.7")]["notes"][0]
    assert held.startswith("the result reached the user's code") and "limit 500 ms" in held
    ok = cells[("mcp-python", "client.mcp.11")]["observed"]
    answers = [q for q in ok["requests"] if q.get("role") == "answer"]
    assert answers and PING_ID in answers[0]["body"]
    assert [p["progress"] for p in ok["progress"]] == [1, 2, 3]
    assert ok["results"][0]["text"] == "done"
    if ("mcp-typescript", "client.mcp.13") in cells:
        (note,) = cells[("mcp-typescript", "client.mcp.13")]["notes"]
        assert note.startswith("resume GET #2") and note.endswith(
            "sent no Last-Event-ID; expected 2"
        )
        hung = cells[("mcp-typescript", "client.mcp.12")]
        assert hung["notes"][0].startswith("the call neither returned nor raised")
        assert hung["observed"]["ended"] == "bound"


def test_the_reports_name_the_sdk_versions_and_their_decoders(report: dict[str, Any]) -> None:
    clients = {c["name"]: c for c in report["clients"]}
    python = clients["mcp-python"]
    assert python["version"].startswith("2.") and "(SSE: httpx2 2." in python["version"]
    assert python["source"] == "environment"
    if "mcp-typescript" in clients:
        ts = clients["mcp-typescript"]
        assert ts["source"] == "lock" and ts["pinned"]
        assert ts["version"].startswith("1.32.2 (Node ")
        assert ts["version"].endswith("; SSE: eventsource-parser 3.1.1)")
    for name in clients:
        assert f"| {name} | {clients[name]['version']} |" in report["markdown"]
    case = next(c for c in report["cases"] if c["id"] == "client.mcp.3")
    assert case["sdk_expected"]["resumes"] == [{"last_event_id": "1"}]
    assert case["sdk_expected"]["retry_s"] == RETRY_MS / 1000


# -- the bugs, without the harness ---------------------------------------------------------------


def _frame(*fields: str, eol: str = "\n") -> bytes:
    return (eol.join(fields) + eol + eol).encode()


def _progress(n: int) -> str:
    params = {"progressToken": "TOKEN", "progress": n, "total": 3}
    message = {"jsonrpc": "2.0", "method": "notifications/progress", "params": params}
    return f"data: {json.dumps(message)}"


_RESULT = 'data: {"jsonrpc":"2.0","id":"ID","result":{"content":[{"type":"text","text":"done"}]}}'
#: Each stream: its parts (bytes a chunk, a float a pause) and how it ends.
Script = list[tuple[list[bytes | float], str]]
Seen = list[tuple[str, dict[str, str]]]
_SSE_HEAD = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
)


def _json_answer(request_id: object, result: dict[str, Any]) -> bytes:
    body = json.dumps({"jsonrpc": "2.0", "id": request_id, "result": result}).encode()
    head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nMcp-Session-Id: s1\r\n"
    return f"{head}Content-Length: {len(body)}\r\n\r\n".encode() + body


_INIT = {
    "protocolVersion": "2025-11-25",
    "capabilities": {"tools": {}},
    "serverInfo": {"name": "r", "version": "1"},
}
_TOOLS = {"tools": [{"name": "t", "inputSchema": {"type": "object"}}]}


@contextlib.asynccontextmanager
async def _raw_mcp(streams: Script) -> AsyncIterator[tuple[str, Seen]]:
    """A bare MCP endpoint, apart from the harness's: initialize and tools/list answered with
    JSON, notifications and responses with 202, the first GET without Last-Event-ID held empty;
    the tools/call gets ``streams[0]`` and the k-th other GET ``streams[k]``, with the call's id
    and token written for "ID" and "TOKEN". Yields the URL and every request's method and
    headers."""
    seen: Seen = []
    state: dict[str, Any] = {"standalone": False, "resumes": 0, "ids": (b"0", b"0")}
    handlers: set[asyncio.Task[Any]] = set()

    async def stream(writer: asyncio.StreamWriter, parts: list[bytes | float], end: str) -> bool:
        writer.write(_SSE_HEAD)
        for part in parts:
            if isinstance(part, float):
                await asyncio.sleep(part)
                continue
            call_id, token = state["ids"]
            part = part.replace(b'"ID"', call_id).replace(b'"TOKEN"', token)
            writer.write(b"%x\r\n%b\r\n" % (len(part), part))
            await writer.drain()
        if end == "hold":
            await asyncio.Event().wait()
        if end == "abort":
            writer.transport.abort()
            return False
        writer.write(b"0\r\n\r\n")
        return True

    async def answer(
        writer: asyncio.StreamWriter, method: str, headers: dict[str, str], body: bytes
    ) -> bool:
        if method == "GET" and not state["standalone"] and "last-event-id" not in headers:
            state["standalone"] = True
            return await stream(writer, [], "hold")
        if method == "GET":
            state["resumes"] += 1
            return await stream(writer, *streams[state["resumes"]])
        message = json.loads(body) if body else {}
        if method == "DELETE":
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
        elif "id" not in message or "method" not in message:
            writer.write(
                b"HTTP/1.1 202 Accepted\r\nMcp-Session-Id: s1\r\nContent-Length: 0\r\n\r\n"
            )
        elif message["method"] == "tools/call":
            token = message["params"].get("_meta", {}).get("progressToken")
            state["ids"] = (json.dumps(message["id"]).encode(), json.dumps(token).encode())
            return await stream(writer, *streams[0])
        else:
            result = _INIT if message["method"] == "initialize" else _TOOLS
            writer.write(_json_answer(message["id"], result))
        return True

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        handlers.add(asyncio.current_task())  # type: ignore[arg-type]
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            while True:
                head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
                method = head[0].split(" ")[0]
                fields = (line.partition(":") for line in head[1:] if line)
                headers = {name.strip().lower(): value.strip() for name, _, value in fields}
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                seen.append((method, headers))
                if not await answer(writer, method, headers, body):
                    return

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    try:
        yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/mcp", seen
    finally:
        server.close()
        for task in handlers:
            task.cancel()
        await asyncio.gather(*handlers, return_exceptions=True)


def _resume_ids(seen: Seen) -> list[str | None]:
    gets = [headers for method, headers in seen if method == "GET"]
    return [headers.get("last-event-id") for headers in gets[1:]]  # after the standalone one


_DROPS_TWICE: Script = [
    ([_frame("id: 1", "retry: 100", "data:"), _frame("id: 2", _progress(1))], "abort"),
    ([_frame("id: 3", _progress(2))], "abort"),
    ([_frame("id: 4", _progress(3)), _frame("id: 5", _RESULT)], "close"),
]


async def _python_call(url: str) -> tuple[list[float], str]:
    progress: list[float] = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append(value)

    with anyio.fail_after(10):
        async with streamable_http_client(url) as (read, write), ClientSession(read, write) as s:
            await s.initialize()
            result = await s.call_tool("t", {}, progress_callback=on_progress)
    return progress, "".join(getattr(block, "text", "") for block in result.content)


async def test_raw_python_sdk_resumes_with_a_stale_last_event_id_after_a_resume_drops() -> None:
    """The first resume (Last-Event-ID: 2) gets id 3, then drops; the SDK's retry sends 2 again
    (``_handle_reconnection`` retries with the id it was called with), so a server that replays
    after the id hands the user progress 2 twice."""
    async with _raw_mcp(_DROPS_TWICE) as (url, seen):
        progress, text = await _python_call(url)
    assert _resume_ids(seen) == ["2", "2"]
    assert progress == [1, 2, 3] and text == "done"


async def test_raw_python_sdk_holds_a_result_whose_cr_ends_a_chunk() -> None:
    """httpx2's line decoder keeps a CR ending a chunk back until the next chunk, in case an LF
    follows: the blank line that ends the result waits, and so does the user."""
    script: Script = [([_frame(_RESULT, eol="\r"), 1.0, b":\r\r"], "close")]
    async with _raw_mcp(script) as (url, _):
        started = time.monotonic()
        _, text = await _python_call(url)
        assert text == "done" and time.monotonic() - started >= 0.9


async def test_raw_python_sdk_loses_the_first_line_after_a_bom() -> None:
    """The decoder reads ``\ufeffdata`` as an unknown field: the first notification is gone."""
    blocks = [_frame(_progress(n)) for n in (1, 2, 3)]
    script: Script = [(["\ufeff".encode() + blocks[0], *blocks[1:], _frame(_RESULT)], "close")]
    async with _raw_mcp(script) as (url, _):
        progress, text = await _python_call(url)
    assert progress == [2, 3] and text == "done"


# -- the TypeScript SDK, raw: its own Client, or its own eventsource-parser ------------------------

_TS_CALL = """
const { Client } = await import('@modelcontextprotocol/sdk/client/index.js');
const { StreamableHTTPClientTransport } = await import(
  '@modelcontextprotocol/sdk/client/streamableHttp.js');
const client = new Client({ name: 'raw', version: '1' });
client.onerror = () => {};
const started = Date.now();
let out;
try {
  await client.connect(new StreamableHTTPClientTransport(new URL(process.env.URL)));
  const result = await client.callTool({ name: 't', arguments: {} }, undefined,
    { timeout: Number(process.env.TIMEOUT_MS), onprogress: () => {} });
  out = { text: result.content[0].text };
} catch (err) {
  out = { error: String(err.message), code: err.code };
}
out.elapsed_ms = Date.now() - started;
console.log(JSON.stringify(out));
process.exit(0);
"""


@pytest.fixture(scope="module")
def ts_sdk() -> NodeClients:
    if not _node_runs():
        pytest.skip("node and npm are not installed")
    try:
        return asyncio.run(node.prepare())
    except Unavailable as exc:
        pytest.skip(f"npm clients unavailable: {exc}")


async def _node(ts: NodeClients, script: str, **env: str) -> dict[str, Any]:
    process = await asyncio.create_subprocess_exec(
        ts.node,
        "--input-type=module",
        "-e",
        script,
        cwd=ts.root,
        env={**os.environ, **env},
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await asyncio.wait_for(process.communicate(), 15)
    result: dict[str, Any] = json.loads(out.decode().strip().splitlines()[-1])
    return result


async def test_raw_ts_sdk_resumes_without_last_event_id_after_a_resume_drops_before_an_event(
    ts_sdk: NodeClients,
) -> None:
    """_handleSseStream keeps the last event id in a variable of each stream: a resumed stream
    that drops before its first event schedules the next resume with that variable, undefined."""
    script: Script = [_DROPS_TWICE[0], ([b": resumed\n\n"], "abort"), _DROPS_TWICE[2]]
    async with _raw_mcp(script) as (url, seen):
        out = await _node(ts_sdk, _TS_CALL, URL=url, TIMEOUT_MS="10000")
    assert _resume_ids(seen) == ["2", None]
    assert out["text"] == "done"


async def test_raw_ts_sdk_waits_for_its_timeout_when_a_stream_ends_without_a_response(
    ts_sdk: NodeClients,
) -> None:
    """A response stream without event ids ends before the response: nothing can resume it, yet
    the transport reports nothing to the pending call, which waits for its request timeout
    (60 s unless the caller sets one; 1.5 s here)."""
    script: Script = [([_frame(_progress(1)), _frame(_progress(2))], "close")]
    async with _raw_mcp(script) as (url, seen):
        out = await _node(ts_sdk, _TS_CALL, URL=url, TIMEOUT_MS="1500")
    assert out["code"] == -32001 and "timed out" in out["error"].lower()
    assert out["elapsed_ms"] >= 1400
    assert _resume_ids(seen) == []  # it does not reconnect: right, but it does not give up either


async def test_raw_ts_sdk_parser_holds_a_cr_ending_a_chunk(ts_sdk: NodeClients) -> None:
    """The SDK's eventsource-parser (3.1.1, nested under the SDK; the top-level 4.x does not)
    waits for the chunk after a CR that ends one, in case it is an LF."""
    script = """
const { createParser } = await import(
  './node_modules/@modelcontextprotocol/sdk/node_modules/eventsource-parser/dist/index.js');
const seen = [];
const parser = createParser({ onEvent: (e) => seen.push(e.data) });
parser.feed('data: a\\r\\r');
const held = seen.length;
parser.feed(':\\r\\r');
console.log(JSON.stringify({ held, after: seen }));
"""
    out = await _node(ts_sdk, script)
    assert out == {"held": 0, "after": ["a"]}
    lock = json.loads((node.JS / "package-lock.json").read_text(encoding="utf-8"))
    nested = lock["packages"][
        "node_modules/@modelcontextprotocol/sdk/node_modules/eventsource-parser"
    ]
    assert nested["version"] == "3.1.1"


def test_the_ts_sdk_is_pinned_by_the_clients_lock() -> None:
    manifest = json.loads((node.JS / "package.json").read_text(encoding="utf-8"))
    assert manifest["dependencies"]["@modelcontextprotocol/sdk"] == "1.32.2"
    assert Path(node.JS / "mcp-typescript.mjs").is_file()
