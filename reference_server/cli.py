"""``sse-harness serve``: run the reference SSE server under uvicorn: the seeds' endpoints,
conformance endpoints, the scripting contract and fault modes (``GET /faults`` lists them).

Shared by ``python -m reference_server`` and ``sse-harness serve``: one set of flags, one way to
run.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from reference_server.settings import add_settings_arguments, settings_from_args

__all__ = ["HELP", "add_arguments", "main", "run"]

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
    add_settings_arguments(parser)


def run(args: argparse.Namespace) -> int:
    """Serve until SIGINT/SIGTERM; open streams get ``--shutdown-grace-s`` to end cleanly."""
    from reference_server.app import create_app
    from reference_server.launch import serve_forever

    settings = settings_from_args(args)
    serve_forever(
        create_app(settings),
        host=args.host,
        port=args.port,
        graceful_s=settings.shutdown_grace_s + 1,
        log_level=args.log_level,
        access_log=not args.no_access_log,
    )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m reference_server", description=__doc__)
    add_arguments(parser)
    return run(parser.parse_args(argv))
