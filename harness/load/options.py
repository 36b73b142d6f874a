"""The ``--sse-*`` options of the locustfiles: Locust custom arguments, so each is also settable
from the web UI and from the environment (``LOCUST_SSE_PATH`` ...), and travels from the master
to its workers with the rest of Locust's options.

Locust lists an argument in its web UI's start form only when its parser's own ``add_argument``
marked it (``include_in_web_ui``); an argument group's ``add_argument`` is argparse's and marks
nothing, so every option here is marked by :func:`_shown`, and given its ``LOCUST_SSE_*``
variable there too (Locust reads the environment only for options that name one).

Secret header values need not sit on Locust's command line: ``--sse-header-file FILE`` and
``--sse-header-env NAME=VARIABLE`` give them, ``--sse-header`` is masked in the web UI, and
:func:`redactor` masks them (and the URL's credentials) in ``load.json`` and its page.

``--sse-max-events`` and ``--sse-max-seconds`` are the client's bounds, never a promise: only
``--sse-expect-events`` and ``--sse-expect-endless`` (and a profile's done event) make a stream
the server ends cleanly count as truncated.

Each locustfile gives its own :class:`Defaults` (the chat profile POSTs a JSON body, the
reconnect profile reconnects ...); the option names are the same everywhere.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from harness import mcp
from harness.load import soak
from harness.load.chat import chat_stamper
from harness.load.mcp_figures import McpSettings
from harness.load.mcp_session import McpSpec
from harness.load.session import StreamSpec
from harness.load.stamps import STAMPERS, StamperFactory
from harness.redact import Redactor
from harness.request_args import (
    header_from_env,
    parse_header,
    read_body,
    read_header_file,
    split_userinfo,
)

__all__ = [
    "DEFAULT_PATH",
    "Defaults",
    "add_arguments",
    "check_options",
    "mcp_settings",
    "mcp_spec",
    "redactor",
    "stream_spec",
]

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
    """Add the options to Locust's parser (``init_command_line_parser``), each shown in the web
    UI's start form."""
    group = parser.add_argument_group("sse-harness", f"SSE load options ({defaults.profile})")

    def option(*names: str, secret: bool = False, **kwargs: Any) -> None:
        _shown(group.add_argument(*names, **kwargs), secret=secret)

    option("--sse-path", default=defaults.path, help="stream path and query")
    option("--sse-method", default=defaults.method, help="HTTP method")
    option(
        "--sse-body", default=defaults.body, help="request body (JSON for POST); @FILE reads a file"
    )
    option(
        "--sse-header",
        action="append",
        default=[],
        metavar="NAME:VALUE",
        secret=True,
        help="extra request header (repeatable; comma-separated in the web UI)",
    )
    option(
        "--sse-header-file",
        action="append",
        default=[],
        metavar="FILE",
        help="request headers from a file of 'Name: value' lines ('#' comments; repeatable)",
    )
    option(
        "--sse-header-env",
        action="append",
        default=[],
        metavar="NAME=VARIABLE",
        help="request header NAME with the value of environment variable VARIABLE (repeatable)",
    )
    option(
        "--sse-redact-header",
        action="append",
        default=[],
        metavar="NAME",
        help="mask this header's value in load.json (repeatable); Authorization, Cookie and"
        " names with key, token, secret or password always are",
    )
    option(
        "--sse-max-events",
        type=int,
        default=defaults.max_events,
        help="read at most N events per stream, then start the next (0: no bound); a bound,"
        " not a promise: a stream the server ends sooner is a clean end",
    )
    option(
        "--sse-max-seconds",
        type=float,
        default=defaults.max_seconds,
        help="read each stream for at most N seconds",
    )
    option(
        "--sse-expect-events",
        type=int,
        default=0,
        metavar="N",
        help="the server promises at least N events per stream: a stream it ends sooner is"
        " truncated, a failure (0: no promise)",
    )
    option(
        "--sse-expect-endless",
        action="store_true",
        default=False,
        help="the server promises never to end a stream: one it ends before the client's bound"
        " is truncated, a failure",
    )
    option("--sse-timeout", type=float, default=30.0, help="longest wait for headers or bytes")
    option(
        "--sse-reconnect",
        action="store_true",
        default=defaults.reconnect,
        help="reconnect with Last-Event-ID when the server closes or the connection drops",
    )
    option(
        "--sse-stamps",
        default=defaults.stamps,
        choices=[*STAMPERS, "chat"],
        help="where send/intended stamps come from (json payload keys, chat pacing, none)",
    )
    option(
        "--sse-ids",
        default=defaults.ids,
        choices=["sequence", "none"],
        help="track ids as a sequence (loss, duplication) or not at all",
    )
    option(
        "--sse-done",
        default=defaults.done_data,
        help="data of the event that ends a stream; a stream that ends without it is truncated",
    )
    option(
        "--sse-cafile",
        default="",
        metavar="PATH",
        help="CA certificates (PEM) an https:// target must chain to (default: system CAs)",
    )
    option(
        "--sse-insecure",
        action="store_true",
        default=False,
        help="accept any certificate from an https:// target (still TLS; nothing verified)",
    )
    option("--sse-report-dir", default="", help="where load.json/load.html go (reports/<time>/)")
    option(
        "--sse-thresholds",
        default="",
        help="gate thresholds file (default: ./sse-harness.toml, else [tool.sse-harness] in"
        " ./pyproject.toml, else the shipped defaults)",
    )
    option(
        "--sse-calibration-ms",
        type=float,
        default=20.0,
        help="cadence of the calibration stream each process runs (0: none)",
    )
    _soak_arguments(option)
    if defaults.profile == "mcp":
        _mcp_arguments(option)


