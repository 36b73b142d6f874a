"""The client case catalog, the fuzzing server and the grader, without any client library.

The catalog is checked against SPEC.md (every rule id exists) and against the one parser (its
hand-written expectations are what :class:`harness.stream.Parser` makes of the same bytes); the
server against a raw socket (chunk boundaries on the wire are the scripted ones); the grader
against hand-made observations, so each check is shown to pass and to fail.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import pytest

from harness.clients.adapters import CLIENTS, ClientSpec
from harness.clients.catalog import CASES, select
from harness.clients.grader import grade_cell
from harness.clients.model import Case, Chunk, Response
from harness.clients.observation import Observation
from harness.clients.server import FuzzServer, SeenRequest, Served
from harness.outcome import Level, Outcome

SPEC = Path(__file__).resolve().parents[2] / "shared" / "SPEC.md"
BY_ID = {case.id: case for case in CASES}
HARNESS = CLIENTS["harness"]
SSE_TYPE = b"Content-Type: text/event-stream\r\n"


# -- catalog --------------------------------------------------------------------------------------


def test_catalog_has_at_least_60_cases_with_unique_stable_ids() -> None:
    assert len(CASES) >= 60
    ids = [case.id for case in CASES]
    assert len(set(ids)) == len(ids)
    assert all(re.fullmatch(r"client\.[a-z0-9]+\.\d+", i) for i in ids), ids


def test_every_rule_id_exists_in_spec() -> None:
    if not SPEC.is_file():
        pytest.skip(f"{SPEC} is not beside this checkout")
    known = set(re.findall(r"^\| ((?:C-[A-Z]+|S-)\d+) \|", SPEC.read_text(), re.MULTILINE))
    used = {rule for case in CASES for rule in case.rules}
    assert used <= known, used - known


@pytest.mark.parametrize("case", [c for c in CASES if c.expect.events is not None], ids=str)
def test_parser_agrees_with_the_expected_events(case: Case) -> None:
    """The catalog's verdicts are written by hand from SPEC.md; the parser must reach them too."""
    assert case.expect.events is not None
    assert tuple(event for _, _, event in case.parsed()) == case.expect.events


def test_cases_cover_the_rule_families_and_levels() -> None:
    families = {rule.rstrip("0123456789") for case in CASES for rule in case.rules}
    assert {"C-R", "C-H", "C-P", "C-D"} <= families
    assert {case.level for case in CASES} >= {Level.MUST, Level.SHOULD, Level.PRACTICE}
    assert any(case.informational for case in CASES)


def test_select_takes_globs_and_prefixes() -> None:
    assert [c.id for c in select("client.status.204")] == ["client.status.204"]
    assert {c.id for c in select("client.bom")} == {f"client.bom.{n}" for n in range(1, 5)}
    assert len(select("client.lines.*,client.eof.1")) == 11
    assert select("nothing.*") == []
    assert len(select(None)) == len(CASES)


def test_listen_types_include_types_of_refused_bodies() -> None:
    case = Case(
        "client.t.1",
        "t",
        ("C-H3",),
        (Response(404, body=(Chunk(b"event: x\ndata: a\n\n"),), end="close", stream=False),),
    )
    assert case.event_types() == ["message", "x"]
    assert list(case.parsed()) == []


# -- fuzzing server -------------------------------------------------------------------------------


async def _exchange(server: FuzzServer, path: str, until: bytes) -> tuple[bytes, list[bytes]]:
    """Send a GET on a raw socket; return the response head and each read of the body."""
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: t\r\nAccept: text/event-stream\r\n\r\n".encode())
    head = await reader.readuntil(b"\r\n\r\n")
    reads: list[bytes] = []
    while not b"".join(reads).endswith(until):
        data = await asyncio.wait_for(reader.read(65536), 5)
        if not data:
            break
        reads.append(data)
    writer.close()
    return head, reads


