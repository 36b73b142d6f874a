"""The MCP profile's plumbing: credentials, the revision it offers, the legacy transport, and
what the command line refuses. The cases' verdicts on faults are the kill matrix's
(tests/test_kill_matrix.py); on real servers, tests/test_mcp_real_servers.py's."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.types import Receive, Scope, Send

from harness.server.check import CheckOptions, run_check
from harness.server.probe import Window
from harness.server.target import Target
from reference_server.app import create_app
from reference_server.launch import serve_in_thread

QUICK = Window(max_events=40, max_seconds=5.0)
SECRET = "Bearer s3cret-mcp-token"


def _grade(target: Target, cases: str = "server.mcp") -> dict[str, Any]:
    return run_check(CheckOptions(target=target, cases=cases, window=QUICK, write=False)).report


def _outcomes(report: dict[str, Any]) -> dict[str, str]:
    return {c["id"]: c["outcome"] for c in report["cases"]}


class _NeedsToken:
    """The reference server behind a bearer token, as a hosted MCP server is."""

    def __init__(self) -> None:
        self.app = create_app()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = dict(scope["headers"])
            if headers.get(b"authorization", b"").decode() != SECRET:
                await send({"type": "http.response.start", "status": 401, "headers": []})
                await send({"type": "http.response.body", "body": b"token required"})
                return
        await self.app(scope, receive, send)


@pytest.fixture(scope="module")
def locked() -> Iterator[str]:
    with serve_in_thread(_NeedsToken()) as base:
        yield base + "/mcp"


def test_the_profile_sends_the_given_headers_and_keeps_them_out_of_the_report(
    locked: str,
) -> None:
    report = _grade(Target(locked, profile="mcp", headers=(("Authorization", SECRET),)))
    outcomes = _outcomes(report)
    assert outcomes["server.mcp.1"] == "OK" and outcomes["server.mcp.9"] == "OK"
    assert "s3cret" not in str(report)


def test_a_refused_initialize_names_the_credential_not_a_breach(locked: str) -> None:
    report = _grade(Target(locked, profile="mcp"))
    first = next(c for c in report["cases"] if c["id"] == "server.mcp.1")
    assert first["outcome"] == "INFORMATIONAL"
    assert "401" in first["evidence"]["observed"]
    assert "--header" in first["evidence"]["next_step"]
    # Nothing else can run without a session, and each says why.
    rest = [c for c in report["cases"] if c["id"] != "server.mcp.1"]
    assert {c["outcome"] for c in rest} == {"UNIMPLEMENTED"}
    assert not [c for c in rest if not c["evidence"]["observed"]]


def test_the_stateless_revision_runs_its_own_cases(reference_server_url: str) -> None:
    target = Target(reference_server_url + "/mcp", profile="mcp", mcp_version="2026-07-28")
    outcomes = _outcomes(_grade(target))
    assert outcomes["server.mcp.19"] == "OK" and outcomes["server.mcp.20"] == "OK"
    assert outcomes["server.mcp.13"] == "UNIMPLEMENTED"  # sessions are gone in that revision
    assert "FAILED" not in outcomes.values()


def test_a_legacy_endpoint_is_graded_as_the_legacy_transport(reference_server_url: str) -> None:
    report = _grade(Target(reference_server_url + "/mcp-legacy/sse", profile="mcp"))
    legacy = next(c for c in report["cases"] if c["id"] == "server.mcp.18")
    assert legacy["outcome"] == "OK", legacy["evidence"]
    assert "message" in legacy["evidence"]["observed"]


def test_the_sse_profile_runs_no_mcp_case(reference_server_url: str) -> None:
    report = _grade(Target(reference_server_url + "/counter?count=5&interval_ms=10"), "server")
    assert not [c for c in report["cases"] if c["id"].startswith("server.mcp.")]
    assert report["target"]["profile"] == "sse"


def test_a_load_probe_asked_of_the_mcp_profile_is_refused() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "harness", "check", "--profile", "mcp", "--load-users", "5"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "does not speak MCP yet" in done.stderr


def test_a_plain_event_stream_is_not_taken_for_a_legacy_mcp_server(
    reference_server_url: str,
) -> None:
    """A plain SSE URL given to the MCP profile by mistake refuses the initialize POST and opens
    a stream on GET, as a legacy server would; its first event names no URI, so it is graded as
    what it is (no MCP endpoint: the POST answer, with the URL to check), not as a legacy
    server that broke M-18."""
    report = _grade(Target(reference_server_url + "/counter?count=5&interval_ms=10", profile="mcp"))
    cases = {c["id"]: c for c in report["cases"]}
    assert cases["server.mcp.18"]["outcome"] == "UNIMPLEMENTED"
    assert cases["server.mcp.1"]["outcome"] == "FAILED"
    assert "405" in cases["server.mcp.1"]["evidence"]["observed"]
    assert "…/mcp" in cases["server.mcp.1"]["evidence"]["next_step"]
