"""The ``sse-harness clients`` subcommand: run the client matrix and write its reports.

Exit status: 0 when the matrix ran, whatever peers scored (the matrix grades them; their
deviations are findings, not a broken run); 1 when the ``harness`` column was run and has a
FAILED, NON-STRICT or ERROR cell, because that is the project's own client and such a cell is a
regression; 2 for a usage error (unknown client, no matching case).

``--markdown PATH`` also writes the matrix as Markdown (:mod:`.markdown`);
``sse-harness clients --markdown docs/clients.md`` regenerates the checked-in matrix.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from harness.clients.adapters import CLIENTS
from harness.clients.catalog import CASES
from harness.outcome import Outcome

if TYPE_CHECKING:
    from harness.clients.grader import CellGrade
    from harness.clients.model import ClientCase

__all__ = ["main", "register"]

DEFAULT_REPORT_DIR = Path("reports") / "clients"


def register(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
) -> argparse.ArgumentParser:
    """Add ``clients`` to the ``sse-harness`` subcommands. As for the other subcommands, the
    handler is the ``run`` default (parsed arguments in, exit code out) and the matrix itself is
    imported only when it runs, so ``sse-harness --help`` stays fast."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "clients",
        help="grade SSE client libraries and browsers against the client case catalog",
        description=(
            f"Serve the {len(CASES)} client cases to each client and write clients.json and"
            " clients.html. Clients: " + ", ".join(CLIENTS) + "."
        ),
    )
    parser.add_argument(
        "--clients",
        help="comma-separated client names (default: all; a missing one is UNIMPLEMENTED)",
    )
    parser.add_argument(
        "--cases", help="comma-separated case id globs or prefixes, e.g. 'client.retry.*'"
    )
    parser.add_argument(
        "--report-dir", type=Path, default=DEFAULT_REPORT_DIR, help="where the reports go"
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
    parser.add_argument("-q", "--quiet", action="store_true", help="no per-cell progress")
    parser.add_argument(
        "--json", action="store_true", help="print clients.json on stdout instead of the tables"
    )
    parser.set_defaults(run=_run)
    return parser


def _progress(client: str, case: ClientCase, verdict: CellGrade) -> None:
    if verdict.outcome is not Outcome.OK:
        note = verdict.notes[0] if verdict.notes else ""
        print(f"{verdict.outcome.value:13} {client:20} {case.id:22} {note}", flush=True)


def _run(args: argparse.Namespace) -> int:
    from harness.clients.matrix import run_matrix

    names = [n.strip() for n in args.clients.split(",") if n.strip()] if args.clients else None
    try:
        progress = None if args.quiet or args.json else _progress
        result = run_matrix(names, args.cases, args.report_dir, progress, args.jobs)
    except ValueError as exc:
        print(f"sse-harness clients: {exc}", file=sys.stderr)
        return 2
    if args.markdown is not None:
        from harness.clients.markdown import render_markdown

        data = json.loads((args.report_dir / "clients.json").read_text(encoding="utf-8"))
        args.markdown.parent.mkdir(parents=True, exist_ok=True)
        args.markdown.write_text(render_markdown(data), encoding="utf-8")
    harness = [c for c in result.columns if c.spec.name == "harness"]
    regressions = (Outcome.FAILED, Outcome.NON_STRICT, Outcome.ERROR)
    code = 1 if harness and any(r.outcome in regressions for r in harness[0].results) else 0
    if args.json:
        print((args.report_dir / "clients.json").read_text(encoding="utf-8"), end="")
        return code
    outcomes = [o.value for o in Outcome]
    print(f"\n{'client':20} {'version':28} " + " ".join(f"{o:>13}" for o in outcomes))
    for column in result.columns:
        counts = column.summary()
        version = (column.version or "-")[:28]
        print(
            f"{column.spec.name:20} {version:28} " + " ".join(f"{counts[o]:>13}" for o in outcomes)
        )
    print(f"\n{len(result.cases)} cases, {result.duration:.1f} s; reports in {args.report_dir}")
    return code


def main(argv: list[str] | None = None) -> int:
    """Standalone entry (``python -m harness.clients.cli``) until ``sse-harness`` wires it in."""
    parser = argparse.ArgumentParser(prog="sse-harness")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    code: int = args.run(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
