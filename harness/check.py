"""``sse-harness check``: the server-conformance suite, then a short load probe.

Without a URL it starts the embedded reference server and grades its resumable counter stream,
so the command shows what a clean run looks like on any machine. After the cases, a bounded
headless Locust run (``--load-users`` streams for ``--load-seconds``; 0 users skips it) measures
the same target under concurrency; both land in one report folder. Exit codes: 0 nothing FAILED
(and nothing the harness could not run) and the load gate passed, 1 a case FAILED or ERRORed or
the gate found a breach, 2 usage error or the target cannot be reached (one line naming the
cause, never a traceback).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from harness.cases.context import Target
from harness.probe import Window
from harness.request_args import parse_header, read_body

__all__ = [
    "DEFAULT_PATH",
    "add_arguments",
    "reachable",
    "run",
    "target_from_args",
]

#: The reference server's stream that ``check`` grades when no URL is given: short enough to see
#: it close (so end-of-stream cases get a verdict) and resumable (so resume cases run).
DEFAULT_PATH = "/counter?count=40&interval_ms=50"

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def add_target_arguments(parser: argparse.ArgumentParser) -> None:
    """The options that say what to request; shared by check and the pytest plugin's docs."""
    parser.add_argument("url", nargs="?", help="SSE endpoint (default: embedded reference server)")
    parser.add_argument("--method", default="GET", help="HTTP method (default: GET)")
    parser.add_argument(
        "--body",
        help="request body, e.g. JSON for POST; @FILE reads a file. Sent as application/json"
        " unless a --header sets Content-Type",
    )
    parser.add_argument(
        "--header",
        action="append",
        default=[],
        type=parse_header,
        metavar="NAME:VALUE",
        help="extra request header (repeatable)",
    )
    parser.add_argument(
        "--resumable",
        action="store_true",
        help="the stream resumes after Last-Event-ID (enables resume cases, S-18)",
    )
    parser.add_argument(
        "--contract",
        metavar="BASE_URL",
        help="where the scripting contract is mounted (default: the URL's origin; '' for none)",
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_target_arguments(parser)
    parser.add_argument(
        "--cases", metavar="PATTERN", help="case ids to run, e.g. 'server.framing.*'"
    )
    parser.add_argument(
        "--report-dir",
        type=Path,
        help="where to write conformance.json, junit.xml, index.html (default: reports/<time>/)",
    )
    parser.add_argument("--window-events", type=int, default=50, help="events to read (default 50)")
    parser.add_argument(
        "--window-seconds", type=float, default=10.0, help="seconds to read (default 10)"
    )
    parser.add_argument(
        "--keepalive-bound",
        type=float,
        default=20.0,
        metavar="SECONDS",
        help="longest silence before a keep-alive is due (S-16; default 20)",
    )
    parser.add_argument(
        "--header-timeout",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="longest wait for response headers before the target counts as down (default 10)",
    )
    parser.add_argument(
        "--load-users",
        type=int,
        default=200,
        metavar="N",
        help="concurrent streams in the load probe after the cases (default 200; 0 skips it)",
    )
    parser.add_argument(
        "--load-seconds",
        type=int,
        default=20,
        metavar="S",
        help="how long the load probe runs (default 20)",
    )
    parser.add_argument("--json", action="store_true", help="print the JSON report on stdout")


def target_from_args(args: argparse.Namespace, url: str) -> Target:
    body: bytes | None = None
    headers = list(args.header)
    if args.body is not None:
        body = read_body(args.body)
        if not any(name.lower() == "content-type" for name, _ in headers):
            headers.append(("Content-Type", "application/json"))  # as the load user sends it
    return Target(
        url=url,
        method=args.method.upper(),
        body=body,
        headers=tuple(headers),
        resumable=args.resumable,
        contract=args.contract,
    )


@contextlib.contextmanager
def _reference_server() -> Iterator[str]:
    from reference_server.app import create_app
    from reference_server.launch import serve_in_thread

    with serve_in_thread(create_app()) as base:
        yield base


def reachable(url: str, timeout: float = 10.0) -> str | None:
    """None when ``url`` answers HTTP at all (any status); else a one-line cause."""
    return asyncio.run(_reachable(Target(url), timeout))


async def _reachable(target: Target, timeout: float) -> str | None:
    import aiohttp

    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as session,
            session.request(
                target.method, target.url, data=target.body, headers=dict(target.headers)
            ) as response,
        ):
            response.close()
            return None
    except TimeoutError:
        return f"no answer from {target.url} within {timeout:.0f} s"
    except aiohttp.ClientConnectorError as exc:
        return f"cannot connect to {target.url}: {exc.os_error or exc}"
    except (aiohttp.ClientError, OSError, ValueError) as exc:
        return f"cannot reach {target.url}: {type(exc).__name__}: {exc}"


