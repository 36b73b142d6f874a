"""The suite's own acceptance test: clean reference server passes, every fault is caught.

The reference server runs as a separate process (real uvicorn, loopback), so timing cases are
not disturbed by the client sharing its interpreter.
"""

from __future__ import annotations

import asyncio
import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.server.check import write_conformance
from harness.server.killmatrix import SERVER_FLAGS, format_matrix, run_kill_matrix
from reference_server.launch import serve_subprocess


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with serve_subprocess(SERVER_FLAGS) as process:
        yield process.url


@pytest.mark.timeout(300)
def test_every_fault_is_caught_by_the_case_that_owns_its_rule(server: str) -> None:
    with urllib.request.urlopen(server + "/faults", timeout=5) as answer:
        faults = json.load(answer)
    assert len(faults) >= 20
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
    uncaught = [r["fault"] for r in rows if not r["caught_by"]]
    assert uncaught == [], f"faults no case catches:\n{format_matrix(rows)}"
