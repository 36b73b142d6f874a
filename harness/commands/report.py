"""``sse-harness report DIRECTORY``: render index.html, load.html and clients.html from the JSON
reports in DIRECTORY (exit 2 when there is none)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

__all__ = ["add_arguments", "run"]

HELP = "re-render a run folder's HTML pages from its JSON"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("directory", type=Path, help="a run folder, e.g. reports/20261121-1830")


def run(args: argparse.Namespace) -> int:
    from harness.report.pages import publish

    pages = publish(args.directory) if args.directory.is_dir() else []
    if not pages:
        print(f"sse-harness report: no JSON report in {args.directory}", file=sys.stderr)
        return 2
    for page in pages:
        print(page)
    return 0
