"""The ``sse-harness`` command: one subcommand per instrument.

Each subcommand's module adds its options and sets ``run`` (parsed arguments in, exit code out);
heavy imports happen inside ``run``, so ``sse-harness --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from pathlib import Path

from harness import __version__

__all__ = ["build_parser", "main"]


#: (name, module, help) of the subcommands whose module offers ``add_arguments(parser)`` and
#: ``run(args) -> int``; the module's ``DESCRIPTION`` or docstring is the command's description.
_COMMANDS = (
    ("check", "harness.check", "grade an SSE endpoint against the standard, then load it"),
    ("load", "harness.load.cli", "bounded headless Locust run (default: the reference server)"),
    ("gate", "harness.gate", "CI verdict on a load report, against thresholds and a baseline"),
    ("serve", "reference_server.cli", "run the reference SSE server"),
)


def _add(commands: argparse._SubParsersAction[argparse.ArgumentParser], name: str) -> None:
    _, module_name, summary = next(c for c in _COMMANDS if c[0] == name)
    module = importlib.import_module(module_name)
    parser = commands.add_parser(
        name,
        help=summary,
        description=getattr(module, "DESCRIPTION", module.__doc__),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    module.add_arguments(parser)
    parser.set_defaults(run=module.run)


def _add_clients(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from harness.clients import cli

    cli.register(commands)


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
    _add(commands, "check")
    _add(commands, "load")
    _add_clients(commands)
    _add(commands, "gate")
    _add_report(commands)
    _add(commands, "serve")
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
