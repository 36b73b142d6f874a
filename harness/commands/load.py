"""``sse-harness load [URL]``: a bounded, headless Locust run with one of the shipped profiles.

Without a URL it starts the reference server in a process of its own and loads its counter
stream, so the command shows a whole run (report and gate verdict) on any machine. ``--app
module:attr`` serves the user's own app once for the run (``harness.apps``; its output in the
report folder's ``app.log``) and loads its ``--path`` (the stream profile's ``--sse-path``). An
``https://`` URL is verified against the system CAs, or ``--cafile``'s, or not at all with
``--insecure``. ``--header``, ``--header-file`` and ``--header-env`` give request headers (handed
to Locust in a private file, never on its command line; secret values are masked in the report
and in every message). ``--locust ARGS`` passes more arguments to Locust
(e.g. ``--locust '--sse-max-events 10'``).
Exit codes: 0 the gate passed, 1 a breach, 2 usage error or a run that could not start.
The last line on stdout (after Locust's tables) is the verdict in words,
``load: PASS: ...`` or ``load: BREACH: ...``; with ``--json`` it goes to stderr instead.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from harness.commands.options import (
    add_app_options,
    add_header_options,
    add_thresholds_option,
    add_tls_options,
    app_options_problem,
    app_path,
    given_headers,
)

if TYPE_CHECKING:
    from harness.redact import Redactor

__all__ = ["add_arguments", "run"]

HELP = "bounded headless Locust run (default: the reference server)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from harness.load.run import DEFAULT_RUN_TIME, PROFILES
    from harness.load.soak import SAMPLE_S, SETTLE_S

    parser.add_argument(
        "url", nargs="?", help="SSE endpoint, e.g. http://host:8000/events (default: reference)"
    )
    add_app_options(parser)
    parser.add_argument("--profile", choices=PROFILES, default="stream", help="locustfile")
    parser.add_argument("-u", "--users", type=int, default=20, help="concurrent users (20)")
    parser.add_argument("-r", "--spawn-rate", type=float, default=20.0, help="users/s (20)")
    parser.add_argument("-t", "--run-time", help=f"run time, Locust syntax ({DEFAULT_RUN_TIME})")
    parser.add_argument(
        "--processes", type=int, default=1, help="Locust processes on this machine (1)"
    )
    parser.add_argument("--report-dir", type=Path, help="default: reports/<time>/")
    soak = parser.add_argument_group(
        "soak", "a long run that samples memory and live streams and gates their growth"
    )
    soak.add_argument(
        "--soak",
        metavar="DURATION",
        help="run a soak of this length, Locust syntax (2h, 30m): instead of --run-time",
    )
    soak.add_argument(
        "--target-pid",
        type=int,
        metavar="PID",
        help="the target's process on this machine, whose memory the soak samples (default:"
        " the server this command starts, without a URL or with --app)",
    )
    soak.add_argument(
        "--soak-sample-s",
        type=float,
        default=SAMPLE_S,
        metavar="SECONDS",
        help=f"seconds between the soak's samples ({SAMPLE_S:g})",
    )
    soak.add_argument(
        "--soak-settle-s",
        type=float,
        default=SETTLE_S,
        metavar="SECONDS",
        help=f"after the clients left, how long the target's streams get to end ({SETTLE_S:g})",
    )
    soak.add_argument(
        "--contract",
        metavar="BASE_URL",
        help="where the target serves the scripting contract's /_observe/streams (default: the"
        " URL's origin; 'none': not observed); its token: SSE_HARNESS_CONTRACT_TOKEN",
    )
    add_header_options(parser)
    add_tls_options(parser)
    add_thresholds_option(parser, "the gate")
    parser.add_argument(
        "--json",
        action="store_true",
        help="print load.json on stdout (Locust's console output goes to stderr)",
    )
    parser.add_argument(
        "--locust",
        default="",
        metavar="ARGS",
        help="more Locust arguments, one string: --locust '--sse-max-events 10'",
    )


def run(args: argparse.Namespace) -> int:
    from harness.commands.reach import unreachable
    from harness.redact import Redactor
    from harness.request_args import http_url
    from harness.server.target import Target

    headers = given_headers(args)
    redactor = Redactor.for_request(args.url, headers, names=args.redact_header)
    if problem := app_options_problem(args) or _soak_problem(args):
        print(f"sse-harness load: {problem}", file=sys.stderr)
        return 2
    if args.app:
        return _run_app(args, headers, redactor)
    if args.url:
        try:
            http_url(args.url)
        except argparse.ArgumentTypeError as exc:
            print(f"sse-harness load: {redactor.text(str(exc))}", file=sys.stderr)
            return 2
        target = Target(
            args.url, headers=tuple(headers), cafile=args.cafile, insecure=args.insecure
        )
        if problem := unreachable(target, redact_headers=args.redact_header):
            print(f"sse-harness load: {problem}", file=sys.stderr)
            return 2
        return _run(args, args.url, headers, redactor)
    from reference_server.launch import serve_subprocess

    with serve_subprocess(["--no-access-log"]) as server:
        # no path: the profile's default stream
        return _run(args, server.url, headers, redactor, pid=server.popen.pid)


def _soak_problem(args: argparse.Namespace) -> str | None:
    """What makes the soak options unusable, before anything starts."""
    if args.soak is None:
        if args.target_pid is not None or args.contract is not None:
            return "--target-pid and --contract belong to a soak: give --soak DURATION"
        return None
    if args.run_time is not None:
        return "--soak DURATION is the run's length: give it or --run-time, not both"
    if args.target_pid is not None and args.target_pid < 1:
        return f"--target-pid {args.target_pid}: a process id is 1 or more"
    return None


def _soak_arguments(args: argparse.Namespace, pid: int | None) -> list[str]:
    """The Locust options of ``--soak``: the target's pid is the one given, or the process
    this command started (the embedded server, the --app)."""
    if args.soak is None:
        return []
    given = ["--sse-soak", "--sse-soak-sample-s", str(args.soak_sample_s)]
    given += ["--sse-soak-settle-s", str(args.soak_settle_s)]
    if (target := args.target_pid or pid) is not None:
        given += ["--sse-target-pid", str(target)]
    if args.contract is not None:
        given += ["--sse-contract", args.contract]
    return given


def _run_app(args: argparse.Namespace, headers: list[tuple[str, str]], redactor: Redactor) -> int:
    """The app served once for the whole Locust run; ``app.log`` joins the report folder."""
    from harness.apps import AppError, serve_app
    from harness.report.pages import new_run_folder

    args.report_dir = args.report_dir or new_run_folder()
    served = serve_app(
        args.app,
        log=args.report_dir / "app.log",
        factory=args.factory,
        start_timeout_s=args.app_timeout,
    )
    try:
        with served as app:
            return _run(args, app.url + app_path(args), headers, redactor, pid=app.process.pid)
    except AppError as exc:
        print(f"sse-harness load: {exc}", file=sys.stderr)
        return 2


def _run(
    args: argparse.Namespace,
    url: str,
    headers: list[tuple[str, str]],
    redactor: Redactor,
    *,
    pid: int | None = None,
) -> int:
    from harness.load.run import DEFAULT_RUN_TIME, LoadError, LoadOptions, run_load

    options = LoadOptions(
        url=url,
        profile=args.profile,
        users=args.users,
        spawn_rate=args.spawn_rate,
        run_time=args.soak or args.run_time or DEFAULT_RUN_TIME,
        processes=args.processes,
        report_dir=args.report_dir,
        thresholds=args.thresholds,
        cafile=Path(args.cafile) if args.cafile else None,
        insecure=args.insecure,
        locust_args=(*_soak_arguments(args, pid), *shlex.split(args.locust)),
        stdout=sys.stderr if args.json else None,
        headers=tuple(headers),
        redact_headers=tuple(args.redact_header),
    )
    try:
        result = run_load(options)
    except LoadError as exc:
        print(f"sse-harness load: {redactor.text(str(exc))}", file=sys.stderr)
        return 2
    if result.report_path.is_file():
        from harness.report.load import load_verdict_line

        text = result.report_path.read_text(encoding="utf-8")
        verdict = load_verdict_line(json.loads(text))
        if args.json:
            print(text, end="")
        print(verdict, file=sys.stderr if args.json else sys.stdout)
    return result.exit_code
