"""The server suite over TLS and HTTP/2: the reference server under hypercorn (ALPN h2, and h2c
with prior knowledge) grades clean, the protocol lands in the report, and what only HTTP/2 can
show (connection-specific headers as a MUST, reset codes, multiplexing) is graded from the wire.

The kill matrix over HTTP/2 lives in tests/test_kill_matrix.py with the HTTP/1.1 one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import h2.config
import h2.connection
import h2.events
import pytest
from h2.errors import ErrorCodes

from harness.commands.check import DEFAULT_PATH
from harness.commands.reach import unreachable
from harness.server.check import CheckOptions, run_check
from harness.server.negotiate import open_transport
from harness.server.probe import Window, capture
from harness.server.target import Target
from harness.server.transport import http1_session
from reference_server.launch import serve_subprocess

QUICK = Window(max_events=40, max_seconds=8.0)


@pytest.fixture(scope="module")
def h2_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    folder = tmp_path_factory.mktemp("tls")
    flags = ("--no-access-log", "--http2", "--tls", "--tls-dir", str(folder), "--keepalive-s", "1")
    with serve_subprocess(flags) as process:
        yield process.url, str(folder / "ca.pem")


@pytest.fixture(scope="module")
def h2c_server() -> Iterator[str]:
    with serve_subprocess(("--no-access-log", "--http2")) as process:
        yield process.url


def _summary(target: Target, cases: str | None = None) -> dict[str, Any]:
    return run_check(CheckOptions(target=target, cases=cases, window=QUICK, write=False)).report


@pytest.mark.timeout(90)
def test_the_clean_reference_server_passes_every_case_over_http2(
    h2_server: tuple[str, str],
) -> None:
    url, ca = h2_server
    report = _summary(Target(url + DEFAULT_PATH, resumable=True, cafile=ca))
    assert report["target"]["http_version"] == "HTTP/2"
    bad = [
        (c["id"], c["outcome"], c["evidence"]["observed"])
        for c in report["cases"]
        if c["outcome"] in ("FAILED", "ERROR", "NON-STRICT", "UNIMPLEMENTED")
    ]
    assert bad == []


@pytest.mark.timeout(90)
def test_the_mcp_profile_speaks_http2(h2_server: tuple[str, str]) -> None:
    """The MCP profile opens its session and streams over the run's HTTP/2 connection: the
    MCP cases and the generic ones on its streams (headers.7 among them) pass."""
    url, ca = h2_server
    cases = "server.mcp,server.headers,server.framing"
    report = _summary(Target(url + "/mcp", cafile=ca, profile="mcp"), cases)
    assert report["target"]["http_version"] == "HTTP/2"
    outcomes = {c["id"]: c["outcome"] for c in report["cases"]}
    assert outcomes["server.headers.7"] == "OK" and outcomes["server.mcp.9"] == "OK"
    assert not [i for i, o in outcomes.items() if o in ("FAILED", "ERROR", "NON-STRICT")]


def test_connection_header_over_http2_is_a_must_failure(h2_server: tuple[str, str]) -> None:
    url, ca = h2_server
    target = Target(url + "/counter?count=3&interval_ms=10&fault=connection_header", cafile=ca)
    report = _summary(target, "server.headers.6,server.headers.7")
    found = {c["id"]: c for c in report["cases"]}
    assert found["server.headers.7"]["outcome"] == "FAILED"
    assert "connection: keep-alive" in found["server.headers.7"]["evidence"]["observed"]
    assert found["server.headers.6"]["outcome"] == "NON-STRICT"


def test_http2_only_cases_are_unimplemented_over_http1(h2_server: tuple[str, str]) -> None:
    url, ca = h2_server
    target = Target(url + DEFAULT_PATH, cafile=ca, http="1.1")
    report = _summary(target, "server.headers.7,server.capacity.2,server.status.1")
    assert report["target"]["http_version"] == "HTTP/1.1"
    outcomes = {c["id"]: c["outcome"] for c in report["cases"]}
    assert outcomes == {
        "server.status.1": "OK",
        "server.headers.7": "UNIMPLEMENTED",
        "server.capacity.2": "UNIMPLEMENTED",
    }


def test_an_abort_mid_stream_is_graded(h2_server: tuple[str, str]) -> None:
    """hypercorn drops the whole connection (no GOAWAY, no RST_STREAM) when the app fails."""
    url, ca = h2_server
    target = Target(url + "/counter?count=10&interval_ms=10&fault=status_500_midstream", cafile=ca)
    report = _summary(target, "server.close.1")
    (case,) = report["cases"]
    assert case["outcome"] == "NON-STRICT"
    assert "no GOAWAY, no RST_STREAM" in case["evidence"]["observed"]


async def _h2_server_that_ends_streams_with(end: str) -> tuple[asyncio.Server, str]:
    """A bare h2 server: headers, one event, then ``end`` ("rst" or "goaway") with an error."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False))
        conn.initiate_connection()
        writer.write(conn.data_to_send())
        while data := await reader.read(1 << 16):
            for event in conn.receive_data(data):
                if isinstance(event, h2.events.RequestReceived):
                    sid = event.stream_id
                    head = [(":status", "200"), ("content-type", "text/event-stream")]
                    conn.send_headers(sid, head)
                    conn.send_data(sid, b"data: 1\n\ndata: cut")
                    if end == "rst":
                        conn.reset_stream(sid, ErrorCodes.INTERNAL_ERROR)
                    else:
                        conn.close_connection(ErrorCodes.ENHANCE_YOUR_CALM, last_stream_id=sid)
            writer.write(conn.data_to_send())
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    return server, f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/"