async def test_server_writes_each_scripted_chunk_as_its_own_http_chunk() -> None:
    case = Case(
        "client.t.1",
        "t",
        ("C-P2",),
        (
            Response(
                headers=(("Content-Type", "text/event-stream"), ("X-Case", "{case}")),
                body=(Chunk(b"da"), Chunk(b"ta: a\r", 0.1), Chunk(b"\n\n", 0.1)),
                end="close",
            ),
        ),
    )
    async with FuzzServer() as server:
        cell = server.open_cell(case)
        head, reads = await _exchange(server, cell.path, b"0\r\n\r\n")
    assert (
        head
        == (
            "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
            f"X-Case: {cell.path}\r\nTransfer-Encoding: chunked\r\n\r\n"
        ).encode()
    )
    # Reads of the socket show the boundaries: one HTTP chunk per scripted chunk.
    assert reads[0] == b"2\r\nda\r\n"
    assert reads[1] == b"6\r\nta: a\r\r\n"
    assert b"".join(reads[2:]) == b"2\r\n\n\n\r\n0\r\n\r\n"
    served = cell.served[0]
    assert served.complete and served.ended_at is not None
    gaps = [b - a for a, b in zip(served.chunk_times, served.chunk_times[1:], strict=False)]
    assert all(gap >= 0.09 for gap in gaps), gaps
    assert cell.requests[0].header("accept") == b"text/event-stream"


