"""The ``--sse-*`` options of the locustfiles: Locust custom arguments, so each is also settable
from the web UI and from the environment (``LOCUST_SSE_PATH`` ...), and travels from the master
to its workers with the rest of Locust's options.

Each locustfile gives its own :class:`Defaults` (the chat profile POSTs a JSON body, the
reconnect profile reconnects ...); the option names are the same everywhere.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from harness.load.chat import chat_stamper
from harness.load.session import StreamSpec
from harness.load.stamps import STAMPERS, StamperFactory
from harness.request_args import parse_header, read_body

__all__ = ["DEFAULT_PATH", "Defaults", "add_arguments", "stream_spec"]

#: The reference server's counter: one small event a second, 60 of them, resumable.
DEFAULT_PATH = "/counter?count=60&interval_ms=1000"


@dataclass(frozen=True)
class Defaults:
    """A profile's defaults for the ``--sse-*`` options."""

    profile: str = "stream"
    path: str = DEFAULT_PATH
    method: str = "GET"
    body: str = ""
    max_events: int = 60
    max_seconds: float = 65.0
    reconnect: bool = False
    stamps: str = "json"
    ids: str = "sequence"
    done_data: str = ""


def add_arguments(parser: Any, defaults: Defaults) -> None:
    """Add the options to Locust's parser (``init_command_line_parser``)."""
    group = parser.add_argument_group("sse-harness", f"SSE load options ({defaults.profile})")
    group.add_argument("--sse-path", default=defaults.path, help="stream path and query")
    group.add_argument("--sse-method", default=defaults.method, help="HTTP method")
    group.add_argument(
        "--sse-body", default=defaults.body, help="request body (JSON for POST); @FILE reads a file"
    )
    group.add_argument(
        "--sse-header",
        action="append",
        default=[],
        metavar="NAME:VALUE",
        help="extra request header (repeatable; comma-separated in the web UI)",
    )
    group.add_argument(
        "--sse-max-events",
        type=int,
        default=defaults.max_events,
        help="events per stream (0: no bound); fewer from the server is a truncated stream",
    )
    group.add_argument(
        "--sse-max-seconds", type=float, default=defaults.max_seconds, help="seconds per stream"
    )
    group.add_argument(
        "--sse-timeout", type=float, default=30.0, help="longest wait for headers or bytes"
    )
    group.add_argument(
        "--sse-reconnect",
        action="store_true",
        default=defaults.reconnect,
        help="reconnect with Last-Event-ID when the server closes or the connection drops",
    )
    group.add_argument(
        "--sse-stamps",
        default=defaults.stamps,
        choices=[*STAMPERS, "chat"],
        help="where send/intended stamps come from (json payload keys, chat pacing, none)",
    )
    group.add_argument(
        "--sse-ids",
        default=defaults.ids,
        choices=["sequence", "none"],
        help="track ids as a sequence (loss, duplication) or not at all",
    )
    group.add_argument(
        "--sse-done", default=defaults.done_data, help="data of the event that ends a stream"
    )
    group.add_argument(
        "--sse-cafile",
        default="",
        metavar="PATH",
        help="CA certificates (PEM) an https:// target must chain to (default: system CAs)",
    )
    group.add_argument(
        "--sse-insecure",
        action="store_true",
        default=False,
        help="accept any certificate from an https:// target (still TLS; nothing verified)",
    )
    group.add_argument(
        "--sse-report-dir", default="", help="where load.json/load.html go (reports/<time>/)"
    )
    group.add_argument(
        "--sse-thresholds",
        default="",
        help="gate thresholds file (default: ./sse-harness.toml, else [tool.sse-harness] in"
        " ./pyproject.toml, else the shipped defaults)",
    )
    group.add_argument(
        "--sse-calibration-ms",
        type=float,
        default=20.0,
        help="cadence of the calibration stream each process runs (0: none)",
    )


def _stamps(name: str, path: str) -> StamperFactory:
    if name != "chat":
        return STAMPERS[name]
    rate = parse_qs(urlsplit(path).query).get("tokens_per_s")
    if not rate:  # the pace is unknown: no lateness
        return STAMPERS["none"]
    return chat_stamper(float(rate[0]))


def stream_spec(host: str, options: argparse.Namespace) -> StreamSpec:
    """The stream each user runs, from Locust's ``--host`` and the ``--sse-*`` options."""
    return StreamSpec(
        url=host.rstrip("/") + options.sse_path,
        method=options.sse_method.upper(),
        body=read_body(options.sse_body) if options.sse_body else None,
        headers=tuple(parse_header(h, "--sse-header") for h in options.sse_header if h.strip()),
        max_events=options.sse_max_events,
        max_seconds=options.sse_max_seconds,
        timeout_s=options.sse_timeout,
        reconnect=options.sse_reconnect,
        track_ids=options.sse_ids == "sequence",
        done_data=options.sse_done or None,
        stamps=_stamps(options.sse_stamps, options.sse_path),
        cafile=options.sse_cafile or None,
        insecure=options.sse_insecure,
    )
