"""The suite's own acceptance test: clean reference server passes, and every fault is caught by
exactly the cases pinned in ``harness.server.killmatrix.EXPECTED``, with the pinned outcomes.

The reference server runs as a separate process (real uvicorn, loopback), so timing cases are
not disturbed by the client sharing its interpreter.
"""

from __future__ import annotations

import asyncio
import json
import ssl
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.server.cases import load_catalog
from harness.server.check import write_conformance
from harness.server.killmatrix import (
    EXPECTED,
    EXPECTED_HTTP2,
    EXPECTED_MCP,
    SERVER_FLAGS,
    UNSTABLE_HTTP2,
    format_matrix,
    matrix,
    run_kill_matrix,
    unproven,
)
from reference_server.faults import FAULTS
from reference_server.launch import serve_subprocess
from reference_server.mcp import MCP_FAULTS


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with serve_subprocess(SERVER_FLAGS) as process:
        yield process.url


@pytest.fixture(scope="module")
def server_http2(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """The same server under hypercorn over TLS (HTTP/2 by ALPN), and its CA file."""
    folder = tmp_path_factory.mktemp("tls")
    flags = (*SERVER_FLAGS, "--no-access-log", "--http2", "--tls", "--tls-dir", str(folder))
    with serve_subprocess(flags) as process:
        yield process.url, str(folder / "ca.pem")


def test_every_case_is_either_pinned_to_a_fault_or_listed_with_a_reason() -> None:
    assert set(EXPECTED) == set(FAULTS) == set(EXPECTED_HTTP2)
    assert set(EXPECTED_MCP) == set(MCP_FAULTS)
    pinned_sets = (EXPECTED, EXPECTED_HTTP2, EXPECTED_MCP)
    caught = {case for pinned in pinned_sets for row in pinned.values() for case, _ in row}
    assert caught.isdisjoint(unproven())
    assert caught | set(unproven()) == set(load_catalog())


@pytest.mark.timeout(300)
def test_the_kill_matrix_is_exactly_the_pinned_one(server: str) -> None:
    with urllib.request.urlopen(server + "/faults", timeout=5) as answer:
        faults = json.load(answer)
    clean, rows = asyncio.run(run_kill_matrix(server, faults))
    print("\n" + format_matrix(rows))
    report = clean.as_json()
    write_conformance(report, Path("reports") / "kill-matrix", kill_matrix=rows)

    bad = [
        (c["id"], c["outcome"], c["evidence"]["observed"])
        for c in report["cases"]
        if c["outcome"] in ("FAILED", "ERROR", "NON-STRICT")
    ]
    assert bad == [], "the clean reference server must pass every case"
    assert matrix(rows) == EXPECTED, format_matrix(rows)


@pytest.mark.timeout(300)
def test_the_kill_matrix_over_http2_is_exactly_the_pinned_one(
    server_http2: tuple[str, str],
) -> None:
    url, cafile = server_http2
    context = ssl.create_default_context(cafile=cafile)
    with urllib.request.urlopen(url + "/faults", timeout=5, context=context) as answer:
        faults = json.load(answer)
    clean, rows = asyncio.run(run_kill_matrix(url, faults, cafile=cafile))
    print("\n" + format_matrix(rows))
    report = clean.as_json()
    write_conformance(report, Path("reports") / "kill-matrix-http2", kill_matrix=rows)

    assert report["target"]["http_version"] == "HTTP/2"
    bad = [
        (c["id"], c["outcome"], c["evidence"]["observed"])
        for c in report["cases"]
        if c["outcome"] in ("FAILED", "ERROR", "NON-STRICT", "UNIMPLEMENTED")
    ]
    assert bad == [], "the clean reference server must pass every case over HTTP/2"
    assert matrix(rows, UNSTABLE_HTTP2) == EXPECTED_HTTP2, format_matrix(rows)


@pytest.mark.timeout(300)
def test_the_mcp_kill_matrix_is_exactly_the_pinned_one(server: str) -> None:
    """The reference server's /mcp (the official MCP SDK) passes the profile clean, and each of
    its faults is caught by the server.mcp case that owns the fault's rule."""
    with urllib.request.urlopen(server + "/faults/mcp", timeout=5) as answer:
        faults = json.load(answer)
    clean, rows = asyncio.run(run_kill_matrix(server, faults, profile="mcp"))
    print("\n" + format_matrix(rows))
    report = clean.as_json()
    write_conformance(report, Path("reports") / "kill-matrix-mcp", kill_matrix=rows)

    assert report["target"]["profile"] == "mcp"
    bad = [
        (c["id"], c["outcome"], c["evidence"]["observed"])
        for c in report["cases"]
        if c["outcome"] in ("FAILED", "ERROR", "NON-STRICT")
    ]
    assert bad == [], "the clean /mcp must pass every case"
    assert matrix(rows) == EXPECTED_MCP, format_matrix(rows)
