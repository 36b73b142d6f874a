"""The ``--thresholds`` option, one definition for every command that gates a load run."""

from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["add_thresholds_option"]


def add_thresholds_option(parser: argparse.ArgumentParser, what: str) -> None:
    """``what`` names what the file gates (e.g. "the load probe's gate")."""
    parser.add_argument(
        "--thresholds",
        type=Path,
        help=f"{what} thresholds file (default: ./sse-harness.toml, else [tool.sse-harness] in"
        " ./pyproject.toml, else the shipped defaults)",
    )
