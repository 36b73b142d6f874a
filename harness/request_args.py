"""How a request is given on a command line: the URL, ``NAME:VALUE`` headers and ``@FILE`` bodies.

Shared by ``sse-harness check`` and ``load``, the pytest plugin and the locustfiles' ``--sse-*``
options, so they read the same text the same way. Header values that are secrets need not sit
on a command line (``ps``, CI logs): a header file (:func:`read_header_file`) or an environment
variable (:func:`header_from_env`) gives them instead. Kept free of heavy imports: Locust
processes load it.
"""

from __future__ import annotations

import argparse
import base64
import os
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

from harness.redact import mask

__all__ = [
    "header_from_env",
    "http_url",
    "parse_header",
    "read_body",
    "read_header_file",
    "split_userinfo",
]


def http_url(text: str) -> str:
    """``text`` if it is an http:// or https:// URL with a host; else an error in plain words with
    the likely fix, so a newcomer's ``127.0.0.1:8000/events`` costs one line, not a client
    library's exception name."""
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 -- raises ValueError for a port that is not a number
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{_shown(text)!r} is not a valid URL: {exc}") from exc
    shown = _shown(text)
    scheme = parts.scheme.lower()
    if "://" not in text:
        raise argparse.ArgumentTypeError(
            f"{shown!r} has no scheme: did you mean 'http://{shown}' (or 'https://{shown}')?"
        )
    if scheme not in ("http", "https"):
        raise argparse.ArgumentTypeError(
            f"{shown!r}: an event stream is served over http:// or https://, not {scheme}://"
        )
    if not parts.hostname:
        raise argparse.ArgumentTypeError(
            f"{shown!r} names no host, e.g. http://127.0.0.1:8000/events"
        )
    return text


def parse_header(text: str, option: str = "") -> tuple[str, str]:
    """``"Name: value"`` -> ``("Name", "value")``; ``option`` names the flag in the error."""
    name, sep, value = text.partition(":")
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError(f"{_prefix(option)}expected NAME:VALUE, got {text!r}")
    return name.strip(), value.strip()


def read_body(text: str) -> bytes:
    """The body itself, or with ``@FILE`` the bytes of that file."""
    return Path(text[1:]).read_bytes() if text.startswith("@") else text.encode("utf-8")


def _prefix(option: str) -> str:
    return f"{option}: " if option else ""


def _shown(text: str) -> str:
    """``text`` as an error may quote it: anything before an ``@`` in what looks like the
    authority (``user:pass@``, with or without a scheme) is masked."""
    scheme, sep, rest = text.rpartition("://") if "://" in text else ("", "", text)
    authority, slash, path = rest.partition("/")
    userinfo, at, host = authority.rpartition("@")
    if not at:
        return text
    return f"{scheme}{sep}{mask(unquote(userinfo))}@{host}{slash}{path}"


def read_header_file(path: str | Path, option: str = "") -> list[tuple[str, str]]:
    """The headers of a file of ``Name: value`` lines (blank lines and ``#`` comments skipped),
    so a secret travels in a file the CI writes, not in a command line; an error names the file
    and line, never the value; ``option`` names the flag in the error."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise argparse.ArgumentTypeError(f"{_prefix(option)}cannot read {path}: {exc}") from exc
    headers = []
    for number, line in enumerate(lines, 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, sep, value = line.partition(":")
        if not sep or not name.strip():
            raise argparse.ArgumentTypeError(
                f"{_prefix(option)}{path} line {number}: expected 'Name: value'"
            )
        headers.append((name.strip(), value.strip()))
    return headers


def header_from_env(text: str, option: str = "") -> tuple[str, str]:
    """``"Authorization=API_TOKEN"`` -> ``("Authorization", $API_TOKEN)``. An unset or empty
    variable is an error (a CI secret a fork's job does not get), never an empty header."""
    name, sep, variable = text.partition("=")
    if not sep or not name.strip() or not variable.strip():
        raise argparse.ArgumentTypeError(f"{_prefix(option)}expected NAME=VARIABLE, got {text!r}")
    value = os.environ.get(variable.strip(), "")
    if not value:
        raise argparse.ArgumentTypeError(
            f"{_prefix(option)}{text}: the environment variable {variable.strip()} is not set"
            " or empty"
        )
    return name.strip(), value.strip()


def split_userinfo(url: str) -> tuple[str, tuple[str, str] | None]:
    """``https://user:pass@host/...`` -> the URL without ``user:pass@`` and the Basic
    ``Authorization`` header it stands for (None without one), as an HTTP client sends it: the
    credentials go in a header, never in the ``Host`` header or an error quoting the host."""
    parts = urlsplit(url)
    userinfo, at, hostport = parts.netloc.rpartition("@")
    if not at:
        return url, None
    user, _, password = userinfo.partition(":")
    token = base64.b64encode(f"{unquote(user)}:{unquote(password)}".encode()).decode("ascii")
    return urlunsplit(parts._replace(netloc=hostport)), ("Authorization", f"Basic {token}")