@pytest.mark.parametrize(
    ("end", "named"), [("rst", "RST_STREAM INTERNAL_ERROR"), ("goaway", "GOAWAY ENHANCE_YOUR_CALM")]
)
async def test_reset_and_goaway_are_named_with_their_codes(end: str, named: str) -> None:
    server, url = await _h2_server_that_ends_streams_with(end)
    async with server:
        target = Target(url, http="2")
        async with http1_session(target) as session:
            transport = await open_transport(target, 5, session)
            cap = await capture(transport, url, window=Window(max_events=5, max_seconds=5))
            await transport.aclose()
    assert cap.end == "aborted"
    assert named in cap.error
    assert [e.event.data for e in cap.events] == ["1"]


def test_h2c_with_prior_knowledge(h2c_server: str) -> None:
    target = Target(h2c_server + DEFAULT_PATH, resumable=True, http="2")
    report = _summary(target, "server.status.1,server.framing.7,server.headers.7")
    assert report["target"]["http_version"] == "HTTP/2"
    outcomes = {c["id"]: c["outcome"] for c in report["cases"]}
    assert outcomes["server.status.1"] == outcomes["server.headers.7"] == "OK"
    assert set(outcomes.values()) <= {"OK", "INFORMATIONAL"}


def test_reach_names_an_untrusted_certificate(h2_server: tuple[str, str]) -> None:
    url, ca = h2_server
    assert unreachable(Target(url + DEFAULT_PATH, cafile=ca)) is None
    assert unreachable(Target(url + DEFAULT_PATH, insecure=True, http="2")) is None
    problem = unreachable(Target(url + DEFAULT_PATH), timeout=5)
    assert problem is not None and "certificate" in problem


def test_a_server_without_http2_fails_reach_when_http2_is_forced(tmp_path: Path) -> None:
    with serve_subprocess(("--no-access-log", "--tls", "--tls-dir", str(tmp_path))) as process:
        target = Target(process.url + DEFAULT_PATH, cafile=str(tmp_path / "ca.pem"), http="2")
        problem = unreachable(target, timeout=5)
        assert problem is not None and "h2" in problem
        # "auto" falls back to HTTP/1.1 over TLS (uvicorn offers no h2 by ALPN).
        auto = Target(process.url + DEFAULT_PATH, cafile=str(tmp_path / "ca.pem"))
        assert unreachable(auto) is None

        async def version() -> str:
            async with http1_session(auto) as session:
                transport = await open_transport(auto, 5, session)
                cap = await capture(transport, auto.url, window=Window(max_events=1))
                await transport.aclose()
                return cap.http_version

        assert asyncio.run(version()) == "1.1"
