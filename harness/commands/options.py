"""Options several commands share, defined once: ``--thresholds`` (check, load, gate) and the
TLS trust options ``--cafile`` / ``--insecure`` (check, load)."""

from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["add_thresholds_option", "add_tls_options"]


def add_thresholds_option(parser: argparse.ArgumentParser, what: str) -> None:
    """``what`` names what the file gates (e.g. "the load probe's gate")."""
    parser.add_argument(
        "--thresholds",
        type=Path,
        help=f"{what} thresholds file (default: ./sse-harness.toml, else [tool.sse-harness] in"
        " ./pyproject.toml, else the shipped defaults)",
    )


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
