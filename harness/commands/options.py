"""Options several commands share, defined once: ``--thresholds`` (check, load, gate), the TLS
trust options ``--cafile`` / ``--insecure`` and the request header options (check, load)."""

from __future__ import annotations

import argparse
from pathlib import Path

from harness.request_args import header_from_env, parse_header, read_header_file

__all__ = [
    "add_header_options",
    "add_thresholds_option",
    "add_tls_options",
    "given_headers",
    "resolve_thresholds_option",
]


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


def add_header_options(parser: argparse.ArgumentParser) -> None:
    """``--header``, and for secrets that must not sit in a command line (``ps``, CI logs)
    ``--header-file`` and ``--header-env``; ``--redact-header`` names more headers whose values
    reports mask. Files and variables are read as the arguments are parsed: a missing one is a
    usage error before anything runs."""
    parser.add_argument(
        "--header",
        action="append",
        default=[],
        type=parse_header,
        metavar="NAME:VALUE",
        help="extra request header (repeatable)",
    )
    parser.add_argument(
        "--header-file",
        action="append",
        default=[],
        type=read_header_file,
        metavar="FILE",
        help="request headers from a file of 'Name: value' lines ('#' comments; repeatable)",
    )
    parser.add_argument(
        "--header-env",
        action="append",
        default=[],
        type=header_from_env,
        metavar="NAME=VARIABLE",
        help="request header NAME with the value of environment variable VARIABLE, e.g."
        " --header-env Authorization=API_TOKEN (repeatable)",
    )
    parser.add_argument(
        "--redact-header",
        action="append",
        default=[],
        metavar="NAME",
        help="mask this header's value in reports and messages (repeatable); Authorization,"
        " Proxy-Authorization, Cookie and names with key, token, secret or password always are",
    )


def given_headers(args: argparse.Namespace) -> list[tuple[str, str]]:
    """The headers of :func:`add_header_options`, in the order of precedence: a name given
    twice takes its last value, ``--header`` over ``--header-env`` over ``--header-file``."""
    from_files = [header for headers in args.header_file for header in headers]
    return [*from_files, *args.header_env, *args.header]
