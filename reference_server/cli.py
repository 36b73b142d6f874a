"""``sse-harness serve``: run the reference SSE server under uvicorn: the seeds' endpoints,
conformance endpoints, the scripting contract and fault modes (``GET /faults`` lists them).

Shared by ``python -m reference_server`` and ``sse-harness serve``: one set of flags, one way to
run.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from reference_server.settings import add_settings_arguments, settings_from_args

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
    add_settings_arguments(parser)


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

    settings = settings_from_args(args)
    if args.workers < 1 or (args.workers > 1 and args.http2):
        raise SystemExit("--workers must be 1 or more, and 1 with --http2")
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

            return serve_workers(lambda: create_app(settings), args.workers, tls=tls, **options)
        app = create_app(settings)
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
