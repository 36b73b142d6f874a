"""Options several commands share, defined once: ``--thresholds`` (check, load, gate) and the
TLS trust options ``--cafile`` / ``--insecure`` (check, load)."""

from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["add_thresholds_option", "add_tls_options", "resolve_thresholds_option"]


def add_thresholds_option(parser: argparse.ArgumentParser, what: str) -> None:
    """``what`` names what the file gates (e.g. "the load probe's gate"). The command line reads
    the thresholds before the command runs (:func:`resolve_thresholds_option`)."""
    parser.add_argument(
        "--thresholds",
        type=Path,
        help=f"{what} thresholds file, merged key by key over the shipped defaults (default:"
        " ./sse-harness.toml, else [tool.sse-harness] in ./pyproject.toml; `key = false`"
        " switches a shipped check off)",
    )


def resolve_thresholds_option(args: argparse.Namespace) -> None:
    """Read the thresholds ``args.thresholds`` points to (or the working directory offers) onto
    ``args.resolved_thresholds``, before anything runs; ``ValueError`` says ``<file>: <problem>``.
    """
    from harness.load.gate import resolve_thresholds

    args.resolved_thresholds = resolve_thresholds(args.thresholds)


def add_tls_options(parser: argparse.ArgumentParser) -> None:
    """``--cafile`` (a path string, as ``ssl`` takes it) and ``--insecure``."""
    parser.add_argument(
        "--cafile",
        metavar="PATH",
        help="CA bundle (PEM) that signs an https:// target's certificate (default: system CAs)",
    )
    parser.add_argument(
        "--insecure",
        action="store_true",
        help="accept any certificate from an https:// target (still TLS; nothing verified)",
    )
