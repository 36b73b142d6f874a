"""``sse-harness locustfiles [--path NAME | --options NAME]``: the locustfiles that ship in the
wheel.

So that Locust's own command line works from any folder::

    locust -f "$(sse-harness locustfiles --path stream)" --host http://127.0.0.1:8000 ...

``--options NAME`` prints Locust's help as it reads with that locustfile, ``--sse-*`` options
included: ``locust -f FILE --help`` cannot list them, because Locust answers ``--help`` before it
imports the locustfile that registers them (locustio/locust#2917), and no extension point runs
earlier.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

__all__ = ["add_arguments", "run"]

HELP = "list the shipped locustfiles, or print one's path for locust -f"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--path", metavar="NAME", help="print the path of this locustfile")
    which.add_argument(
        "--options",
        metavar="NAME",
        help="print Locust's --help with this locustfile's --sse-* options (what"
        " 'locust -f FILE --help' cannot show)",
    )


def run(args: argparse.Namespace) -> int:
    from harness.load.run import PROFILES, LoadError, locustfile

    try:
        if args.path:
            print(locustfile(args.path.removesuffix(".py")))
            return 0
        if args.options:
            print(_locust_help(locustfile(args.options.removesuffix(".py"))))
            return 0
        for name in PROFILES:
            path = locustfile(name)
            print(f"{name:<10} {_summary(path.read_text(encoding='utf-8'))}")
    except LoadError as exc:
        print(f"sse-harness locustfiles: {exc}", file=sys.stderr)
        return 2
    return 0


def _locust_help(path: Path) -> str:
    """Locust's help once the locustfile has registered its options, as Locust itself builds it
    (``get_parser`` fires ``init_command_line_parser``)."""
    import runpy

    runpy.run_path(str(path), run_name="locustfile")
    from locust.argument_parser import get_parser

    help_text: str = get_parser().format_help()
    return help_text.replace("Usage: locust ", f"Usage: locust -f {path} ", 1)


def _summary(source: str) -> str:
    """The first line of a locustfile's docstring."""
    for line in source.splitlines():
        text = line.strip().strip('"').strip()
        if text:
            return text
    return ""