@pytest.mark.parametrize(
    ("case_id", "head"),
    [
        ("client.status.204", b"HTTP/1.1 204 No Content\r\n" + SSE_TYPE + b"\r\n"),
        (
            "client.status.205",
            b"HTTP/1.1 205 Reset Content\r\n" + SSE_TYPE + b"Content-Length: 0\r\n\r\n",
        ),
        ("client.ctype.8", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"),
    ],
)
async def test_server_sends_only_the_scripted_headers(case_id: str, head: bytes) -> None:
    async with FuzzServer() as server:
        cell = server.open_cell(BY_ID[case_id])
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(f"GET {cell.path} HTTP/1.1\r\nHost: t\r\n\r\n".encode())
        assert await reader.readuntil(b"\r\n\r\n") == head
        writer.close()


async def test_server_answers_requests_beyond_the_script_with_a_held_empty_stream() -> None:
    async with FuzzServer() as server:
        cell = server.open_cell(BY_ID["client.status.404"])
        await _exchange(server, cell.path, b"0\r\n\r\n")
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(f"GET {cell.path} HTTP/1.1\r\nHost: t\r\n\r\n".encode())
        head = await reader.readuntil(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n")
        server.close_cell(cell)  # the held body ends with the cell
        assert await asyncio.wait_for(reader.read(), 5) == b""
        writer.close()
    assert [r.path for r in cell.requests] == [cell.path, cell.path]


async def test_server_keeps_cells_apart() -> None:
    async with FuzzServer() as server:
        first = server.open_cell(BY_ID["client.lines.1"])
        second = server.open_cell(BY_ID["client.lines.1"])
        server.close_cell(first)
        head, _ = await _exchange(server, first.path, b"\n")
        assert head.startswith(b"HTTP/1.1 404")
        head, _ = await _exchange(server, second.path, b"data: a\n\n\r\n")
        assert head.startswith(b"HTTP/1.1 200")
    assert first.requests == [] and len(second.requests) == 1


# -- grader ---------------------------------------------------------------------------------------


def _observe(
    case: Case,
    *records: dict[str, Any],
    requests: int = 1,
    ended: str = "quiet",
    served: list[Served] | None = None,
    headers: list[tuple[str, bytes]] | None = None,
) -> Observation:
    path = "/c/1/case/" + case.id
    obs = Observation(case, path, 100.0, ended=ended)
    obs.records = [{"t": 100.01, **r} for r in records]
    obs.requests = [
        SeenRequest(100.0 + i, "GET", path, headers or [("Accept", b"text/event-stream")])
        for i in range(requests)
    ]
    obs.served = served if served is not None else [Served(200, 100.0, [100.0], 100.0, True)]
    return obs


def _event(data: str, type: str = "message", id: str = "", t: float = 100.01) -> dict[str, Any]:
    return {"kind": "event", "type": type, "data": data, "last_event_id": id, "t": t}


def test_grader_passes_and_fails_on_events() -> None:
    case = BY_ID["client.lines.1"]
    assert grade_cell(case, _observe(case, _event("a")), HARNESS).outcome is Outcome.OK
    verdict = grade_cell(case, _observe(case, _event("a\n")), HARNESS)
    assert verdict.outcome is Outcome.FAILED
    assert verdict.notes == (
        'expected 1 event(s), observed 1; event #1: expected message "a" id="",'
        ' observed message "a\\n" id=""',
    )
    verdict = grade_cell(case, _observe(case, ended="bound"), HARNESS)
    assert "timed out waiting for dispatch" in verdict.notes[0]
    assert verdict.notes[-1] == "the client was still running at the 3 s bound"


def test_grader_treats_an_exception_as_an_observation() -> None:
    case = BY_ID["client.status.404"]
    raised = {"kind": "exception", "type": "HTTPError", "message": "404"}
    assert grade_cell(case, _observe(case, raised, ended="client raised"), HARNESS).outcome is (
        Outcome.OK
    )
    verdict = grade_cell(case, _observe(case, ended="client returned"), HARNESS)
    assert verdict.outcome is Outcome.FAILED
    assert "no error was signalled" in verdict.notes[0]
    verdict = grade_cell(case, _observe(case, raised, requests=2), HARNESS)
    assert "expected exactly 1 (no reconnect)" in verdict.notes[0]
    lines = BY_ID["client.lines.1"]
    verdict = grade_cell(lines, _observe(lines, _event("a"), raised), HARNESS)
    assert verdict.outcome is Outcome.FAILED and verdict.notes == ("raised HTTPError: 404",)


def test_grader_levels_headers_and_capabilities() -> None:
    accept = BY_ID["client.request.2"]
    obs = _observe(accept, _event("a"), headers=[("Accept", b"*/*")])
    verdict = grade_cell(accept, obs, HARNESS)
    assert verdict.outcome is Outcome.NON_STRICT  # a PRACTICE rule is never FAILED
    assert verdict.notes == ("request #1 sent Accept: */*; expected text/event-stream",)
    timing = BY_ID["client.timing.1"]
    no_open = ClientSpec("x", "python", "x", "x", reports_open=False)
    assert grade_cell(timing, _observe(timing), no_open).outcome is Outcome.UNIMPLEMENTED


def test_grader_times_dispatch_from_the_completing_chunk() -> None:
    case = BY_ID["client.chunks.2"]  # chunk 0 completes "a", chunk 1 (1 s later) completes "b"
    served = [Served(200, 100.0, [100.0, 101.0], None, True)]
    prompt = _observe(case, _event("a", t=100.01), _event("b", t=101.01), served=served)
    assert grade_cell(case, prompt, HARNESS).outcome is Outcome.OK
    late = _observe(case, _event("a", t=101.0), _event("b", t=101.01), served=served)
    verdict = grade_cell(case, late, HARNESS)
    assert verdict.outcome is Outcome.FAILED
    assert verdict.notes == (
        "event #1 dispatched 1000 ms after the chunk that completes it arrived (limit 500 ms)",
    )


def test_grader_checks_reconnect_delay_and_last_event_id() -> None:
    case = BY_ID["client.reconnect.2"]
    served = [Served(200, 100.0, [100.0], 100.0, True), Served(200, 100.3, [100.3], None, True)]
    events = (_event("a", id="42"), _event("b", id="42"))
    headers = [("Last-Event-ID", b"42")]
    obs = _observe(case, *events, requests=2, served=served, headers=headers)
    assert grade_cell(case, obs, HARNESS).outcome is Outcome.OK
    obs = _observe(case, *events, requests=2, served=served, headers=[])
    assert grade_cell(case, obs, HARNESS).notes == (
        "request #2 sent no Last-Event-ID; expected Last-Event-ID: 42",
    )
    retry = BY_ID["client.retry.1"]
    obs = _observe(retry, _event("a"), _event("b"), requests=2, served=served)
    obs.requests[1].t = 100.002  # 2 ms after the body ended, not 100
    assert grade_cell(retry, obs, HARNESS).notes == (
        "reconnected 2 ms after the body ended, before the 100 ms reconnection time",
    )


def test_informational_cases_report_facts_without_a_verdict() -> None:
    case = BY_ID["client.reconnect.13"]
    served = [Served(200, 100.0, [100.0], 100.0, True)]
    obs = _observe(case, _event("a"), requests=2, served=served)
    obs.requests[1].t = 103.0
    verdict = grade_cell(case, obs, HARNESS)
    assert verdict.outcome is Outcome.INFORMATIONAL
    assert verdict.notes == ("reconnected 3.00 s after the body ended",)
