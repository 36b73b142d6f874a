"""``sse-harness locustfiles [--path NAME]``: the locustfiles that ship in the wheel.

So that Locust's own command line works from any folder::

    locust -f "$(sse-harness locustfiles --path stream)" --host http://127.0.0.1:8000 ...
"""

from __future__ import annotations

import argparse
import sys

__all__ = ["add_arguments", "run"]

HELP = "list the shipped locustfiles, or print one's path for locust -f"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--path", metavar="NAME", help="print the path of this locustfile")


def run(args: argparse.Namespace) -> int:
    from harness.load.run import PROFILES, LoadError, locustfile

    try:
        if args.path:
            print(locustfile(args.path.removesuffix(".py")))
            return 0
        for name in PROFILES:
            path = locustfile(name)
            print(f"{name:<10} {_summary(path.read_text(encoding='utf-8'))}")
    except LoadError as exc:
        print(f"sse-harness locustfiles: {exc}", file=sys.stderr)
        return 2
    return 0


def _summary(source: str) -> str:
    """The first line of a locustfile's docstring."""
    for line in source.splitlines():
        text = line.strip().strip('"').strip()
        if text:
            return text
    return ""
