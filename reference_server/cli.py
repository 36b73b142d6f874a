"""``sse-harness serve``: run the reference SSE server under uvicorn: the seeds' endpoints,
conformance endpoints, the scripting contract and fault modes (``GET /faults`` lists them).

Shared by ``python -m reference_server`` and ``sse-harness serve``: one set of flags, one way to
run.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reference_server.settings import (
    DEFAULT_ORIGINS,
    add_settings_arguments,
    origin_pattern,
    settings_from_args,
)

if TYPE_CHECKING:
    from fastapi import FastAPI

#: ``harness.contract.TOKEN_ENV``, named here without importing FastAPI for ``--help``.
TOKEN_ENV = "SSE_HARNESS_CONTRACT_TOKEN"

__all__ = ["CA_PREFIX", "HELP", "add_arguments", "main", "run"]

HELP = "run the reference SSE server"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default: %(default)s)"
    )
    parser.add_argument(
        "--port", type=int, default=8000, help="port; 0 picks a free one (default: %(default)s)"
    )
    parser.add_argument(
        "--log-level",
        default="info",
        choices=["critical", "error", "warning", "info", "debug", "trace"],
        help="uvicorn log level (default: %(default)s)",
    )
    parser.add_argument("--no-access-log", action="store_true", help="do not log each request")
    parser.add_argument(
        "--tls",
        action="store_true",
        help="serve https:// with a throwaway CA made at start; its path is printed (clients:"
        " sse-harness check --cafile PATH)",
    )
    parser.add_argument(
        "--tls-dir",
        type=Path,
        metavar="DIR",
        help="where --tls writes ca.pem, cert.pem and key.pem (default: a temporary folder,"
        " removed on exit)",
    )
    parser.add_argument(
        "--http2",
        action="store_true",
        help="serve through hypercorn: HTTP/2 by ALPN with --tls, h2c (and HTTP/1.1) without",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="N",
        help="serve from N processes on one port (the counter resumes across them; the stream"
        " registry of /_observe is per process) (default: %(default)s)",
    )
    parser.add_argument(
        "--contract-token",
        metavar="TOKEN",
        help="serve the scripting contract (/_contract, /_script, /_observe) only to requests"
        f" whose X-SSE-Harness-Token header is TOKEN (default: ${TOKEN_ENV}; without either,"
        " only loopback clients are served). The variable keeps it out of ps and shell history",
    )
    parser.add_argument(
        "--cors-origin",
        dest="cors_origins",
        action="append",
        type=_origin,
        metavar="ORIGIN",
        help="a page origin allowed to read the server with credentials, scheme://host[:port]"
        " (port * for any) or null; repeatable (default: "
        + ", ".join(DEFAULT_ORIGINS)
        + "; the stream endpoints also allow the harness's own test origin)",
    )
    add_settings_arguments(parser)


def _origin(text: str) -> str:
    try:
        origin_pattern([text])
    except ValueError as bad:
        raise argparse.ArgumentTypeError(str(bad)) from None
    return text


#: Printed before the ready line when --tls made a CA, followed by the CA file's path.
CA_PREFIX = "sse-harness: CA certificate "

#: The cycle collector's thresholds in a server process (CPython's are 700, 10, 10). A stream
#: holds some 270 tracked objects for its whole life, and a full collection walks them all: with
#: the defaults, opening 5,000 streams ran a dozen full collections (over 5 s of CPU, each one
#: pausing every stream for up to a second). Collecting the young every 50,000 allocations
#: instead leaves one or none.
GC_THRESHOLDS = (50_000, 20, 10)


def run(args: argparse.Namespace) -> int:
    """Serve until SIGINT/SIGTERM; open streams get ``--shutdown-grace-s`` to end cleanly."""
    from reference_server.app import create_app

    try:
        settings = settings_from_args(args)
    except ValueError as bad:
        print(f"sse-harness serve: error: {bad}", file=sys.stderr)
        return 2
    if args.workers < 1 or (args.workers > 1 and args.http2):
        raise SystemExit("--workers must be 1 or more, and 1 with --http2")

    def build() -> FastAPI:
        return create_app(
            settings,
            contract_token=args.contract_token,
            cors_origins=args.cors_origins or DEFAULT_ORIGINS,
        )

    gc.set_threshold(*GC_THRESHOLDS)  # this process serves and does nothing else
    options: dict[str, Any] = {
        "host": args.host,
        "port": args.port,
        "graceful_s": settings.shutdown_grace_s + 1,
        "log_level": args.log_level,
        "access_log": not args.no_access_log,
    }
    with contextlib.ExitStack() as stack:
        tls = None
        if args.tls:
            from reference_server.tls import make_tls_files

            where = args.tls_dir or Path(stack.enter_context(tempfile.TemporaryDirectory()))
            tls = make_tls_files(where)
            print(CA_PREFIX + str(tls.ca), flush=True)
        if args.workers > 1:
            from reference_server.launch import serve_workers

            return serve_workers(build, args.workers, tls=tls, **options)
        app = build()
        if args.http2:
            from reference_server.http2 import serve_http2_forever

            serve_http2_forever(app, tls=tls, **options)
        else:
            from reference_server.launch import serve_forever

            serve_forever(app, tls=tls, **options)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m reference_server", description=__doc__)
    add_arguments(parser)
    return run(parser.parse_args(argv))
