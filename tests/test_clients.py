"""The client case catalog, the fuzzing server and the grader, without any client library.

The catalog is checked against the rule tables (every rule id is a known one) and against the one
parser (its hand-written expectations are what :class:`harness.stream.Parser` makes of the same
bytes); the LLM cases' SDK expectations against their own payloads; the server against a raw
socket (chunk boundaries on the wire are the scripted ones); the grader, the "what breaks"
summary and the Markdown matrix against hand-made observations and reports, so each check is
shown to pass and to fail.
"""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import pytest

from harness.clients.adapters import CLIENTS, ClientSpec
from harness.clients.catalog import CASES, select
from harness.clients.grader import expected_json, grade_cell, ungradable
from harness.clients.llm_cases import LLM
from harness.clients.model import ClientCase, Piece, Response
from harness.clients.observation import Observation
from harness.clients.server import FuzzServer, SeenRequest, Served
from harness.outcome import Level, Outcome
from harness.report.breaks import SENTENCES, what_breaks
from harness.report.clients_markdown import render_markdown
from harness.rules import RULES
from harness.selection import NoCaseMatched

BY_ID = {case.id: case for case in CASES}
HARNESS = CLIENTS["harness"]
OPENAI_PY = CLIENTS["openai-python"]
ANTHROPIC_PY = CLIENTS["anthropic-python"]
SSE_TYPE = b"Content-Type: text/event-stream\r\n"
#: SPEC.md's client rules: C-R1..5, C-H1..9, C-P1..11, C-D1..5.
CLIENT_RULES = {
    f"C-{family}{n}"
    for family, last in (("R", 5), ("H", 9), ("P", 11), ("D", 5))
    for n in range(1, last + 1)
}


# -- catalog --------------------------------------------------------------------------------------


def test_catalog_has_at_least_60_cases_with_unique_stable_ids() -> None:
    assert len(CASES) >= 60
    ids = [case.id for case in CASES]
    assert len(set(ids)) == len(ids)
    assert all(re.fullmatch(r"client\.[a-z0-9]+\.\d+", i) for i in ids), ids


def test_every_rule_id_is_a_spec_rule_with_a_plain_sentence() -> None:
    assert set(SENTENCES) == CLIENT_RULES
    used = {rule for case in CASES for rule in case.rules}
    assert used <= CLIENT_RULES | set(RULES), used - CLIENT_RULES - set(RULES)
    assert all(case.rules[0] in CLIENT_RULES for case in CASES)  # what a failure counts against


@pytest.mark.parametrize("case", [c for c in CASES if c.expect.events is not None], ids=str)
def test_parser_agrees_with_the_expected_events(case: ClientCase) -> None:
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
    with pytest.raises(NoCaseMatched, match=r"client\.bom, .*client\.llm"):
        select("nothing.*")
    assert len(select(None)) == len(CASES)


def test_listen_types_include_types_of_refused_bodies() -> None:
    case = ClientCase(
        "client.t.1",
        "t",
        ("C-H3",),
        (Response(404, body=(Piece(b"event: x\ndata: a\n\n"),), end="close", stream=False),),
    )
    assert case.event_types() == ["message", "x"]
    assert list(case.parsed()) == []


def test_llm_group_covers_both_apis_as_bodies_a_decoder_can_be_graded_on() -> None:
    assert len(LLM) >= 12
    assert [case.id for case in LLM] == [f"client.llm.{n}" for n in range(1, len(LLM) + 1)]
    assert all(BY_ID[case.id] is case for case in LLM)
    assert {case.sdk.api for case in LLM if case.sdk is not None} == {"openai", "anthropic"}
    for case in LLM:
        assert case.sdk is not None and not case.needs_connection
        assert case.responses[0].end == "close"  # as the APIs end them: an SDK's call returns


def _payload_deltas_and_error(case: ClientCase) -> tuple[tuple[str, ...], str | None]:
    """The text deltas and the error message the expected events' JSON payloads carry."""
    deltas: list[str] = []
    assert case.expect.events is not None
    for event in case.expect.events:
        if event.data == "[DONE]":
            break
        payload = json.loads(event.data)
        if "error" in payload:
            return tuple(deltas), payload["error"]["message"]
        if "choices" in payload:
            deltas += filter(None, [payload["choices"][0]["delta"].get("content")])
        elif payload["type"] == "content_block_delta":
            deltas.append(payload["delta"]["text"])
    return tuple(deltas), None


@pytest.mark.parametrize("case", LLM, ids=lambda case: case.id)
def test_llm_sdk_expectation_is_what_the_payloads_carry(case: ClientCase) -> None:
    """The SDK view is written beside the events; the two must tell the same story."""
    assert case.sdk is not None
    assert _payload_deltas_and_error(case) == (case.sdk.deltas, case.sdk.raises)


