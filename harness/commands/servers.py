"""``sse-harness servers``: grade SSE server libraries, each serving the same streams.

Starts each library's example app (written the way its docs show) on a free loopback port with
the server it normally runs on, grades ``/stream`` with every case and ``/idle`` with the
keep-alive and HEAD cases, stops it, and writes servers.json and servers.md (``--markdown`` also
writes the page elsewhere: ``sse-harness servers --markdown docs/servers.md``). The Python
libraries come from the ``servers`` extra (``pip install 'sse-harness[servers]'``); the Node ones
install on first use from the lock shipped in the package (``npm ci``). Exit codes: 0 the matrix
ran, whatever the libraries scored (their breaches are findings); 2 a usage error (unknown
library, a --cases pattern that selects nothing) or a library named in --servers that could not
run (the line says why).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

__all__ = ["add_arguments", "run"]

HELP = "grade SSE server libraries (FastAPI, sse-starlette, Flask, better-sse, ...) side by side"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--servers",
        help="comma-separated library names (default: all; one that is not installed is"
        " UNIMPLEMENTED, and exits 2 when named here)",
    )
    parser.add_argument(
        "--cases", help="comma-separated case id globs or prefixes, e.g. 'server.headers'"
    )
    parser.add_argument(
        "--report-dir",
        type=Path,
        default=Path("reports") / "servers",
        help="where the reports and the apps' logs go (default: reports/servers)",
    )
    parser.add_argument(
        "--markdown",
        type=Path,
        metavar="PATH",
        help="also write the matrix as Markdown (docs/servers.md is made this way)",
    )
    parser.add_argument(
        "--jobs",
        type=int,
        default=1,
        help="libraries graded side by side (default 1, the calmest for timing cases)",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="no per-library progress")


def _progress(name: str, rows: list[dict[str, Any]]) -> None:
    for row in rows:
        if row["outcome"] in ("FAILED", "NON-STRICT", "ERROR"):
            print(f"{row['outcome']:13} {name:20} {row['case']:22} {row['observed'][:90]}")
    print(f"{'done':13} {name}", flush=True)


def run(args: argparse.Namespace) -> int:
    from harness.servers import ServersOptions, run_servers

    if args.jobs < 1:
        print("sse-harness servers: --jobs must be at least 1", file=sys.stderr)
        return 2
    names = [n.strip() for n in args.servers.split(",") if n.strip()] if args.servers else None
    options = ServersOptions(
        servers=names,
        cases=args.cases,
        report_dir=args.report_dir,
        markdown=args.markdown,
        jobs=args.jobs,
        progress=None if args.quiet else _progress,
    )
    try:
        result = run_servers(options)
    except ValueError as exc:
        print(f"sse-harness servers: {exc}", file=sys.stderr)
        return 2
    _print_table(result.report, args.report_dir)
    missing = {n: why for n, why in result.unavailable.items() if names and n in names}
    for name, why in missing.items():
        print(f"sse-harness servers: {name} could not run: {why}", file=sys.stderr)
    return 2 if missing else 0


def _print_table(report: dict[str, Any], report_dir: Path) -> None:
    from harness.outcome import Outcome

    outcomes = [o.value for o in Outcome]
    counts: dict[str, dict[str, int]] = {
        lib["name"]: dict.fromkeys(outcomes, 0) for lib in report["libraries"]
    }
    for row in report["results"]:
        counts[row["library"]][row["outcome"]] += 1
    print(
        f"\n{'library':20} {'version':12} {'server':16} " + " ".join(f"{o:>13}" for o in outcomes)
    )
    for lib in report["libraries"]:
        head = f"{lib['name']:20} {(lib['version'] or '-')[:12]:12} {lib['server']:16} "
        print(head + " ".join(f"{counts[lib['name']][o]:>13}" for o in outcomes))
    print(f"\n{len(report['cases'])} cases, {report['duration_s']} s; reports in {report_dir}")