def run(args: argparse.Namespace) -> int:
    with contextlib.ExitStack() as stack:
        if args.url:
            url = args.url
        else:
            url = stack.enter_context(_reference_server()) + DEFAULT_PATH
            args.resumable = True
        try:
            target = target_from_args(args, url)
        except OSError as exc:
            print(f"sse-harness check: cannot read the body: {exc}", file=sys.stderr)
            return EXIT_USAGE
        window = Window(
            max_events=args.window_events,
            max_seconds=args.window_seconds,
            header_timeout=args.header_timeout,
        )
        problem = asyncio.run(_reachable(target, window.header_timeout))
        if problem:
            print(f"sse-harness check: {problem}", file=sys.stderr)
            return EXIT_USAGE
        report = _run_with_progress(target, args, window)
        from harness.report import write_conformance
        from harness.report.pages import new_run_folder

        directory = args.report_dir or new_run_folder()

        paths = write_conformance(report, directory)
        load_code = _load_probe(target, args, directory) if args.load_users > 0 else EXIT_OK
    if args.json:
        print(json.dumps(report, indent=2, ensure_ascii=False))
    else:
        _print_summary(report, paths[-1], directory / "load.json")
    if load_code == EXIT_USAGE:
        return EXIT_USAGE
    failed = report["summary"]["FAILED"] + report["summary"]["ERROR"]
    return EXIT_FAILED if failed or load_code else EXIT_OK


def _load_probe(target: Target, args: argparse.Namespace, directory: Path) -> int:
    """A bounded Locust run against the same request; its report joins the same folder."""
    import shlex

    from harness.load import cli as load

    # Streams end when the target ends them (a finite stream that closes is complete, not
    # truncated) or when the probe does.
    locust = ["--only-summary", "--loglevel", "WARNING", "--sse-method", target.method]
    locust += ["--sse-max-events", "0", "--sse-max-seconds", str(args.load_seconds)]
    if target.body is not None:
        locust += ["--sse-body", target.body.decode("utf-8", "replace")]
    for name, value in target.headers:
        locust += ["--sse-header", f"{name}:{value}"]
    probe = argparse.Namespace(
        url=target.url,
        profile="stream",
        users=args.load_users,
        spawn_rate=args.load_users / max(1.0, args.load_seconds / 4),  # all up in a quarter
        run_time=f"{args.load_seconds}s",
        report_dir=directory,
        locust=shlex.join(locust),
    )
    return load.run_locust(probe, stdout=sys.stderr)


def _run_with_progress(target: Target, args: argparse.Namespace, window: Window) -> dict[str, Any]:
    from rich.progress import Progress

    from harness.cases import load_catalog, select
    from harness.runner import run_cases

    load_catalog()
    total = len(select(args.cases))
    with Progress(transient=True, disable=args.json or not sys.stderr.isatty()) as progress:
        task = progress.add_task(f"checking {target.url}", total=total)
        result = asyncio.run(
            run_cases(
                target,
                pattern=args.cases,
                window=window,
                keepalive_bound_s=args.keepalive_bound,
                on_result=lambda _: progress.advance(task),
            )
        )
    return result.as_json()


def _print_summary(report: dict[str, Any], page: Path, load_json: Path) -> None:
    from rich.console import Console
    from rich.table import Table

    from harness.report.render import OUTCOME_COLOURS

    console = Console()
    table = Table(title=f"SSE conformance: {report['target']['url']}")
    for column in ("case", "outcome", "rules", "observed"):
        table.add_column(column, overflow="fold")
    for case in report["cases"]:
        if case["outcome"] == "OK":
            continue
        colour = OUTCOME_COLOURS[case["outcome"]]
        table.add_row(
            case["id"],
            f"[{colour}]{case['outcome']}[/]",
            ",".join(case["rules"]),
            case["evidence"]["observed"],
        )
    console.print(table)
    counts = "  ".join(
        f"[{OUTCOME_COLOURS[k]}]{k}[/] {v}" for k, v in report["summary"].items() if v
    )
    console.print(f"{len(report['cases'])} cases in {report['duration_s']} s: {counts}")
    if load_json.is_file():
        load = json.loads(load_json.read_text(encoding="utf-8"))
        metrics, integrity = load["metrics"], load["integrity"]
        verdict = "[green]PASS[/]" if load["gate"]["passed"] else "[red]BREACH[/]"
        console.print(
            f"load probe: {load['users']} users, {integrity['events']} events,"
            f" {integrity['lost']} lost, TTFE p99 {metrics['ttfe_ms']['p99']} ms,"
            f" latency p99 {metrics['latency_ms']['p99']} ms; gate {verdict}"
            + "".join(f"\n  breach: {b}" for b in load["gate"]["breaches"])
        )
    console.print(f"report: {page}")
