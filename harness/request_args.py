"""How a request is given on a command line: ``NAME:VALUE`` headers and ``@FILE`` bodies.

Shared by ``sse-harness check``, the pytest plugin and the locustfiles' ``--sse-*`` options, so
the three read the same text the same way. Kept free of heavy imports: Locust processes load it.
"""

from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["parse_header", "read_body"]


def parse_header(text: str, option: str = "") -> tuple[str, str]:
    """``"Name: value"`` -> ``("Name", "value")``; ``option`` names the flag in the error."""
    name, sep, value = text.partition(":")
    if not sep or not name.strip():
        prefix = f"{option}: " if option else ""
        raise argparse.ArgumentTypeError(f"{prefix}expected NAME:VALUE, got {text!r}")
    return name.strip(), value.strip()


def read_body(text: str) -> bytes:
    """The body itself, or with ``@FILE`` the bytes of that file."""
    return Path(text[1:]).read_bytes() if text.startswith("@") else text.encode("utf-8")