def test_needs_connection_tells_decoder_cases_from_connection_cases() -> None:
    decoder = ["client.lines.1", "client.chunks.2", "client.eof.1", "client.ctype.5"]
    decoder += ["client.timing.2", "client.retry.13", "client.llm.17"]
    connection = ["client.status.404", "client.ctype.6", "client.retry.1", "client.request.1"]
    connection += ["client.reconnect.13", "client.timing.1", "client.redirect.301"]
    assert [i for i in decoder if BY_ID[i].needs_connection] == []
    assert [i for i in connection if not BY_ID[i].needs_connection] == []


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
    case = ClientCase(
        "client.t.1",
        "t",
        ("C-P2",),
        (
            Response(
                headers=(("Content-Type", "text/event-stream"), ("X-Case", "{case}")),
                body=(Piece(b"da"), Piece(b"ta: a\r", 0.1), Piece(b"\n\n", 0.1)),
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


async def test_server_serves_a_library_to_the_page(tmp_path: Path) -> None:
    library = tmp_path / "sse.js"
    library.write_bytes(b"export const SSE = 1;\n")
    async with FuzzServer() as server:
        server.add_file("/npm/sse.js", library, "text/javascript")
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(b"GET /npm/sse.js HTTP/1.1\r\nHost: t\r\n\r\n")
        head = await reader.readuntil(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200 OK\r\nContent-Type: text/javascript\r\n")
        assert await reader.readexactly(22) == b"export const SSE = 1;\n"
        writer.close()


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
    case: ClientCase,
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


def _delta(text: str) -> dict[str, Any]:
    return {"kind": "delta", "text": text}


def test_an_sdk_is_graded_on_the_deltas_its_user_got() -> None:
    case = BY_ID["client.llm.1"]
    deltas = [_delta(t) for t in ("Hel", "lo", " world")]
    returned = _observe(case, *deltas, ended="client returned")
    assert OPENAI_PY.speaks(case) and not HARNESS.speaks(case)
    assert grade_cell(case, returned, OPENAI_PY).outcome is Outcome.OK
    assert grade_cell(case, returned, HARNESS).outcome is Outcome.FAILED  # no events
    raised = {"kind": "exception", "type": "JSONDecodeError", "message": "Expecting value"}
    verdict = grade_cell(case, _observe(case, raised, ended="client raised"), OPENAI_PY)
    assert verdict.outcome is Outcome.FAILED
    assert verdict.notes == (
        'the user\'s code received deltas none; expected "Hel", "lo", " world"',
        "raised JSONDecodeError: Expecting value on a legal stream",
    )
    hung = grade_cell(case, _observe(case, *deltas, ended="bound"), OPENAI_PY)
    assert hung.notes == ("the streaming call had not returned (nothing more by the 3 s bound)",)
    assert expected_json(case, sdk=True) == {
        "api": "openai",
        "deltas": ["Hel", "lo", " world"],
        "raises": None,
    }


def test_an_sdk_must_raise_the_error_event_after_the_deltas_before_it() -> None:
    case = BY_ID["client.llm.18"]  # Anthropic: "Hel", "lo", then event: error
    before = [_delta("Hel"), _delta("lo")]
    message = "{'type': 'error', 'error': {'type': 'overloaded_error', 'message': 'Overloaded'}}"
    api_error = {"kind": "exception", "type": "APIStatusError", "message": message}
    raised = _observe(case, *before, api_error, ended="client raised")
    assert grade_cell(case, raised, ANTHROPIC_PY).outcome is Outcome.OK
    swallowed = grade_cell(case, _observe(case, *before, ended="client returned"), ANTHROPIC_PY)
    assert swallowed.outcome is Outcome.FAILED
    assert swallowed.notes == (
        'the error event was not raised to the caller (expected an error carrying "Overloaded"):'
        " the client ended by itself: returned",
    )
    other = {"kind": "exception", "type": "KeyError", "message": "'error'"}
    verdict = grade_cell(case, _observe(case, *before, other, ended="client raised"), ANTHROPIC_PY)
    assert verdict.notes == (
        "raised KeyError: 'error'; expected the API error carrying \"Overloaded\"",
    )
    assert not OPENAI_PY.speaks(case)  # another API's SDK sees the case as events


def test_a_decoder_is_not_graded_on_connection_cases() -> None:
    status = BY_ID["client.status.404"]
    verdict = ungradable(status, OPENAI_PY)
    assert verdict is not None and verdict.outcome is Outcome.UNIMPLEMENTED
    assert verdict.notes[0].startswith("openai-python is graded as a decoder")
    assert grade_cell(status, _observe(status), OPENAI_PY) == verdict
    assert ungradable(status, HARNESS) is None
    assert ungradable(BY_ID["client.lines.1"], OPENAI_PY) is None


def test_the_evidence_pins_a_deviation_on_the_rule_it_breaks() -> None:
    case = BY_ID["client.data.1"]  # written for C-P9
    right = _event("a\nb")
    extra = grade_cell(case, _observe(case, _event(""), right, _event("", "ping")), HARNESS)
    assert extra.outcome is Outcome.FAILED and extra.rule == "C-D2"
    wrong = grade_cell(case, _observe(case, _event("a")), HARNESS)
    assert wrong.outcome is Outcome.FAILED and wrong.rule is None  # the case's own
    assert grade_cell(case, _observe(case, _event(""), _event("a")), HARNESS).rule is None
    assert grade_cell(case, _observe(case, right), HARNESS).rule is None
    late = BY_ID["client.chunks.2"]  # right events, dispatched late: its own rule, C-P2
    served = [Served(200, 100.0, [100.0, 101.0], None, True)]
    slow = _observe(late, _event("a", t=101.0), _event("b", t=101.01), served=served)
    assert grade_cell(late, slow, HARNESS).rule is None
    ids = BY_ID["client.id.8"]  # written for C-P5: an id keeps spaces, colons, non-ASCII
    no_id = grade_cell(ids, _observe(ids, _event("a")), HARNESS)
    assert no_id.outcome is Outcome.FAILED and no_id.rule == "C-D1"
    retry = BY_ID["client.retry.4"]  # written for C-P11
    one_request = _observe(retry, _event("a"), ended="client returned")
    assert grade_cell(retry, one_request, HARNESS).rule == "C-H6"  # it never reconnects
    raised = {"kind": "exception", "type": "ValueError", "message": "1_0000"}
    crashed = _observe(retry, _event("a"), raised, ended="client raised")
    assert grade_cell(retry, crashed, HARNESS).rule is None  # the crash is the retry's fault
    broken = BY_ID["client.reconnect.10"]  # the body is aborted: C-H2
    assert grade_cell(broken, _observe(broken, _event("a")), HARNESS).rule == "C-H2"


def _counts(**counts: int) -> dict[str, int]:
    return {o.value: counts.get(o.value, 0) for o in Outcome}


def _report() -> dict[str, Any]:
    """A small clients.json: "good" passes everything, "bad" breaks three rules."""
    ids = ["client.lines.3", "client.chunks.1", "client.request.3", "client.llm.3", "client.id.1"]
    bad = {
        "client.lines.3": ("FAILED", "C-P2"),
        "client.chunks.1": ("FAILED", None),  # no pinned rule: the case's first
        "client.request.3": ("NON-STRICT", "C-R3"),
        "client.llm.3": ("FAILED", "C-D2"),
        "client.id.1": ("OK", "C-P10"),
    }
    return {
        "started": "2026-01-01T00:00:00+00:00",
        "duration_s": 1.5,
        "clients": [
            {"name": "good", "version": "1.0", "available": True, "reason": None}
            | {"source": "environment", "pinned": False},
            {"name": "bad", "version": "2.0 (Node 24.0.0)", "available": True, "reason": None}
            | {"source": "lock", "pinned": True},
            # a report from before the ``source`` key: the pages still render it
            {"name": "gone", "version": "", "available": False, "reason": "npm failed"},
        ],
        "summary": {
            "good": _counts(OK=5),
            "bad": _counts(OK=1, FAILED=3, **{"NON-STRICT": 1}),
            "gone": _counts(UNIMPLEMENTED=5),
        },
        "cases": [{"id": i, "title": BY_ID[i].title, "rules": list(BY_ID[i].rules)} for i in ids],
        "results": [
            *({"client": "good", "case": i, "outcome": "OK"} for i in ids),
            *({"client": "gone", "case": i, "outcome": "UNIMPLEMENTED"} for i in ids),
            *(
                {"client": "bad", "case": i, "outcome": outcome, "rule": rule}
                for i, (outcome, rule) in bad.items()
            ),
        ],
    }


def test_what_breaks_folds_failed_cells_by_rule() -> None:
    breaks = what_breaks(_report())
    assert breaks["good"] == [] and breaks["gone"] == []
    assert [(b.outcome, b.rule, b.cases) for b in breaks["bad"]] == [
        ("FAILED", "C-P2", ("client.lines.3", "client.chunks.1")),
        ("FAILED", "C-D2", ("client.llm.3",)),
        ("NON-STRICT", "C-R3", ("client.request.3",)),
    ]
    assert breaks["bad"][0].sentence == SENTENCES["C-P2"]


def test_markdown_matrix_shows_versions_what_breaks_and_every_cell() -> None:
    text = render_markdown(_report())
    pinned = "pinned (version and hash from a lock shipped with sse-harness)"
    assert f"| bad | 2.0 (Node 24.0.0) | {pinned} | 1 | 1 | 0 | 3 | 0 | 0 |" in text
    assert "| good | 1.0 | your environment (the version you installed, not pinned) |" in text
    assert "| gone | not available: npm failed |  | 0 | 0 | 0 | 0 | 5 | 0 |" in text
    assert "Newest releases" not in text
    breaks = "(`client.lines.3`, `client.chunks.1`)"
    assert f"- FAILED **C-P2**: {SENTENCES['C-P2']} {breaks}" in text
    assert "### good 1.0\n\nNothing: no FAILED or NON-STRICT cell." in text
    assert "### gone\n\nNot run: npm failed" in text
    row = f"| `client.request.3` {BY_ID['client.request.3'].title} | C-R3 | ok | NS | - |"
    assert row in text
