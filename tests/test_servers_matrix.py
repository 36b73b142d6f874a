"""The server-library matrix: a CI subset of real apps on loopback, and its page.

``test_matrix_subset`` runs the matrix for two Python libraries (FastAPI's own ``fastapi.sse``
and sse-starlette, both dependencies of the harness) and one Node one (plain express, installed
on first use from the shipped lock), each app in its own process on its own server, graded by
the real ``check``; every verdict that is not OK is named below with what the library really
does (docs/servers.md shows the evidence). The rest are fast: usage errors, a library that cannot
run, an app that fails to start, and the pure renderers on a hand-made ``servers.json``.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from harness.clients.errors import Unavailable
from harness.report.servers_breaks import what_breaks, what_to_change
from harness.report.servers_markdown import render_markdown
from harness.servers import ServersOptions, run_servers
from harness.servers.catalog import LIBRARIES
from harness.servers.launch import python_argv, start

SUBSET = ["fastapi.sse", "sse-starlette", "express"]

#: What the subset really gets besides OK, INFORMATIONAL and the UNIMPLEMENTED cases that need
#: HTTP/2 or the scripting contract (which no app mounts).
BREACHES = {
    # Sends Connection: keep-alive itself: redundant over HTTP/1.1, an error over HTTP/2.
    "sse-starlette": {"server.headers.6": "NON-STRICT"},
    "fastapi.sse": {},
    # Plain express sets the headers by hand (as tutorials do, Connection: keep-alive included)
    # and nothing pings an idle stream: silent past the 20 s bound.
    "express": {
        "server.headers.4": "NON-STRICT",
        "server.headers.6": "NON-STRICT",
        "server.keepalive.1": "NON-STRICT",
    },
}


@pytest.fixture(scope="module")
def subset(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    if shutil.which("npm") is None:
        pytest.skip("node and npm are not installed")
    folder = tmp_path_factory.mktemp("servers")
    options = ServersOptions(
        servers=SUBSET, report_dir=folder, markdown=folder / "page.md", jobs=len(SUBSET)
    )
    result = run_servers(options)
    assert result.unavailable == {}
    return result.report


def _needs(*modules: str) -> None:
    """Skip unless the ``servers`` extra provides these (found, not imported: the apps import
    them in their own processes, configured)."""
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        pytest.skip(f"the servers extra is not installed ({', '.join(missing)})")


def _graded(tmp_path: Path, names: list[str], cases: str) -> dict[str, Any]:
    """A few cases of a few libraries, each app in its own process as the full matrix runs it."""
    options = ServersOptions(servers=names, cases=cases, report_dir=tmp_path, jobs=len(names))
    result = run_servers(options)
    assert result.unavailable == {}
    return result.report


def _cells(report: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(r["library"], r["case"]): r for r in report["results"]}


@pytest.mark.timeout(300)
def test_matrix_subset(subset: dict[str, Any]) -> None:
    cells = _cells(subset)
    assert [lib["name"] for lib in subset["libraries"]] == SUBSET
    for lib in subset["libraries"]:
        assert lib["available"] and lib["version"] and lib["http_version"] == "HTTP/1.1"
        name = lib["name"]
        breaches = {
            case: row["outcome"]
            for (library, case), row in cells.items()
            if library == name and row["outcome"] in ("FAILED", "NON-STRICT", "ERROR")
        }
        assert breaches == BREACHES[name], (name, breaches)
        # Every app resumes from Last-Event-ID, and every id arrives.
        for case in ("server.resume.1", "server.resume.2", "server.ids.1", "server.status.1"):
            assert cells[(name, case)]["outcome"] == "OK", (name, case, cells[(name, case)])
        assert cells[(name, "server.keepalive.1")]["route"] == "/idle"
        assert cells[(name, "server.http.1")]["outcome"] == "OK"
        assert cells[(name, "server.script.1")]["outcome"] == "UNIMPLEMENTED"
    # The Python libraries ping an idle stream every 15 s, under the 20 s bound.
    for name in ("fastapi.sse", "sse-starlette"):
        assert cells[(name, "server.keepalive.1")]["outcome"] == "OK"
    keepalive = cells[("express", "server.keepalive.1")]
    assert "0 comment chunks" in keepalive["observed"]
    assert "comment line" in keepalive["next_step"]


@pytest.mark.timeout(120)
def test_http2_rows_are_graded_over_h2c(tmp_path: Path) -> None:
    _needs("quart", "gunicorn", "h2")
    names = ["quart (HTTP/2)", "flask-gevent (HTTP/2)"]
    report = _graded(tmp_path, names, "server.status.1,server.headers.6,server.headers.7")
    cells = _cells(report)
    for lib in report["libraries"]:
        assert lib["http_version"] == "HTTP/2", lib
        # Only a run over HTTP/2 grades headers.7 (UNIMPLEMENTED over HTTP/1.1).
        for case in ("server.status.1", "server.headers.6", "server.headers.7"):
            assert cells[(lib["name"], case)]["outcome"] == "OK", cells[(lib["name"], case)]
    # A slash in a library's name does not make a folder of its log.
    assert {p.name for p in (tmp_path / "logs").iterdir()} == {
        "quart-HTTP-2.log",
        "flask-gevent-HTTP-2.log",
    }


@pytest.mark.timeout(120)
def test_django_eventstream_resumes_from_its_storage(tmp_path: Path) -> None:
    _needs("django_eventstream", "daphne")
    report = _graded(tmp_path, ["django-eventstream"], "server.ids.1,server.resume.1")
    cells = _cells(report)
    (lib,) = report["libraries"]
    assert lib["server"] == "daphne" and "never end" in lib["note"]
    assert cells[("django-eventstream", "server.ids.1")]["outcome"] == "OK"
    resume = cells[("django-eventstream", "server.resume.1")]
    # The library's ids name the channel; the events after the one named come from storage.
    assert resume["outcome"] == "OK" and "Last-Event-ID: stream:" in resume["observed"], resume


def test_subset_page(subset: dict[str, Any], tmp_path: Path) -> None:
    page = render_markdown(subset)
    assert page.startswith("# SSE server-library matrix")
    express = page.split("### express", 1)[1].split("###", 1)[0]
    assert "- NON-STRICT **S-16**" in express and "`server.keepalive.1`" in express
    assert "What to change in the app:" in express
    fastapi = page.split("### fastapi.sse", 1)[1].split("###", 1)[0]
    assert "Nothing: no FAILED or NON-STRICT case." in fastapi


def _document() -> dict[str, Any]:
    """A two-library ``servers.json``: one with breaches, one that could not run."""
    cases = [
        {"id": "server.headers.3", "title": "t", "rules": ["S-20"], "level": "PRACTICE"},
        {"id": "server.framing.1", "title": "t", "rules": ["S-04", "S-05"], "level": "MUST"},
        {"id": "server.keepalive.1", "title": "t", "rules": ["S-16"], "level": "ADVICE"},
    ]
    libraries = [
        {
            "name": "lib",
            "version": "1.0",
            "versions": {"lib": "1.0"},
            "server": "uvicorn",
            "available": True,
            "reason": "",
            "http_version": "HTTP/1.1",
            "app": "a",
            "note": "Its streams never end.",
        },
        {
            "name": "gone",
            "version": "",
            "versions": {},
            "server": "node",
            "available": False,
            "reason": "node and npm are not installed",
            "http_version": "",
            "app": "g.mjs",
        },
    ]

    def row(library: str, case: str, outcome: str, step: str = "") -> dict[str, str]:
        return {
            "library": library,
            "case": case,
            "route": "/stream",
            "outcome": outcome,
            "observed": "seen",
            "next_step": step,
        }

    results = [
        row("lib", "server.headers.3", "NON-STRICT", "send Cache-Control: no-cache"),
        row("lib", "server.framing.1", "FAILED", "encode as UTF-8"),
        row("lib", "server.keepalive.1", "NON-STRICT", "send Cache-Control: no-cache"),
        *(row("gone", c["id"], "UNIMPLEMENTED") for c in cases),
    ]
    return {
        "schema_version": 1,
        "started": "2026-01-01T00:00:00+00:00",
        "duration_s": 1.0,
        "idle_cases": ["server.keepalive.1"],
        "cases": cases,
        "libraries": libraries,
        "results": results,
    }


def test_what_breaks_orders_failed_first_then_rules() -> None:
    breaks = what_breaks(_document())
    assert [(b.outcome, b.rule, b.cases) for b in breaks["lib"]] == [
        ("FAILED", "S-04", ("server.framing.1",)),
        ("NON-STRICT", "S-16", ("server.keepalive.1",)),
        ("NON-STRICT", "S-20", ("server.headers.3",)),
    ]
    assert breaks["lib"][0].sentence.startswith("The body is UTF-8")
    assert breaks["gone"] == []
    fixes = what_to_change(_document())["lib"]
    assert [(f.step, f.cases) for f in fixes] == [
        ("send Cache-Control: no-cache", ("server.headers.3", "server.keepalive.1")),
        ("encode as UTF-8", ("server.framing.1",)),
    ]


def test_page_counts_and_unavailable_library() -> None:
    page = render_markdown(_document())
    assert "| lib | lib 1.0 | uvicorn | HTTP/1.1 | 0 | 2 | 0 | 1 | 0 | 0 |" in page
    assert (
        "| gone | not available: node and npm are not installed | node | - "
        "| 0 | 0 | 0 | 0 | 3 | 0 |" in page
    )
    assert "### gone\n\nNot run: node and npm are not installed" in page
    assert "### lib 1.0\n\nIts streams never end.\n\n- FAILED **S-04**" in page
    assert "| `server.framing.1` t | S-04 S-05 | FAIL | - |" in page


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "harness", "servers", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


def test_unknown_library_exits_2(tmp_path: Path) -> None:
    done = _cli("--servers", "express,nope", "--report-dir", str(tmp_path))
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "sse-harness servers: unknown server library: nope (known: "
        + ", ".join(lib.name for lib in LIBRARIES)
        + ")"
    ]


def test_named_library_that_cannot_run_exits_2(tmp_path: Path) -> None:
    # No node or npm on PATH: express cannot install, so it is UNIMPLEMENTED and, named, exits 2.
    env = {
        **os.environ,
        "PATH": str(Path(sys.executable).parent),
        "SSE_HARNESS_CACHE": str(tmp_path / "cache"),
    }
    done = _cli("--servers", "express", "--report-dir", str(tmp_path), "-q", env=env)
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip() == (
        "sse-harness servers: express could not run: node and npm are not installed"
        " (Debian: apt-get install nodejs npm)"
    )
    assert "Not run: node and npm are not installed" in (tmp_path / "servers.md").read_text()


def test_app_that_fails_to_import_is_unavailable(tmp_path: Path) -> None:
    with pytest.raises(Unavailable, match=r"exited before it listened: ModuleNotFoundError"):
        start(python_argv("no_such_app", "uvicorn"), tmp_path / "app.log")
    assert "ModuleNotFoundError" in (tmp_path / "app.log").read_text()
