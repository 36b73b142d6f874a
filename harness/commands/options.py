"""Options several commands share, defined once: ``--thresholds`` (check, load, gate), the TLS
trust options ``--cafile`` / ``--insecure``, the request header options, the app target
``--app`` / ``--path`` (check, load) and the protocol profile ``--profile`` with its MCP
options."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from harness.apps import START_TIMEOUT_S, app_spec
from harness.mcp import REVISIONS
from harness.request_args import header_from_env, parse_header, read_header_file

__all__ = [
    "add_app_options",
    "add_header_options",
    "add_profile_options",
    "add_thresholds_option",
    "add_tls_options",
    "app_options_problem",
    "app_path",
    "given_headers",
    "profile_fields",
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


def add_app_options(parser: argparse.ArgumentParser) -> None:
    """``--app module:attr`` (served by :func:`harness.apps.serve_app`), with ``--path``, the
    route to grade, ``--factory`` and ``--app-timeout``."""
    parser.add_argument(
        "--app",
        type=app_spec,
        metavar="MODULE:ATTR",
        help="serve this ASGI or WSGI app from the current folder (as uvicorn imports it) on a"
        " free loopback port for the run, instead of a URL; its output goes to app.log in the"
        " report folder",
    )
    parser.add_argument(
        "--path",
        metavar="PATH",
        help="the route of --app to request, with its query (default: /)",
    )
    parser.add_argument(
        "--factory",
        action="store_true",
        help="--app names a function that returns the app (uvicorn's --factory)",
    )
    parser.add_argument(
        "--app-timeout",
        type=float,
        default=START_TIMEOUT_S,
        metavar="SECONDS",
        help=f"longest wait for --app to import and start (default {START_TIMEOUT_S:g})",
    )


def app_options_problem(args: argparse.Namespace) -> str | None:
    """A usage error in how a URL and :func:`add_app_options` are combined, in one line."""
    if args.app and args.url:
        return "give a URL or --app, not both (--app serves the app and finds its URL)"
    if not args.app and (args.path is not None or args.factory):
        return "--path and --factory go with --app (a URL names its own path)"
    if args.path is not None and not args.path.startswith("/"):
        return f"--path must start with '/', got {args.path!r}"
    return None


def app_path(args: argparse.Namespace) -> str:
    """The route ``--path`` names (``/`` when none)."""
    return args.path or "/"


def add_profile_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--profile",
        choices=("sse", "mcp"),
        default="sse",
        help="the protocol to speak: sse (any event stream) or mcp (an MCP Streamable HTTP"
        " endpoint: the harness opens a session and its streams as an MCP client, and grades"
        " the M-* rules; without a URL, the reference server's /mcp)",
    )
    parser.add_argument(
        "--mcp-tool",
        metavar="NAME",
        default="",
        help="mcp: the tool whose calls stream progress (default: the MCP conformance suite's"
        " test_tool_with_progress, when the server lists it)",
    )
    parser.add_argument(
        "--mcp-version",
        metavar="REVISION",
        choices=REVISIONS[1:],
        default="",
        help="mcp: the protocol revision to offer (default: the newest the initialize"
        f" handshake reaches; {REVISIONS[-1]} speaks the stateless per-request POSTs)",
    )


def profile_fields(args: argparse.Namespace) -> dict[str, Any]:
    """The target fields the profile options set."""
    return {"profile": args.profile, "mcp_tool": args.mcp_tool, "mcp_version": args.mcp_version}
