"""The ``sse-harness`` command: one subcommand per instrument.

Each subcommand is registered by a ``_add_<name>`` function that adds its parser and sets
``run`` (a function of the parsed arguments returning the exit code); heavy imports happen inside
``run``, so ``sse-harness --help`` stays fast.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from harness import __version__

__all__ = ["build_parser", "main"]


def _add_serve(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from reference_server import cli

    parser = commands.add_parser(
        "serve", help="run the reference SSE server", description=cli.DESCRIPTION
    )
    cli.add_arguments(parser)
    parser.set_defaults(run=cli.run)


def _add_check(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from harness import check

    parser = commands.add_parser(
        "check",
        help="grade an SSE endpoint against the standard (default: the reference server)",
        description=check.__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    check.add_arguments(parser)
    parser.set_defaults(run=check.run)


def _add_clients(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from harness.clients import cli

    cli.register(commands)


def _add_gate(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from harness import gate

    parser = commands.add_parser(
        "gate",
        help="CI verdict on a load report, against thresholds and a baseline",
        description=gate.__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    gate.add_arguments(parser)
    parser.set_defaults(run=gate.run)


def _add_load(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from harness.load import cli

    parser = commands.add_parser(
        "load",
        help="bounded headless Locust run (default: the reference server)",
        description=cli.__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    cli.add_arguments(parser)
    parser.set_defaults(run=cli.run)


def _add_report(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "report",
        help="re-render a run folder's HTML pages from its JSON",
        description="Render index.html, load.html and clients.html from the JSON reports in"
        " DIRECTORY (exit 2 when there is none).",
    )
    parser.add_argument("directory", type=Path, help="a run folder, e.g. reports/20261121-1830")
    parser.set_defaults(run=_report)


def _report(args: argparse.Namespace) -> int:
    from harness.report.pages import publish

    pages = publish(args.directory) if args.directory.is_dir() else []
    if not pages:
        print(f"sse-harness report: no JSON report in {args.directory}", file=sys.stderr)
        return 2
    for page in pages:
        print(page)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sse-harness",
        description="Conformance and load testing for Server-Sent Events.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")
    _add_check(commands)
    _add_load(commands)
    _add_clients(commands)
    _add_gate(commands)
    _add_report(commands)
    _add_serve(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    run = getattr(args, "run", None)
    if run is None:
        parser.print_help()
        return 2
    code: int = run(args)
    return code
