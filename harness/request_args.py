"""How a request is given on a command line: the URL, ``NAME:VALUE`` headers and ``@FILE`` bodies.

Shared by ``sse-harness check``, the pytest plugin and the locustfiles' ``--sse-*`` options, so
the three read the same text the same way. Kept free of heavy imports: Locust processes load it.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from urllib.parse import urlsplit

__all__ = ["http_url", "parse_header", "read_body"]


def http_url(text: str) -> str:
    """``text`` if it is an http:// or https:// URL with a host; else an error in plain words with
    the likely fix, so a newcomer's ``127.0.0.1:8000/events`` costs one line, not a client
    library's exception name."""
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 -- raises ValueError for a port that is not a number
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a valid URL: {exc}") from exc
    scheme = parts.scheme.lower()
    if "://" not in text:
        raise argparse.ArgumentTypeError(
            f"{text!r} has no scheme: did you mean 'http://{text}' (or 'https://{text}')?"
        )
    if scheme not in ("http", "https"):
        raise argparse.ArgumentTypeError(
            f"{text!r}: an event stream is served over http:// or https://, not {scheme}://"
        )
    if not parts.hostname:
        raise argparse.ArgumentTypeError(
            f"{text!r} names no host, e.g. http://127.0.0.1:8000/events"
        )
    return text


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