def _soak_arguments(option: Any) -> None:
    """A soak run's options (``harness.load.soak``)."""
    option(
        "--sse-soak",
        action="store_true",
        default=False,
        help="soak run: sample the target's memory, live streams and tasks and this run's own"
        " memory over time, and gate their growth (bounded: needs --run-time when headless)",
    )
    option(
        "--sse-soak-sample-s",
        type=float,
        default=soak.SAMPLE_S,
        metavar="SECONDS",
        help="seconds between a soak run's samples",
    )
    option(
        "--sse-soak-settle-s",
        type=float,
        default=soak.SETTLE_S,
        metavar="SECONDS",
        help="after the clients left, how long the target's live streams get to end",
    )
    option(
        "--sse-target-pid",
        type=int,
        default=0,
        metavar="PID",
        help="the target's process on this machine, whose memory a soak run samples (0: none)",
    )
    option(
        "--sse-contract",
        default="",
        metavar="BASE_URL",
        help="where the target serves the scripting contract's /_observe/streams (default: the"
        " host; 'none': not observed); its token is read from SSE_HARNESS_CONTRACT_TOKEN",
    )


def _mcp_arguments(option: Any) -> None:
    """The mcp profile's own options (``harness.load.mcp_session.McpSpec``)."""
    option(
        "--sse-mcp-tool",
        default="test_tool_with_progress",
        metavar="NAME",
        help="the tool each call calls: one that streams progress, then answers",
    )
    option(
        "--sse-mcp-drop-share",
        type=float,
        default=0.1,
        metavar="SHARE",
        help="share of calls (0..1) whose stream the user drops after the first message,"
        " then resumes by GET with Last-Event-ID after the stream's retry",
    )
    option(
        "--sse-mcp-parallel",
        type=int,
        default=2,
        metavar="N",
        help="tools/call requests each session sends at once (its streams then share the"
        " session's event store)",
    )
    option(
        "--sse-mcp-version",
        default=mcp.NEWEST_HANDSHAKE,
        choices=list(mcp.HANDSHAKE_REVISIONS[1:]),
        help="the MCP revision offered in initialize",
    )


def _shown(action: argparse.Action, *, secret: bool = False) -> None:
    """Mark an option for the web UI's start form, as Locust's own ``add_argument`` would (a
    secret one in a masked field), and give it its ``LOCUST_SSE_*`` variable, as
    configargparse's ``add_argument(env_var=...)`` would."""
    action.env_var = "LOCUST_" + action.dest.upper()  # type: ignore[attr-defined]
    action.include_in_web_ui = True  # type: ignore[attr-defined]
    action.is_secret = secret  # type: ignore[attr-defined]
    action.is_required = False  # type: ignore[attr-defined]
    action.is_multiple = False  # type: ignore[attr-defined]


def check_options(host: str | None, options: argparse.Namespace) -> None:
    """Build the stream once before any user runs, so that a value every stream would fail on
    (a contradictory bound, a bad header, a missing ``@FILE``, a URL without a scheme) is one
    ``ValueError`` naming it, not a failure per stream. Without a host yet (the web UI asks for
    it), the URL is not checked."""
    _check_soak(options)
    try:
        stream_spec(host or "http://127.0.0.1", options)
        if hasattr(options, "sse_mcp_tool"):
            mcp_spec(host or "http://127.0.0.1", options)
    except (ValueError, argparse.ArgumentTypeError, OSError) as exc:
        raise ValueError(f"--sse-* options: {exc}") from exc


