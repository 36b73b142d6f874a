"""``sse-harness load [URL]``: a bounded, headless Locust run with one of the load profiles.

Without a URL it starts the reference server in a process of its own and loads its counter
stream, so the command shows a whole run (report and gate verdict) on any machine. Locust runs
as a child process (``locust -f locustfiles/<profile>.py --headless``); ``--locust ARGS`` passes
more arguments to it (e.g. ``--locust '--sse-max-events 10 --processes 2'``). The exit code is
Locust's, which the quitting listener sets from the gate: 0 pass, 1 breach; 2 is a usage error.
"""

from __future__ import annotations

import argparse
import contextlib
import shlex
import subprocess
import sys
from pathlib import Path
from typing import TextIO
from urllib.parse import urlsplit

__all__ = ["PROFILES", "add_arguments", "run", "run_locust"]

LOCUSTFILES = Path(__file__).resolve().parents[2] / "locustfiles"
PROFILES = ("stream", "llm", "broadcast", "reconnect")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "url", nargs="?", help="SSE endpoint, e.g. http://host:8000/events (default: reference)"
    )
    parser.add_argument("--profile", choices=PROFILES, default="stream", help="locustfile")
    parser.add_argument("-u", "--users", type=int, default=20, help="concurrent users (20)")
    parser.add_argument("-r", "--spawn-rate", type=float, default=20.0, help="users/s (20)")
    parser.add_argument("-t", "--run-time", default="10s", help="run time, Locust syntax (10s)")
    parser.add_argument("--report-dir", type=Path, help="default: reports/<time>/")
    parser.add_argument(
        "--json",
        action="store_true",
        help="print load.json on stdout (Locust's console output goes to stderr)",
    )
    parser.add_argument(
        "--locust",
        default="",
        metavar="ARGS",
        help="more Locust arguments, one string: --locust '--sse-max-events 10 --processes 2'",
    )


def run(args: argparse.Namespace) -> int:
    from harness.check import reachable

    if args.url and (problem := reachable(args.url)):
        print(f"sse-harness load: {problem}", file=sys.stderr)
        return 2
    if not args.json:
        return run_locust(args)
    if args.report_dir is None:
        from harness.report.pages import new_run_folder

        args.report_dir = new_run_folder()
    code = run_locust(args, stdout=sys.stderr)
    report = args.report_dir / "load.json"
    if report.is_file():
        print(report.read_text(encoding="utf-8"), end="")
    return code


def run_locust(args: argparse.Namespace, stdout: TextIO | None = None) -> int:
    """The run behind ``sse-harness load``; ``stdout`` takes Locust's console output (``check``
    sends it to stderr, so that ``--json`` leaves stdout to the JSON report)."""
    locustfile = LOCUSTFILES / f"{args.profile}.py"
    if not locustfile.exists():
        print(f"sse-harness load: no {locustfile} (run from a source checkout)", file=sys.stderr)
        return 2
    extra = shlex.split(args.locust)
    with contextlib.ExitStack() as stack:
        if args.url:
            parts = urlsplit(args.url)
            if parts.scheme != "http" or not parts.netloc:
                print(
                    f"sse-harness load: expected an http:// URL, got {args.url!r}", file=sys.stderr
                )
                return 2
            host = f"{parts.scheme}://{parts.netloc}"
            path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            extra = ["--sse-path", path, *extra]
        else:
            from reference_server.launch import serve_subprocess

            server = stack.enter_context(serve_subprocess(["--no-access-log"]))
            host = server.url
        command = [
            sys.executable, "-m", "locust", "-f", str(locustfile), "--headless",
            "--host", host, "-u", str(args.users), "-r", str(args.spawn_rate),
            "-t", args.run_time, *extra,
        ]  # fmt: skip
        if args.report_dir is not None:
            command += ["--sse-report-dir", str(args.report_dir)]
        if stdout is None:
            return subprocess.run(command, check=False).returncode
        done = subprocess.run(command, check=False, stdout=subprocess.PIPE, text=True)
        stdout.write(done.stdout)
        return done.returncode
