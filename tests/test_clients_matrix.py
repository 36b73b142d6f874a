"""The client matrix end to end: real clients, real processes, the fuzzing server on loopback.

``harness`` must be OK on every case (the ``client.llm.*`` group included); every other column
is shown to work on a case it passes and, where its source has a bug, to be graded FAILED on the
case that shows it (so the grader demonstrably can fail); Node clients and browsers run when
they are installed; a client that hangs, or a runner that ignores its stop, is bounded; reports
are written and parse. Cells end by the client's own end, by quiet or by their bound, never by
a test sleeping.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import re
import shutil
from collections.abc import Sequence
from pathlib import Path

import pytest

from harness.cli import main
from harness.clients import ClientsOptions, matrix, run_clients
from harness.clients.adapters import CLIENTS, ClientSpec
from harness.clients.catalog import CASES, select
from harness.clients.matrix import MatrixResult, run_columns
from harness.outcome import Outcome

BY_ID = {case.id: case for case in CASES}


def _run(specs: Sequence[ClientSpec], case_ids: Sequence[str], jobs: int = 1) -> MatrixResult:
    return asyncio.run(run_columns(specs, [BY_ID[i] for i in case_ids], jobs=jobs))


def _outcomes(result: MatrixResult) -> dict[tuple[str, str], Outcome]:
    return {(r.client, r.case.id): r.outcome for c in result.columns for r in c.results}


def test_harness_client_is_ok_on_every_case() -> None:
    result = asyncio.run(run_columns([CLIENTS["harness"]], CASES, jobs=4))
    column = result.column("harness")
    assert column.unavailable is None and column.version
    wrong = [
        f"{r.case.id}: {r.outcome} {r.notes}"
        for r in column.results
        if r.outcome is not (Outcome.INFORMATIONAL if r.case.informational else Outcome.OK)
    ]
    assert not wrong, "\n".join(wrong)


PYTHON_PEERS = [
    "httpx-sse",
    "sseclient-py",
    "requests-sse",
    "aiohttp-sse-client2",
    "openai-python",
    "anthropic-python",
    "sseclient",
]
# Each row is a behaviour read in the library's source and confirmed by the matrix.
DEVIATIONS = [
    # httpx-sse holds a trailing CR back until the next chunk, so the event it ends waits.
    ("httpx-sse", "client.chunks.3", Outcome.FAILED),
    # httpx-sse requests Cache-Control: no-store, not no-cache (a SHOULD: NON-STRICT).
    ("httpx-sse", "client.request.3", Outcome.NON_STRICT),
    # sseclient-py dispatches the unterminated event at the end of the body.
    ("sseclient-py", "client.eof.1", Outcome.FAILED),
    # ... but splits bytes, not str: U+2028 does not end its lines.
    ("sseclient-py", "client.lines.7", Outcome.OK),
    # requests-sse reads retry with int(): "1_0000" becomes 10 s.
    ("requests-sse", "client.retry.4", Outcome.FAILED),
    # aiohttp-sse-client2 splits lines on LF only.
    ("aiohttp-sse-client2", "client.lines.3", Outcome.FAILED),
    # openai's chat.completions.create(stream=True) hands the user every delta ...
    ("openai-python", "client.llm.1", Outcome.OK),
    # ... and raises APIError for an error payload, after the deltas before it ...
    ("openai-python", "client.llm.17", Outcome.OK),
    # ... but its SSEDecoder dispatches a data-less "event: ping" and Stream json.loads("")es it.
    ("openai-python", "client.llm.4", Outcome.FAILED),
    # Its decoder decodes each line strictly: an invalid byte raises UnicodeDecodeError.
    ("openai-python", "client.utf8.3", Outcome.FAILED),
    # A decoder has no connection to grade.
    ("openai-python", "client.status.404", Outcome.UNIMPLEMENTED),
    # anthropic's messages.stream() raises the "event: error" as an API error ...
    ("anthropic-python", "client.llm.18", Outcome.OK),
    # ... but its decoder holds a blank line ending in CR until the next chunk.
    ("anthropic-python", "client.chunks.3", Outcome.FAILED),
    # sseclient reads the socket beneath the chunked decoder: chunk framing splits its lines.
    ("sseclient", "client.chunks.4", Outcome.FAILED),
    # It reads retry with int(): "abc" raises ValueError to the caller.
    ("sseclient", "client.retry.3", Outcome.FAILED),
]


def test_python_peers_are_graded_on_what_they_do() -> None:
    cases = sorted({"client.lines.1"} | {case for _, case, _ in DEVIATIONS})
    result = _run([CLIENTS[name] for name in PYTHON_PEERS], cases)
    outcomes = _outcomes(result)
    for column in result.columns:
        assert column.unavailable is None, column.unavailable
        assert outcomes[(column.spec.name, "client.lines.1")] is Outcome.OK  # the adapter works
    assert {(c, i): outcomes[(c, i)] for c, i, _ in DEVIATIONS} == {
        (c, i): o for c, i, o in DEVIATIONS
    }


NODE_CLIENTS = [name for name, spec in CLIENTS.items() if spec.kind == "node"]
# Each row is a behaviour read in the library's source and confirmed by the matrix.
NODE_GRADES = [
    # fetch-event-source dispatches an empty message for every blank line.
    ("fetch-event-source", "client.data.7", Outcome.FAILED),
    # The SDKs' decoders keep no last event ID.
    ("openai-node", "client.id.1", Outcome.FAILED),
    ("anthropic-node", "client.id.1", Outcome.FAILED),
    # openai's chat stream hands the user every delta, but JSON.parse('') of a data-less
    # "event: ping" throws SyntaxError out of it.
    ("openai-node", "client.llm.1", Outcome.OK),
    ("openai-node", "client.llm.4", Outcome.FAILED),
    # anthropic's messages.stream() hands the user every delta, but its decoder holds a line
    # whose CR ends a chunk until the next chunk comes.
    ("anthropic-node", "client.llm.2", Outcome.OK),
    ("anthropic-node", "client.chunks.2", Outcome.FAILED),
    # eventsource-parser strips a decoded BOM after TextDecoderStream stripped the first one.
    ("eventsource-parser", "client.bom.2", Outcome.FAILED),
    # undici ignores a bare "event" line instead of resetting the type.
    ("undici", "client.fields.14", Outcome.FAILED),
    # extended-eventsource takes a CR ending a chunk for a whole line end: CRLF split, 2 events.
    ("extended-eventsource", "client.chunks.1", Outcome.FAILED),
]


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_node_clients() -> None:
    cases = sorted({"client.lines.1", "client.id.1"} | {case for _, case, _ in NODE_GRADES})
    result = _run([CLIENTS[n] for n in NODE_CLIENTS], cases)
    if any(c.unavailable for c in result.columns):
        pytest.skip(f"npm clients unavailable: {result.columns[0].unavailable}")
    outcomes = _outcomes(result)
    for column in result.columns:
        assert outcomes[(column.spec.name, "client.lines.1")] is Outcome.OK
        assert "(Node " in column.version
    sdks = {"openai-node", "anthropic-node"}
    assert {n for n in NODE_CLIENTS if outcomes[(n, "client.id.1")] is Outcome.OK} == set(
        NODE_CLIENTS
    ) - sdks
    assert {(c, i): outcomes[(c, i)] for c, i, _ in NODE_GRADES} == {
        (c, i): o for c, i, o in NODE_GRADES
    }


@pytest.mark.parametrize("name", ["chromium", "firefox"])
def test_browsers(name: str) -> None:
    spec = CLIENTS[name]
    if shutil.which(spec.target) is None:
        pytest.skip(f"{spec.target} is not installed")
    cases = ["client.lines.1", "client.id.2", "client.status.404", "client.reconnect.2"]
    result = _run([spec], cases)
    column = result.column(name)
    assert column.unavailable is None, column.unavailable
    assert spec.target.split("-")[0] in column.version.lower()
    wrong = [f"{r.case.id}: {r.notes}" for r in column.results if r.outcome is not Outcome.OK]
    assert not wrong, wrong


@pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium is not installed")
def test_sse_js_runs_in_chromium() -> None:
    cases = ["client.lines.1", "client.id.2", "client.eof.1", "client.status.404"]
    result = _run([CLIENTS["sse.js"]], cases)
    column = result.column("sse.js")
    if column.unavailable and shutil.which("npm") is None:
        pytest.skip(f"sse.js unavailable: {column.unavailable}")
    assert column.unavailable is None, column.unavailable
    assert "Chromium" in column.version
    assert [r.outcome for r in column.results] == [
        Outcome.OK,
        Outcome.OK,
        Outcome.FAILED,  # it dispatches the unterminated last event when the request ends
        Outcome.FAILED,  # it announces open for a 404 (XHR readyState HEADERS_RECEIVED)
    ]


def _adapter(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, body: str) -> ClientSpec:
    """A throwaway Python adapter module, importable by the worker through PYTHONPATH."""
    (tmp_path / "test_adapter.py").write_text(
        f'import os, signal, time\nDIST = "sse-harness"\n\n\ndef run(url, types, emit):\n{body}'
    )
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    return ClientSpec("test-client", "python", "test_adapter", "nothing to install")


def test_a_hanging_client_is_graded_at_the_bound(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = _adapter(tmp_path, monkeypatch, '    emit("open")\n    time.sleep(3600)\n')
    case = dataclasses.replace(BY_ID["client.lines.1"], bound=0.5)
    result = asyncio.run(run_columns([spec], [case]))
    (cell,) = result.column("test-client").results
    assert cell.outcome is Outcome.FAILED
    assert cell.notes[-1] == "the client was still running at the 0.5 s bound"
    assert cell.observed["ended"] == "bound"
    assert result.duration < 5


def test_a_runner_that_ignores_stop_is_killed_and_replaced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(matrix, "GRACE_S", 0.5)
    marker = tmp_path / "stopped-once"
    body = (
        f"    if not os.path.exists({str(marker)!r}):\n"
        f"        open({str(marker)!r}, 'w').close()\n"
        "        os.kill(os.getppid(), signal.SIGSTOP)  # the worker itself stops answering\n"
        "        time.sleep(3600)\n"
        "    from harness.clients.adapters.harness_client import run as real\n"
        "    real(url, types, emit)\n"
    )
    spec = _adapter(tmp_path, monkeypatch, body)
    case = dataclasses.replace(BY_ID["client.lines.1"], bound=0.5)
    result = asyncio.run(run_columns([spec], [case, BY_ID["client.lines.2"]]))
    first, second = result.column("test-client").results
    assert first.outcome is Outcome.FAILED
    assert first.observed["ended"] == "bound (runner killed: it did not stop)"
    assert second.outcome is Outcome.OK, second.notes  # on a fresh runner


def test_a_missing_client_is_unimplemented_not_a_crash() -> None:
    missing = ClientSpec("missing", "python", "no_such_adapter_module", "pip install nothing")
    browser = ClientSpec("nobrowser", "browser", "no-such-browser-binary", "apt-get install it")
    result = _run([missing, browser], ["client.lines.1", "client.eof.1"])
    for column in result.columns:
        assert column.unavailable
        assert [r.outcome for r in column.results] == [Outcome.UNIMPLEMENTED] * 2
    assert "no_such_adapter_module" in result.column("missing").results[0].notes[0]
    assert "apt-get install it" in result.column("nobrowser").results[0].notes[0]


def test_reports_are_written_and_parse(tmp_path: Path) -> None:
    options = ClientsOptions(["harness", "sseclient-py"], "client.lines.1,client.eof.1", tmp_path)
    result = run_clients(options).matrix
    data = json.loads((tmp_path / "clients.json").read_text())
    assert data["schema_version"] == 1
    assert [c["name"] for c in data["clients"]] == ["harness", "sseclient-py"]
    assert all(c["version"] for c in data["clients"])
    assert [c["id"] for c in data["cases"]] == ["client.lines.1", "client.eof.1"]
    assert data["cases"][1]["script"][0]["body"][0]["bytes"] == "data: a\\n\\ndata: b\\n"
    cells = {(r["client"], r["case"]): r for r in data["results"]}
    assert set(cells) == {
        (c, i) for c in ("harness", "sseclient-py") for i in ("client.lines.1", "client.eof.1")
    }
    eof = cells[("sseclient-py", "client.eof.1")]
    assert eof["outcome"] == "FAILED" and eof["rule"] == "C-P7"
    assert eof["expected"]["events"] == [{"type": "message", "data": "a", "last_event_id": ""}]
    assert [e["data"] for e in eof["observed"]["events"]] == ["a", "b"]
    assert data["summary"]["harness"]["OK"] == 2 == result.column("harness").summary()["OK"]
    html = (tmp_path / "clients.html").read_text()
    assert 'class="cell FAILED"' in html and 'id="client.eof.1"' in html
    assert 'id="breaks-sseclient-py"' in html and "<b>C-P7</b>" in html
    assert "<script" not in html and "<link" not in html  # self-contained


def test_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["clients", "--clients", "nope"]) == 2
    assert "unknown client(s) nope" in capsys.readouterr().err
    args = [
        "clients",
        "--clients",
        "harness",
        "--cases",
        "client.bom",
        "--report-dir",
        str(tmp_path),
    ]
    markdown = tmp_path / "docs" / "clients.md"
    assert main([*args, "-q", "--markdown", str(markdown)]) == 0
    out = capsys.readouterr().out
    assert "harness" in out and "4 cases" in out
    assert (tmp_path / "clients.json").is_file()
    nothing = r"### harness \S+\n\nNothing: no FAILED or NON-STRICT cell"
    assert re.search(nothing, markdown.read_text())
    assert len(select("client.bom")) == 4


def test_a_client_named_but_not_installed_exits_2_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Asked for by name and could not run: never a silent pass."""
    ghost = ClientSpec("ghost", "python", "no_such_adapter_module", "pip install ghost")
    monkeypatch.setitem(CLIENTS, "ghost", ghost)
    args = ["clients", "--clients", "harness,ghost", "--cases", "client.lines.1", "-q"]
    assert main([*args, "--report-dir", str(tmp_path)]) == 2
    captured = capsys.readouterr()
    assert "ghost could not run" in captured.err and "pip install ghost" in captured.err
    assert "not run (UNIMPLEMENTED): ghost" in captured.out
    data = json.loads((tmp_path / "clients.json").read_text())  # the run is still reported
    assert {(r["client"], r["outcome"]) for r in data["results"]} == {
        ("harness", "OK"),
        ("ghost", "UNIMPLEMENTED"),
    }
