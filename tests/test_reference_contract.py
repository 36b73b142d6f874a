"""The scripting contract (``harness.contract``): exact emission, limits, observation, and the
same router mounted in a user's own FastAPI app."""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from collections.abc import AsyncIterator

import aiohttp
import pytest
from fastapi import FastAPI

from harness import contract
from harness.cli import main
from harness.contract import CONTRACT_VERSION, STREAM_ID_HEADER, make_router
from harness.stream import encode
from reference_server.app import create_app
from reference_server.launch import serve_in_thread, serve_subprocess
from reference_server.settings import Settings

pytestmark = pytest.mark.timeout(30)


def raw(data: bytes) -> dict[str, str]:
    return {"raw": base64.b64encode(data).decode()}


@pytest.mark.parametrize("eol", ["\n", "\r\n", "\r"])
async def test_a_script_is_emitted_exactly(reference_server_url: str, fetch, eol: str) -> None:
    script = {
        "eol": eol,
        "steps": [
            {"event": {"data": "one\ntwo", "event": "e", "id": "7", "retry": 0}},
            {"comment": "note"},
            {"event": {"data": " leading space"}},
            raw(b"data: bad\x00\xff\r\r\n"),
            {"event": {"id": ""}},
        ],
    }
    wire = await fetch(reference_server_url + "/_script", method="POST", json=script)
    assert wire.status == 200
    assert wire.headers["Content-Type"] == "text/event-stream; charset=utf-8"
    assert wire.body == b"".join(
        [
            encode(data="one\ntwo", event="e", id="7", retry=0, eol=eol),
            encode(comment="note", eol=eol),
            encode(data=" leading space", eol=eol),
            b"data: bad\x00\xff\r\r\n",
            encode(id="", eol=eol),
        ]
    )


async def test_delays_separate_the_chunks(reference_server_url: str, fetch) -> None:
    steps = [{"event": {"data": "a"}}, {"delay_ms": 80}, {"event": {"data": "b"}}]
    wire = await fetch(reference_server_url + "/_script", method="POST", json={"steps": steps})
    assert [chunk for _, chunk in wire.chunks] == [b"data: a\n\n", b"data: b\n\n"]
    assert wire.chunks[1][0] - wire.chunks[0][0] >= 0.08 * 0.9


@pytest.mark.parametrize(
    "steps",
    [
        [{"event": {"id": "a\x00b"}}],
        [{"event": {"id": "a\nb"}}],
        [{"event": {"event": "a\rb"}}],
        [{"event": {"retry": True}}],
        [{"event": {"retry": -1}}],
        [{"event": {"retry": 1.5}}],
        [{"event": {"data": "x", "bogus": 1}}],
        [{"shout": "x"}],
        [{"raw": "not base64!"}],
        [{"delay_ms": 60_001}],
        [{"delay_ms": 3000}, {"delay_ms": 3000}],  # over script_max_delay_s = 5
    ],
)
async def test_a_script_that_cannot_be_emitted_faithfully_gets_422(
    reference_server_url: str, fetch, steps: list[object]
) -> None:
    wire = await fetch(reference_server_url + "/_script", method="POST", json={"steps": steps})
    assert wire.status == 422
    assert json.loads(wire.body)["detail"]


async def test_a_script_of_too_many_steps_gets_422(serve_reference, fetch) -> None:
    base = serve_reference(max_body_bytes=1 << 20)
    steps = [{"comment": ""}] * 10_001
    wire = await fetch(base + "/_script", method="POST", json={"steps": steps})
    assert wire.status == 422
    assert json.loads(wire.body)["detail"][0]["type"] == "too_long"


BIG_BODY = json.dumps({"steps": [{"comment": "x" * 1000}] * 70}).encode()


async def test_a_body_over_64_kib_gets_413(reference_server_url: str, fetch) -> None:
    assert len(BIG_BODY) > 64 * 1024
    headers = {"Content-Type": "application/json"}
    wire = await fetch(
        reference_server_url + "/_script", method="POST", data=BIG_BODY, headers=headers
    )
    assert wire.status == 413


async def test_a_chunked_body_over_64_kib_gets_413(reference_server_url: str) -> None:
    async def chunked() -> AsyncIterator[bytes]:
        for start in range(0, len(BIG_BODY), 4096):
            yield BIG_BODY[start : start + 4096]

    async with (
        aiohttp.ClientSession() as session,
        session.post(
            reference_server_url + "/_script",
            data=chunked(),
            headers={"Content-Type": "application/json"},
        ) as response,
    ):
        assert "Content-Length" not in response.request_info.headers
        assert response.status == 413


async def test_discovery_names_the_contract_and_its_limits(reference_server_url: str) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.get(reference_server_url + "/_contract") as response,
    ):
        found = await response.json()
    assert found["contract"] == CONTRACT_VERSION
    assert found["limits"]["max_body_bytes"] == 64 * 1024


