"""``sse-harness clients``: grade SSE client libraries, LLM SDKs and browsers on the client cases.

Serves each client case (exact bytes, chunk boundaries, delays, statuses, headers) from a fuzzing
server on loopback and writes clients.json and clients.html (``--markdown`` also writes the
matrix as Markdown: ``sse-harness clients --markdown docs/clients.md``). The first-use clients
(npm packages, ``sseclient``) are the pinned versions of the locks shipped in the package;
``--latest`` grades their newest releases instead, and the reports say so. Exit codes: 0 the matrix
ran, whatever peers scored (their deviations are findings, not a broken run); 1 the ``harness``
column has a FAILED, NON-STRICT or ERROR cell (the project's own client regressed); 2 a usage
error (unknown client, a --cases pattern that selects nothing) or a client named in --clients
that could not run (not installed: the line names it and how to install it).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from harness.clients.grader import CellGrade
    from harness.clients.model import ClientCase
    from harness.clients.run import ClientsResult

__all__ = ["add_arguments", "run"]

HELP = "grade SSE client libraries and browsers against the client case catalog"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--clients",
        help="comma-separated client names (default: all; one that is not installed is"
        " UNIMPLEMENTED, and exits 2 when named here)",
    )
    parser.add_argument(
        "--cases", help="comma-separated case id globs or prefixes, e.g. 'client.retry'"
    )
    parser.add_argument(
        "--report-dir",
        type=Path,
        default=Path("reports") / "clients",
        help="where the reports go (default: reports/clients)",
    )
    parser.add_argument(
        "--jobs",
        type=int,
        default=1,
        help="runners per client working side by side (default 1, the calmest for timing cases)",
    )
    parser.add_argument(
        "--markdown",
        type=Path,
        metavar="PATH",
        help="also write the matrix as Markdown (docs/clients.md is made this way)",
    )
    parser.add_argument(
        "--latest",
        action="store_true",
        help="grade the newest releases of the first-use clients (npm, sseclient) instead of"
        " the pinned ones; installed apart, the pinned install is kept",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="no per-cell progress")
    parser.add_argument(
        "--json", action="store_true", help="print clients.json on stdout instead of the tables"
    )


def _progress(client: str, case: ClientCase, verdict: CellGrade) -> None:
    from harness.outcome import Outcome

    if verdict.outcome is not Outcome.OK:
        note = verdict.notes[0] if verdict.notes else ""
        print(f"{verdict.outcome.value:13} {client:20} {case.id:22} {note}", flush=True)


def run(args: argparse.Namespace) -> int:
    from harness.clients.run import ClientsOptions, run_clients

    names = [n.strip() for n in args.clients.split(",") if n.strip()] if args.clients else None
    options = ClientsOptions(
        clients=names,
        cases=args.cases,
        report_dir=args.report_dir,
        markdown=args.markdown,
        jobs=args.jobs,
        latest=args.latest,
        progress=None if args.quiet or args.json else _progress,
    )
    try:
        result = run_clients(options)
    except ValueError as exc:
        print(f"sse-harness clients: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print((args.report_dir / "clients.json").read_text(encoding="utf-8"), end="")
    else:
        _print_table(result, args.report_dir)
    missing = {n: why for n, why in result.unavailable.items() if names and n in names}
    for name, why in missing.items():
        print(f"sse-harness clients: {name} could not run: {why}", file=sys.stderr)
    if missing:
        return 2
    return 1 if result.harness_regressed else 0


def _print_table(result: ClientsResult, report_dir: Path) -> None:
    from harness.outcome import Outcome
    from harness.report.clients import LATEST_BANNER

    matrix = result.matrix
    outcomes = [o.value for o in Outcome]
    if matrix.latest:
        print(f"\n{LATEST_BANNER}")
    head = f"{'client':20} {'version':28} {'source':11} "
    print("\n" + head + " ".join(f"{o:>13}" for o in outcomes))
    for column in matrix.columns:
        counts = column.summary()
        version = (column.version or "-")[:28]
        row = f"{column.spec.name:20} {version:28} {column.source:11} "
        print(row + " ".join(f"{counts[o]:>13}" for o in outcomes))
    if result.unavailable:
        print("\nnot run (UNIMPLEMENTED): " + ", ".join(sorted(result.unavailable)))
    print(f"\n{len(matrix.cases)} cases, {matrix.duration:.1f} s; reports in {report_dir}")
