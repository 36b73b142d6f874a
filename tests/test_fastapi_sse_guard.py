"""FastAPI's native SSE (``fastapi.sse``, FastAPI 0.165.0) as the README shows it, graded, and
what it does on the wire, raw: so a FastAPI release that changes any of it is noticed here.

The README's "Test my server" example is :data:`README_EXAMPLE`, run exactly as a user saves it
(``myapp.py``) through ``check --app``. With FastAPI 0.165.0 it has no finding: no case FAILED
and none NON-STRICT. The raw behaviours below are what a user meets next: every ``data`` value
is JSON (a string arrives quoted; ``raw_data`` sends text as it is), fields that would break the
framing are refused when the event is built, the response says ``Cache-Control: no-cache`` and
``X-Accel-Buffering: no``, and an idle stream gets ``: ping`` every 15 s (under the harness's
20 s keep-alive bound). The ping interval is a module constant that ``fastapi.routing`` copied
at import: patching ``fastapi.sse._PING_INTERVAL``, as its comment suggests, changes nothing.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterable
from pathlib import Path

import fastapi
import fastapi.routing
import pytest
from fastapi import FastAPI
from fastapi.sse import KEEPALIVE_COMMENT, EventSourceResponse, ServerSentEvent, format_sse_event
from pydantic import ValidationError

from harness.cli import main
from reference_server.launch import serve_in_thread

pytestmark = pytest.mark.timeout(60)

README = Path(__file__).resolve().parents[1] / "README.md"

#: The README's example app, as the user saves it (``myapp.py``): the ``python`` block of
#: README.md that starts with ``# myapp.py``, so the page and this test cannot drift apart.
README_EXAMPLE = next(
    block
    for block in re.findall(
        r"^```python\n(.*?)^```", README.read_text(encoding="utf-8"), re.M | re.S
    )
    if block.startswith("# myapp.py\n")
)

#: The README's command for it (the test skips the load probe, which the README runs).
README_COMMAND = ["check", "--app", "myapp:app", "--path", "/events", "--resumable"]


def test_the_readme_example_passes_check_with_no_finding(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "myapp.py").write_text(README_EXAMPLE, encoding="utf-8")
    code = main([*README_COMMAND, "--load-users", "0", "--report-dir", "report"])
    out = capsys.readouterr().out
    assert code == 0, out[-3000:]
    assert out.startswith("conformance: PASS: none of "), out[:300]
    report = json.loads((tmp_path / "report/conformance.json").read_text(encoding="utf-8"))
    graded = {case["id"]: case for case in report["cases"]}
    findings = {
        i: c["outcome"] for i, c in graded.items() if c["outcome"] in ("FAILED", "NON-STRICT")
    }
    assert findings == {}
    # What is left undone needs HTTP/2 (--http2) or the scripting contract, not a fix.
    unimplemented = [c for c in graded.values() if c["outcome"] == "UNIMPLEMENTED"]
    for case in unimplemented:
        assert (
            "HTTP/2" in case["evidence"]["observed"] or "contract" in case["evidence"]["observed"]
        )
    assert graded["server.resume.1"]["outcome"] == graded["server.resume.2"]["outcome"] == "OK"


# -- the wire, raw ---------------------------------------------------------------------------------


def _app() -> FastAPI:
    app = FastAPI()

    @app.get("/mixed", response_class=EventSourceResponse)
    async def mixed() -> AsyncIterable[object]:
        yield ServerSentEvent(data="hello")
        yield ServerSentEvent(raw_data="line 1\nline 2", event="text", id="7")
        yield {"n": 1}
        yield ServerSentEvent(comment="a note")

    @app.get("/idle", response_class=EventSourceResponse)
    async def idle() -> AsyncIterable[ServerSentEvent]:
        yield ServerSentEvent(data=0)
        await asyncio.sleep(30)

    return app


async def test_fastapi_json_encodes_data_even_a_string_and_writes_lf(fetch) -> None:
    with serve_in_thread(_app()) as base:
        wire = await fetch(base + "/mixed")
    assert wire.body == (
        b'data: "hello"\n\n'  # a str is JSON: the client receives the quotes
        b"event: text\ndata: line 1\ndata: line 2\nid: 7\n\n"  # raw_data: as it is, split
        b'data: {"n":1}\n\n'  # a plain object: compact JSON (a model's model_dump_json)
        b": a note\n\n"
    )
    assert [event.data for event in wire.events] == ['"hello"', "line 1\nline 2", '{"n":1}']


async def test_fastapi_response_headers(fetch) -> None:
    with serve_in_thread(_app()) as base:
        wire = await fetch(base + "/mixed")
    assert wire.status == 200
    assert wire.headers["content-type"] == "text/event-stream; charset=utf-8"
    assert wire.headers["cache-control"] == "no-cache"
    assert wire.headers["x-accel-buffering"] == "no"
    assert "connection" not in wire.headers  # nothing connection-specific: fine over HTTP/2


@pytest.mark.parametrize(
    "fields",
    [{"id": "a\nb"}, {"id": "a\x00b"}, {"event": "a\rb"}, {"retry": -1}],
    ids=["id-newline", "id-nul", "event-cr", "retry-negative"],
)
def test_fastapi_refuses_fields_that_would_break_the_framing(fields: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        ServerSentEvent(data="x", **fields)  # type: ignore[arg-type]


def test_fastapi_splits_multiline_comments_and_data_on_every_terminator() -> None:
    assert format_sse_event(comment="a\nb") == b": a\n: b\n\n"
    assert format_sse_event(data_str="a\r\nb\rc") == b"data: a\ndata: b\ndata: c\n\n"


async def test_fastapi_pings_an_idle_stream_with_its_routing_copy_of_the_interval(
    fetch,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert fastapi.routing._PING_INTERVAL == 15.0  # under the 20 s keep-alive bound
    assert KEEPALIVE_COMMENT == b": ping\n\n"
    monkeypatch.setattr(fastapi.routing, "_PING_INTERVAL", 0.2)
    with serve_in_thread(_app()) as base:
        wire = await fetch(base + "/idle", max_chunks=3, timeout_s=10)
    assert wire.body == b"data: 0\n\n: ping\n\n: ping\n\n"
