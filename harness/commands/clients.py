"""``sse-harness clients``: grade SSE client libraries and browsers against the client cases.

(Transitional: delegates to :mod:`harness.clients.cli` until the client instrument has its typed
entry point.)
"""

from __future__ import annotations

import argparse

__all__ = ["add_arguments", "run"]

HELP = "grade SSE client libraries and browsers against the client case catalog"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from harness.clients import cli

    holder = argparse.ArgumentParser(add_help=False)
    sub = holder.add_subparsers()
    built = cli.register(sub)
    for action in built._actions:
        if action.dest != "help":
            parser._add_action(action)
    parser.set_defaults(clients_run=built.get_default("run"))


def run(args: argparse.Namespace) -> int:
    code: int = args.clients_run(args)
    return code