async def test_observation_reports_completion_and_disconnect(
    reference_server_url: str, fetch, observe
) -> None:
    done = await fetch(
        reference_server_url + "/_script", method="POST", json={"steps": [{"comment": "x"}]}
    )
    record = await observe(reference_server_url, done.headers[STREAM_ID_HEADER])
    assert record["endpoint"] == "/_script"
    assert (record["end_reason"], record["blocks"], record["disconnected"]) == (
        "completed",
        1,
        None,
    )

    steps = [{"comment": "first"}, {"delay_ms": 5000}, {"comment": "never"}]
    async with (
        aiohttp.ClientSession() as session,
        session.post(reference_server_url + "/_script", json={"steps": steps}) as response,
    ):
        stream_id = response.headers[STREAM_ID_HEADER]
        await response.content.readuntil(b"\n\n")
        live = await observe(reference_server_url, stream_id, finished=False)
        assert live["ended"] is None
        response.close()
    record = await observe(reference_server_url, stream_id)
    assert record["end_reason"] == "disconnected"
    assert 0 <= record["stop_after_disconnect_s"] < 0.5


async def test_observation_lists_streams_and_counts_tasks(reference_server_url: str) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.get(reference_server_url + "/_observe/streams") as response:
            snapshot = await response.json()
        async with session.get(reference_server_url + "/_observe/streams?records=false") as r:
            counts = await r.json()  # what a soak run samples: no lists at 25,000 streams
        async with session.get(reference_server_url + "/_observe/streams/999999") as missing:
            assert missing.status == 404
    assert snapshot.keys() == {"live", "finished", "live_count", "totals", "tasks"}
    assert snapshot["live_count"] == len(snapshot["live"]) and snapshot["tasks"] >= 1
    assert counts.keys() == {"live_count", "totals", "tasks"}


async def test_the_router_mounts_in_any_fastapi_app(fetch) -> None:
    app = FastAPI()
    app.include_router(make_router(), prefix="/sse-contract")
    app.include_router(contract.router, prefix="/default")
    with serve_in_thread(app) as base:
        for prefix in ("/sse-contract", "/default"):
            wire = await fetch(
                f"{base}{prefix}/_script",
                method="POST",
                json={"steps": [{"event": {"data": "hi", "id": "1"}}]},
            )
            assert wire.body == b"id: 1\ndata: hi\n\n"
            assert "Connection" not in wire.headers
            async with (
                aiohttp.ClientSession() as session,
                session.get(f"{base}{prefix}/_observe/streams") as response,
            ):
                finished = (await response.json())["finished"]
            assert [r["end_reason"] for r in finished] == ["completed"]


TOKEN = "reference-token"


async def test_the_reference_server_locks_its_contract_with_a_token(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Local runs need no token (the other tests); one given to create_app, or else found in
    the environment, locks the contract, loopback clients included."""
    monkeypatch.setenv(contract.TOKEN_ENV, TOKEN)
    capped = create_app(Settings(script_max_streams=2), contract_token="given")
    for app, token, cap in ((create_app(), TOKEN, 64), (capped, "given", 2)):
        with serve_in_thread(app) as base:
            async with aiohttp.ClientSession() as session:
                async with session.get(base + "/_contract") as refused:
                    assert refused.status == 403
                mine = {contract.TOKEN_HEADER: token}
                async with session.get(base + "/_contract", headers=mine) as answer:
                    assert (await answer.json())["limits"]["max_streams"] == cap
                async with session.get(base + "/counter?count=1", headers=mine) as stream:
                    assert stream.status == 200, "only the contract is locked"


def test_serve_locks_the_contract_and_trusts_the_origins_it_is_given() -> None:
    from reference_server import cli

    assert cli.TOKEN_ENV == contract.TOKEN_ENV  # named there without importing FastAPI
    flags = ["--no-access-log", "--contract-token", TOKEN, "--cors-origin", "https://app.example"]
    with serve_subprocess(flags) as server:
        refused = urllib.request.Request(server.url + "/_contract")
        with pytest.raises(urllib.error.HTTPError) as answer:
            urllib.request.urlopen(refused, timeout=10)
        assert answer.value.code == 403
        mine = urllib.request.Request(
            server.url + "/_contract", headers={contract.TOKEN_HEADER: TOKEN}
        )
        with urllib.request.urlopen(mine, timeout=10) as unlocked:
            assert json.load(unlocked)["contract"] == CONTRACT_VERSION
        for origin, allowed in (("https://app.example", True), ("http://localhost:3000", False)):
            page = urllib.request.Request(server.url + "/faults", headers={"Origin": origin})
            with urllib.request.urlopen(page, timeout=10) as answer_:
                assert (answer_.headers.get("Access-Control-Allow-Origin") == origin) is allowed


@pytest.mark.parametrize(
    ("flags", "said"),
    [
        (["--cors-origin", "https://app.example/"], "is not an origin"),
        (["--script-max-streams", "0"], "script_max_streams must be 1 or more"),
    ],
)
def test_serve_refuses_bad_locks_in_one_line(
    flags: list[str], said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as done:
        raise SystemExit(main(["serve", "--port", "0", *flags]))
    assert done.value.code == 2
    err = capsys.readouterr().err.strip()
    assert said in err.splitlines()[-1] and "Traceback" not in err