#: The shortest interval between a soak's samples.
MIN_SOAK_SAMPLE_S = 0.05


def _check_soak(options: argparse.Namespace) -> None:
    """A soak's options that would make its figures meaningless, or the run unbounded."""
    if options.sse_soak_sample_s < MIN_SOAK_SAMPLE_S or options.sse_soak_settle_s < 0:
        raise ValueError(
            f"--sse-soak-sample-s must be >= {MIN_SOAK_SAMPLE_S} and --sse-soak-settle-s >= 0"
        )
    pid = options.sse_target_pid
    if pid < 0 or (pid and not Path(f"/proc/{pid}").is_dir()):
        raise ValueError(f"--sse-target-pid {pid}: no such process on this machine")
    if options.sse_soak and getattr(options, "headless", False) and not options.run_time:
        raise ValueError("--sse-soak: a soak run must be bounded; give its --run-time (-t)")


def _stamps(name: str, path: str) -> StamperFactory:
    if name != "chat":
        return STAMPERS[name]
    rate = parse_qs(urlsplit(path).query).get("tokens_per_s")
    if not rate:  # the pace is unknown: no lateness
        return STAMPERS["none"]
    return chat_stamper(float(rate[0]))


def _headers(options: argparse.Namespace) -> list[tuple[str, str]]:
    """The headers of ``--sse-header-file``, ``--sse-header-env`` and ``--sse-header``, in that
    order (as ``sse-harness check`` reads its own)."""
    files = _given(options.sse_header_file)
    return [
        *(header for path in files for header in read_header_file(path, "--sse-header-file")),
        *(header_from_env(h, "--sse-header-env") for h in _given(options.sse_header_env)),
        *(parse_header(h, "--sse-header") for h in _given(options.sse_header)),
    ]


def _given(values: list[str]) -> list[str]:
    """A repeatable option's values (the web UI splits its field at commas): empty ones are no
    value."""
    return [v.strip() for v in values if v.strip()]


def redactor(host: str, options: argparse.Namespace) -> Redactor:
    """What ``load.json`` must mask: the secret headers' values and the URL's credentials."""
    return Redactor.for_request(
        host.rstrip("/") + options.sse_path,
        _headers(options),
        names=_given(options.sse_redact_header),
    )


def stream_spec(host: str, options: argparse.Namespace) -> StreamSpec:
    """The stream each user runs, from Locust's ``--host`` and the ``--sse-*`` options. A URL's
    ``user:pass@`` becomes a Basic ``Authorization`` header, as ``check``'s client sends it."""
    url, basic = split_userinfo(host.rstrip("/") + options.sse_path)
    headers = [*([basic] if basic else []), *_headers(options)]
    return StreamSpec(
        url=url,
        method=options.sse_method.upper(),
        body=read_body(options.sse_body) if options.sse_body else None,
        headers=tuple(headers),
        max_events=options.sse_max_events,
        max_seconds=options.sse_max_seconds,
        expect_events=options.sse_expect_events,
        expect_endless=options.sse_expect_endless,
        timeout_s=options.sse_timeout,
        reconnect=options.sse_reconnect,
        track_ids=options.sse_ids == "sequence",
        done_data=options.sse_done or None,
        stamps=_stamps(options.sse_stamps, options.sse_path),
        cafile=options.sse_cafile or None,
        insecure=options.sse_insecure,
    )


def mcp_spec(host: str, options: argparse.Namespace) -> McpSpec:
    """What each MCP session does: the stream's endpoint, headers and bounds, and the
    ``--sse-mcp-*`` options."""
    return McpSpec(
        stream=stream_spec(host, options),
        tool=options.sse_mcp_tool,
        drop_share=options.sse_mcp_drop_share,
        parallel=options.sse_mcp_parallel,
        version=options.sse_mcp_version,
    )


def mcp_settings(options: argparse.Namespace) -> McpSettings:
    """The ``--sse-mcp-*`` options as load.json's ``mcp`` section records them."""
    return McpSettings(
        tool=options.sse_mcp_tool,
        drop_share=options.sse_mcp_drop_share,
        parallel=options.sse_mcp_parallel,
        version=options.sse_mcp_version,
    )
