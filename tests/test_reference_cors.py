"""CORS on the reference server (issue 24): it names a page's origin, with credentials, only for
origins its user trusts (by default this machine's pages and ``null``), plus the harness's own
test origin on the stream endpoints, where the CORS cases need it (S-19)."""

from __future__ import annotations

import aiohttp
import pytest

from harness.outcome import Outcome
from harness.server.cases.http import ORIGIN
from harness.server.runner import run_cases
from harness.server.target import CROSS_ORIGIN, Target
from reference_server.app import create_app
from reference_server.launch import serve_in_thread
from reference_server.settings import Settings, origin_pattern

pytestmark = pytest.mark.timeout(60)

STREAM = "/counter?count=2&interval_ms=5"


async def _allowed(url: str, origin: str, *, preflight: bool = True) -> str | None:
    """The Access-Control-Allow-Origin a page at ``origin`` gets (None: the page may not read)."""
    headers = {"Origin": origin}
    if preflight:
        headers |= {
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "last-event-id",
        }
    async with (
        aiohttp.ClientSession() as session,
        session.request("OPTIONS" if preflight else "GET", url, headers=headers) as answer,
    ):
        value = answer.headers.get("Access-Control-Allow-Origin")
        if value is not None:
            assert answer.headers["Access-Control-Allow-Credentials"] == "true"
            assert value == origin, "an allowed origin is named, never a wildcard"
        return value


@pytest.mark.parametrize(
    "origin",
    ["http://127.0.0.1:5173", "http://localhost:3000", "http://localhost", "http://[::1]:8080",
     "null", CROSS_ORIGIN],
)  # fmt: skip
async def test_this_machine_s_pages_and_the_harness_may_read_a_stream(
    reference_server_url: str, origin: str
) -> None:
    assert await _allowed(reference_server_url + STREAM, origin) == origin
    assert await _allowed(reference_server_url + STREAM, origin, preflight=False) == origin


@pytest.mark.parametrize(
    "origin",
    ["https://evil.example", "http://127.0.0.1.evil.example:80", "http://localhost.evil.example",
     "https://localhost:3000", "http://cross-origin.sse-harness.test.evil.example"],
)  # fmt: skip
async def test_other_origins_get_no_allow_origin(reference_server_url: str, origin: str) -> None:
    assert await _allowed(reference_server_url + STREAM, origin) is None
    assert await _allowed(reference_server_url + STREAM, origin, preflight=False) is None


@pytest.mark.parametrize("path", ["/_contract", "/_observe/streams", "/faults", "/openapi.json"])
async def test_the_harness_origin_is_for_the_streams_only(
    reference_server_url: str, path: str
) -> None:
    url = reference_server_url + path
    assert await _allowed(url, CROSS_ORIGIN, preflight=False) is None
    assert await _allowed(url, "http://localhost:3000", preflight=False) == "http://localhost:3000"


async def test_configured_origins_replace_the_defaults() -> None:
    app = create_app(Settings(), cors_origins=["https://app.example", "http://dev.test:*"])
    with serve_in_thread(app) as base:
        url = base + STREAM
        assert await _allowed(url, "https://app.example") == "https://app.example"
        assert await _allowed(url, "http://dev.test:8080") == "http://dev.test:8080"
        assert await _allowed(url, "http://localhost:3000") is None
        assert await _allowed(url, "null") is None
        assert await _allowed(url, CROSS_ORIGIN) == CROSS_ORIGIN
        assert await _allowed(base + "/faults", "https://app.example", preflight=False)


async def test_the_cors_cases_pass_on_the_reference_server(reference_server_url: str) -> None:
    run = await run_cases(Target(reference_server_url + STREAM), pattern="server.cors.*")
    assert {r.case.id: r.outcome for r in run.results} == {
        "server.cors.1": Outcome.OK,
        "server.cors.2": Outcome.OK,
    }


def test_the_cases_send_the_origin_the_server_allows() -> None:
    assert ORIGIN == CROSS_ORIGIN


@pytest.mark.parametrize(
    "bad", ["https://app.example/", "app.example", "ftp://app.example", "https://a.example:x", "*"]
)
def test_a_malformed_origin_is_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="is not an origin"):
        origin_pattern([bad])
    assert origin_pattern([]) is None
