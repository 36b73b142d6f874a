"""The scripting contract's lock (issue 24): a token the app owner sets, loopback clients only
without one, and a cap on scripted streams running at once.

Served by real uvicorn on loopback; a client elsewhere is played by handing the ASGI app a scope
whose ``client`` is a documentation address (192.0.2.1, RFC 5737), so no packet leaves the host.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import aiohttp
import httpx
import pytest
from fastapi import FastAPI

from harness.contract import LOOPBACK_ONLY, STREAM_ID_HEADER, TOKEN_ENV, TOKEN_HEADER, make_router
from harness.outcome import Outcome
from harness.server.runner import run_cases
from harness.server.target import Target, request_target
from reference_server.launch import serve_in_thread

pytestmark = pytest.mark.timeout(60)

TOKEN = "correct horse battery staple"
#: A script that holds its stream open far longer than any test waits on it, and one that ends.
HELD = {"steps": [{"comment": "open"}, {"delay_ms": 20_000}]}
SHORT = {"steps": [{"comment": "x"}]}


@pytest.fixture(autouse=True)
def _no_token_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """A token exported in the shell running the tests must not lock or unlock these apps."""
    monkeypatch.delenv(TOKEN_ENV, raising=False)


def _app(**options: Any) -> FastAPI:
    app = FastAPI()
    app.include_router(make_router(**options))
    return app


@pytest.fixture
def locked() -> Iterator[str]:
    """A user's app with the contract locked by ``TOKEN``, on a loopback port."""
    with serve_in_thread(_app(token=TOKEN), graceful_s=0.5) as base:
        yield base


