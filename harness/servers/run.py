"""The server matrix's one entry point: grade every example app with ``check``, write the report.

For each library :func:`run_servers` starts its app (:mod:`.launch`), runs every case against
``/stream`` (declared resumable) and, side by side, the keep-alive and HEAD cases against
``/idle`` (:data:`IDLE_CASES`: a stream that sends nothing shows the library's keep-alive, and how
it answers HEAD on a stream that never ends), then stops it. A library's outcome for a case is
its ``/idle`` result for those two, its ``/stream`` result for the rest. A library whose packages
are not installed, or whose app does not start, is UNIMPLEMENTED in every case, with the reason.
Writes ``servers.json`` (:mod:`harness.report.servers`) and, when asked, the Markdown page.
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from harness.clients.errors import Unavailable
from harness.outcome import Outcome
from harness.server import CheckOptions, Target, run_check
from harness.server.cases import load_catalog, select
from harness.server.target import HttpChoice
from harness.servers.catalog import Library, by_name
from harness.servers.launch import RunningApp, python_argv, start
from harness.servers.node import NodeApps, prepare
from harness.servers.report import SCHEMA_VERSION, write_reports

__all__ = ["IDLE_CASES", "ServersOptions", "ServersResult", "run_servers"]

#: The cases graded against ``/idle`` instead of ``/stream``.
IDLE_CASES = ("server.keepalive.1", "server.http.1")

#: Called with each library's name and its result rows when it is done.
Progress = Callable[[str, list[dict[str, Any]]], None]


@dataclass(frozen=True, slots=True)
class ServersOptions:
    #: Library names (``harness.servers.catalog.LIBRARIES``); None: every library.
    servers: Sequence[str] | None = None
    #: Comma-separated globs or prefixes of case ids; None: every case.
    cases: str | None = None
    report_dir: Path = field(default_factory=lambda: Path("reports") / "servers")
    #: Also write the matrix as Markdown here (``docs/servers.md`` is made this way).
    markdown: Path | None = None
    #: Libraries graded side by side (1 is the calmest for the timing cases).
    jobs: int = 1
    progress: Progress | None = None


@dataclass(frozen=True, slots=True)
class ServersResult:
    #: The ``servers.json`` document.
    report: dict[str, Any]
    #: Library name -> why it could not run (its column is UNIMPLEMENTED).
    unavailable: dict[str, str]


def run_servers(options: ServersOptions) -> ServersResult:
    """Grade the libraries; :class:`ValueError` for an unknown name or a ``--cases`` pattern
    that selects nothing, before any app starts."""
    libraries = by_name(list(options.servers) if options.servers is not None else None)
    load_catalog()
    cases = select(options.cases)  # NoCaseMatched is a ValueError
    started, clock = datetime.now(UTC), time.monotonic()
    node: NodeApps | Unavailable | None = None
    if any(library.node for library in libraries):
        try:
            node = asyncio.run(prepare())
        except Unavailable as exc:
            node = exc

    def grade(library: Library) -> dict[str, Any]:
        column = _grade(library, options, node)
        if options.progress is not None:
            options.progress(library.name, column["results"])
        return column

    with ThreadPoolExecutor(max(1, options.jobs)) as pool:
        columns = list(pool.map(grade, libraries))
    report = {
        "schema_version": SCHEMA_VERSION,
        "started": started.isoformat(timespec="seconds"),
        "duration_s": round(time.monotonic() - clock, 1),
        "idle_cases": list(IDLE_CASES),
        "cases": [
            {"id": c.id, "title": c.title, "rules": list(c.rules), "level": c.level.value}
            for c in cases
        ],
        "libraries": [{k: v for k, v in c.items() if k != "results"} for c in columns],
        "results": [row for c in columns for row in c["results"]],
    }
    write_reports(report, options.report_dir, options.markdown)
    unavailable = {c["name"]: c["reason"] for c in columns if not c["available"]}
    return ServersResult(report, unavailable)


def _grade(library: Library, options: ServersOptions, node: Any) -> dict[str, Any]:
    column: dict[str, Any] = {
        "name": library.name,
        "server": library.server,
        "app": library.app,
        "available": False,
        "reason": "",
        "versions": {},
        "version": "",
        "http_version": "",
        "note": library.note,
    }
    try:
        column["versions"] = _versions(library, node)
        column["version"] = column["versions"][library.packages[0]]
        app = _start(library, node, options.report_dir / "logs" / library.log_name)
    except Unavailable as exc:
        column["reason"] = str(exc)
        column["results"] = _unimplemented(library.name, options.cases, str(exc))
        return column
    try:
        stream, idle = _check(app, options.cases, library.http2)
    finally:
        app.stop()
    column["available"] = True
    column["http_version"] = stream["target"]["http_version"]
    column["results"] = _merge(library.name, stream, idle)
    return column


def _versions(library: Library, node: Any) -> dict[str, str]:
    if library.node:
        if isinstance(node, Unavailable):
            raise node
        found = {p: node.version(p) for p in library.packages}
        hint = "the pinned npm install did not provide it"
    else:
        found = {p: _installed(p) for p in library.packages}
        hint = "pip install 'sse-harness[servers]'"
    missing = [p for p, v in found.items() if v is None]
    if missing:
        raise Unavailable(f"{', '.join(missing)} not installed ({hint})")
    return {p: str(v) for p, v in found.items()}


def _installed(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def _start(library: Library, node: Any, log: Path) -> RunningApp:
    if library.node:
        return start([node.node, library.app], log, cwd=node.root)
    return start(python_argv(library.app, library.server), log)


def _check(
    app: RunningApp, cases: str | None, http2: bool
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The ``/stream`` and ``/idle`` reports, graded side by side (the idle one mostly waits);
    over h2c with prior knowledge when ``http2``."""
    load_catalog()
    chosen = {case.id for case in select(cases)}
    idle_cases = ",".join(c for c in IDLE_CASES if c in chosen)

    def check(route: str, pattern: str | None) -> dict[str, Any]:
        url = f"{app.base_url}{route}"
        http: HttpChoice = "2" if http2 else "auto"
        target = Target(url, resumable=route == "/stream", contract="", http=http)
        return run_check(CheckOptions(target, cases=pattern, write=False)).report

    with ThreadPoolExecutor(2) as pool:
        stream = pool.submit(check, "/stream", cases)
        idle = pool.submit(check, "/idle", idle_cases) if idle_cases else None
        empty: dict[str, Any] = {"cases": []}
        return stream.result(), idle.result() if idle is not None else empty


def _merge(name: str, stream: dict[str, Any], idle: dict[str, Any]) -> list[dict[str, Any]]:
    load_catalog()
    order = {case.id: i for i, case in enumerate(select(None))}
    by_case = {c["id"]: ("/stream", c) for c in stream["cases"]}
    by_case.update({c["id"]: ("/idle", c) for c in idle["cases"]})
    rows = []
    for case_id, (route, case) in by_case.items():
        evidence = case["evidence"]
        rows.append(
            {
                "library": name,
                "case": case_id,
                "route": route,
                "outcome": case["outcome"],
                "observed": evidence["observed"],
                "next_step": evidence["next_step"],
            }
        )
    return sorted(rows, key=lambda row: order.get(row["case"], len(order)))


def _unimplemented(name: str, cases: str | None, why: str) -> list[dict[str, Any]]:
    load_catalog()
    return [
        {
            "library": name,
            "case": case.id,
            "route": "",
            "outcome": Outcome.UNIMPLEMENTED.value,
            "observed": f"not run: {why}",
            "next_step": "",
        }
        for case in select(cases)
    ]
