"""The ``sse-harness`` command: one subcommand per instrument, registered from one table.

Every subcommand is a module offering ``HELP``, ``add_arguments(parser)`` and
``run(args) -> int`` (see :mod:`harness.commands`); those modules import only the standard
library when loaded, so ``sse-harness --help`` answers without loading an instrument.

The gate's thresholds are read here, once, for every command that takes ``--thresholds``
(check, load, gate): a file that is wrong (the one named, or the ``./sse-harness.toml`` or
``./pyproject.toml`` found) exits 2 in one line before the command runs anything, instead of
after a whole conformance suite and load run.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from harness import __version__

__all__ = ["COMMANDS", "build_parser", "main"]

#: (name, module), in the order ``--help`` lists them.
COMMANDS = (
    ("check", "harness.commands.check"),
    ("load", "harness.commands.load"),
    ("clients", "harness.commands.clients"),
    ("servers", "harness.commands.servers"),
    ("gate", "harness.commands.gate"),
    ("report", "harness.commands.report"),
    ("locustfiles", "harness.commands.locustfiles"),
    ("serve", "reference_server.cli"),
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sse-harness",
        description="Conformance and load testing for Server-Sent Events.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")
    for name, module_name in COMMANDS:
        module = importlib.import_module(module_name)
        command = commands.add_parser(
            name,
            help=module.HELP,
            description=module.__doc__,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        module.add_arguments(command)
        command.set_defaults(run=module.run, command=name)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    run = getattr(args, "run", None)
    if run is None:
        parser.print_help()
        return 2
    if hasattr(args, "thresholds"):
        from harness.commands.options import resolve_thresholds_option

        try:
            resolve_thresholds_option(args)
        except ValueError as exc:
            print(f"sse-harness {args.command}: {exc}", file=sys.stderr)
            return 2
    try:
        code: int = run(args)
    except KeyboardInterrupt:
        # Ctrl-C outside a run that reports what it finished (check does, and exits 130 itself).
        print("sse-harness: interrupted", file=sys.stderr)
        return 130
    return code