async def _status(url: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
    async with aiohttp.ClientSession() as session, session.get(url, headers=headers) as answer:
        return answer.status, await answer.text()


@pytest.mark.parametrize("path", ["/_contract", "/_observe/streams", "/_observe/streams/1"])
async def test_a_locked_contract_refuses_a_request_without_its_token(
    locked: str, path: str
) -> None:
    status, body = await _status(locked + path)
    assert status == 403
    assert TOKEN_HEADER in body and "needs" in body
    status, body = await _status(locked + path, {TOKEN_HEADER: TOKEN + "x"})
    assert status == 403
    assert "does not match" in body
    assert TOKEN not in body


async def test_a_locked_contract_refuses_a_script_without_its_token(locked: str) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.post(locked + "/_script", json=HELD) as answer:
            assert answer.status == 403
        async with session.post(
            locked + "/_script", json=HELD, headers={"Authorization": f"Bearer {TOKEN}"}
        ) as answer:
            assert answer.status == 403, "the token goes in its own header only"
        steps = {"steps": [{"event": {"data": "hi", "id": "1"}}]}
        async with session.post(
            locked + "/_script", json=steps, headers={TOKEN_HEADER: TOKEN}
        ) as answer:
            assert answer.status == 200
            assert await answer.read() == b"id: 1\ndata: hi\n\n"
        async with session.get(locked + "/_contract", headers={TOKEN_HEADER: TOKEN}) as answer:
            assert (await answer.json())["limits"]["max_streams"] == 64


def _by_outcome(results: list[tuple[str, Outcome, str]]) -> set[Outcome]:
    return {outcome for _, outcome, _ in results}


async def _scripted_cases(target: Target) -> list[tuple[str, Outcome, str]]:
    run = await run_cases(target, pattern="server.script.*")
    return [(r.case.id, r.outcome, str(r.evidence["next_step"])) for r in run.results]


async def test_the_scripted_cases_run_with_the_token_and_say_how_without_it(locked: str) -> None:
    with_token = await _scripted_cases(Target(locked + "/", contract_token=TOKEN))
    assert len(with_token) == 10
    assert _by_outcome(with_token) == {Outcome.OK}, with_token
    without = await _scripted_cases(Target(locked + "/", contract_token=None))
    assert _by_outcome(without) == {Outcome.UNIMPLEMENTED}
    for _, _, step in without:
        assert "--contract-token TOKEN (pytest: --sse-contract-token)" in step
        assert TOKEN_ENV in step
    wrong = await _scripted_cases(Target(locked + "/", contract_token="guess"))
    assert _by_outcome(wrong) == {Outcome.UNIMPLEMENTED}
    assert all("the one sent was refused" in step for _, _, step in wrong)


def test_the_target_takes_its_token_from_the_environment_and_never_shows_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    for target in (Target("http://127.0.0.1:1/"), request_target("http://127.0.0.1:1/")):
        assert target.contract_token == TOKEN
        assert target.contract_auth() == {TOKEN_HEADER: TOKEN}
        assert TOKEN not in repr(target) and TOKEN not in str(target.describe())
        assert TOKEN_HEADER not in target.request_headers(), "the stream never gets the token"
    given = request_target("http://127.0.0.1:1/", contract_token="flag")
    assert given.contract_token == "flag"
    monkeypatch.delenv(TOKEN_ENV)
    assert Target("http://127.0.0.1:1/").contract_auth() == {}


async def _get(
    app: FastAPI, client: str, path: str = "/_contract", **headers: str
) -> httpx.Response:
    transport = httpx.ASGITransport(app=app, client=(client, 50_000))
    async with httpx.AsyncClient(transport=transport, base_url="http://app.test") as http:
        return await http.get(path, headers=headers)


@pytest.mark.parametrize("peer", ["192.0.2.1", "2001:db8::1", "::ffff:192.0.2.1", "testclient"])
async def test_without_a_token_a_client_elsewhere_is_refused(peer: str) -> None:
    app = _app()
    for path in ("/_contract", "/_observe/streams"):
        answer = await _get(app, peer, path)
        assert answer.status_code == 403
        assert answer.json()["detail"] == LOOPBACK_ONLY.format(client=peer)
        assert "answers only loopback clients unless make_router(token=...) is set" in answer.text


@pytest.mark.parametrize("peer", ["127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1"])
async def test_without_a_token_loopback_clients_are_served(peer: str) -> None:
    answer = await _get(_app(), peer)
    assert answer.status_code == 200
    assert answer.json()["contract"] == "sse-harness/1"


async def test_a_token_in_the_environment_locks_loopback_too(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    app = _app()  # read when the router is made
    assert (await _get(app, "127.0.0.1")).status_code == 403
    assert (await _get(app, "192.0.2.1", **{TOKEN_HEADER: TOKEN})).status_code == 200
    monkeypatch.delenv(TOKEN_ENV)
    assert (await _get(app, "127.0.0.1")).status_code == 403, "the router keeps its token"


def test_a_cap_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="max_streams must be 1 or more"):
        make_router(max_streams=0)


async def _until_admitted(
    session: aiohttp.ClientSession, url: str, script: dict[str, Any]
) -> aiohttp.ClientResponse:
    """POST ``script`` until a slot is free: a bounded poll of the server's own answer, since a
    slot comes back when the server has finished the stream, a moment after the client sees
    it end."""
    deadline = time.monotonic() + 10
    while True:
        answer = await session.post(url, json=script)
        if answer.status != 429 or time.monotonic() > deadline:
            return answer
        answer.release()
        await asyncio.sleep(0.02)


async def test_scripted_streams_past_the_cap_get_429_until_one_ends() -> None:
    with serve_in_thread(_app(max_streams=3), graceful_s=0.5) as base:
        url = base + "/_script"
        async with aiohttp.ClientSession() as session:
            held = [await session.post(url, json=HELD) for _ in range(3)]
            assert [r.status for r in held] == [200, 200, 200]
            async with session.post(url, json=HELD) as refused:
                assert refused.status == 429
                assert "3 scripted streams are running" in (await refused.json())["detail"]
                assert 1 <= int(refused.headers["Retry-After"]) <= 20
            async with session.post(url, json=SHORT) as short:
                assert short.status == 429, "the cap counts streams, not their length"

            held[0].close()  # a client that leaves frees its slot...
            async with await _until_admitted(session, url, SHORT) as short:
                assert short.status == 200
                assert await short.read() == b": x\n\n"
            # ...and so does a stream that ends: the short one's slot is free again.
            replacement = await _until_admitted(session, url, HELD)
            assert replacement.status == 200
            assert STREAM_ID_HEADER in replacement.headers
            async with session.post(url, json=HELD) as full:
                assert full.status == 429, "three streams hold the three slots again"
            for answer in [*held, replacement]:
                answer.close()
