"""``sse-harness check [URL | --app MODULE:ATTR --path PATH]``: the server-conformance suite,
then a short load probe.

Without a URL it starts the embedded reference server and grades its resumable counter stream,
so the command shows what a clean run looks like on any machine. With ``--app`` it serves the
user's own app for the run (``harness.apps``: its own process, a free loopback port, its output
in the report folder's ``app.log``) and grades ``--path`` on it. After the cases, a bounded
headless Locust run (``--load-users`` streams for ``--load-seconds``; 0 users skips it) measures
the same target under concurrency; both land in one report folder. Exit codes: 0 nothing FAILED
(and nothing the harness could not run) and the load gate passed; 1 a case FAILED or ERRORed or
the gate found a breach; 2 usage error, a target that cannot be reached or a load probe that
could not start (one line naming the cause, never a traceback); 130 interrupted (Ctrl-C), after
writing the partial report.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.commands.options import (
    add_app_options,
    add_header_options,
    add_profile_options,
    add_thresholds_option,
    add_tls_options,
    app_options_problem,
    app_path,
    given_headers,
    profile_fields,
)
from harness.request_args import http_url

if TYPE_CHECKING:
    from harness.redact import Redactor
    from harness.server.check import CheckOptions, CheckResult
    from harness.server.target import Target

__all__ = ["DEFAULT_PATH", "add_arguments", "run"]

HELP = "grade an SSE endpoint against the standard, then load it"

#: The reference server's stream that ``check`` grades when no URL is given: short enough to see
#: it close (so end-of-stream cases get a verdict) and resumable (so resume cases run).
DEFAULT_PATH = "/counter?count=40&interval_ms=50"
#: ... and its MCP endpoint, for ``--profile mcp``.
MCP_DEFAULT_PATH = "/mcp"
DEFAULT_LOAD_USERS = 200

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("url", nargs="?", help="SSE endpoint (default: embedded reference server)")
    add_app_options(parser)
    parser.add_argument("--method", default="GET", help="HTTP method (default: GET)")
    parser.add_argument(
        "--body",
        help="request body, e.g. JSON for POST; @FILE reads a file. Sent as application/json"
        " unless a --header sets Content-Type",
    )
    add_header_options(parser)
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
    parser.add_argument(
        "--contract-token",
        metavar="TOKEN",
        help="the token the app's locked scripting contract expects (default: the"
        " SSE_HARNESS_CONTRACT_TOKEN environment variable, which keeps it off the command line)",
    )
    add_tls_options(parser)
    protocol = parser.add_mutually_exclusive_group()
    protocol.add_argument(
        "--http1",
        dest="http",
        action="store_const",
        const="1.1",
        default="auto",
        help="speak HTTP/1.1 only (default: HTTP/2 when an https:// server offers it by ALPN)",
    )
    protocol.add_argument(
        "--http2",
        dest="http",
        action="store_const",
        const="2",
        help="speak HTTP/2 only: by ALPN over https://, h2c with prior knowledge over http://"
        " (without a URL: the embedded server under hypercorn over TLS; --app: the app under"
        " hypercorn, h2c)",
    )
    add_profile_options(parser)
    parser.add_argument(
        "--cases",
        metavar="PATTERN",
        help="case ids to run: globs or group prefixes, comma-separated ('server.framing')",
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
        help="longest silence tolerated before a keep-alive comment is due (S-16; default 20);"
        " a silence counts as too long only beyond the bound plus 5%% of it (at least 0.1 s), so"
        " a server that sends a keep-alive exactly every BOUND seconds passes",
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
        default=None,
        metavar="N",
        help="concurrent streams in the load probe after the cases (default 200; 0 skips it;"
        " the mcp profile has no load probe yet)",
    )
    parser.add_argument(
        "--load-seconds",
        type=int,
        default=20,
        metavar="S",
        help="how long the load probe runs (default 20)",
    )
    add_thresholds_option(parser, "the load probe's gate")
    parser.add_argument("--json", action="store_true", help="print the JSON report on stdout")


@contextlib.contextmanager
def _reference_server(http2: bool) -> Iterator[tuple[str, str | None]]:
    """The embedded reference server's base URL, and the CA file that signs it (HTTP/2: under
    hypercorn over TLS with a throwaway CA; else uvicorn over plain HTTP/1.1)."""
    from reference_server.app import create_app

    if not http2:
        from reference_server.launch import serve_in_thread

        with serve_in_thread(create_app()) as base:
            yield base, None
        return
    import tempfile

    from reference_server.http2 import serve_http2_in_thread
    from reference_server.tls import make_tls_files

    with tempfile.TemporaryDirectory() as folder:
        tls = make_tls_files(Path(folder))
        with serve_http2_in_thread(create_app(), tls=tls) as base:
            yield base, str(tls.ca)


def _fail(message: str) -> int:
    print(f"sse-harness check: {message}", file=sys.stderr)
    return EXIT_USAGE


def run(args: argparse.Namespace) -> int:
    from harness.apps import EXIT_GRACE_S
    from harness.commands.reach import reach
    from harness.redact import Redactor
    from harness.request_args import read_body
    from harness.selection import NoCaseMatched
    from harness.server.cases import load_catalog, select
    from harness.server.check import CheckOptions
    from harness.server.probe import Window
    from harness.server.target import env_contract_token, request_target

    headers = given_headers(args)
    token = args.contract_token or env_contract_token()
    # Every line this command prints goes through it: the run's secrets come from the arguments.
    redactor = Redactor.for_request(args.url, headers, names=args.redact_header, secrets=[token])
    load_catalog()
    if args.profile == "mcp" and args.load_users:
        return _fail("the load probe does not speak MCP yet: leave out --load-users")
    if args.load_users is None:
        args.load_users = 0 if args.profile == "mcp" else DEFAULT_LOAD_USERS
    try:
        total = len(select(args.cases, args.profile))
        body = read_body(args.body) if args.body is not None else None
        if args.url:
            http_url(args.url)
    except (NoCaseMatched, argparse.ArgumentTypeError) as exc:
        return _fail(redactor.text(str(exc)))
    except OSError as exc:
        return _fail(f"cannot read the body: {exc}")
    if problem := app_options_problem(args):
        return _fail(problem)
    with contextlib.ExitStack() as stack:
        url, resumable, cafile = args.url, args.resumable, args.cafile
        report_dir, app = args.report_dir, None
        if args.app:
            from harness.apps import AppError, serve_app
            from harness.report.pages import new_run_folder

            report_dir = report_dir or new_run_folder()
            served = serve_app(
                args.app,
                log=report_dir / "app.log",
                http2=args.http == "2",
                factory=args.factory,
                start_timeout_s=args.app_timeout,
            )
            try:
                app = stack.enter_context(served)
            except AppError as exc:
                return _fail(str(exc))
            url = app.url + app_path(args)
        elif not url:
            base, made_ca = stack.enter_context(_reference_server(args.http == "2"))
            path = MCP_DEFAULT_PATH if args.profile == "mcp" else DEFAULT_PATH
            url, resumable, cafile = base + path, args.profile != "mcp", cafile or made_ca
        target = request_target(
            url,
            method=args.method,
            body=body,
            headers=headers,
            resumable=resumable,
            contract=args.contract,
            cafile=cafile,
            insecure=args.insecure,
            http=args.http,
            contract_token=token,
            **profile_fields(args),
        )
        window = Window(
            max_events=args.window_events,
            max_seconds=args.window_seconds,
            header_timeout=args.header_timeout,
        )
        found = reach(target, timeout=window.header_timeout, redact_headers=args.redact_header)
        if found.problem:
            return _fail((app and app.exited(EXIT_GRACE_S)) or found.problem)
        # An MCP endpoint answers a bare GET with 400 or 405 as often as with a stream: its
        # own cases say what it answered to the requests an MCP client makes.
        not_a_stream = found.not_a_stream if args.profile == "sse" else None
        options = CheckOptions(
            target=target,
            cases=args.cases,
            window=window,
            keepalive_bound_s=args.keepalive_bound,
            report_dir=report_dir,
            not_a_stream=not_a_stream,
            redact_headers=tuple(args.redact_header),
        )
        result = _run_with_progress(options, total, quiet=args.json, shown=redactor.url(url))
        load_code = EXIT_OK
        if args.load_users > 0 and not result.interrupted and not not_a_stream:
            load_code = _load_probe(args, target, result, redactor)
    if args.json:
        print(json.dumps(result.report, indent=2, ensure_ascii=False))
    else:
        _print_summary(result)
    if result.interrupted or load_code == EXIT_INTERRUPTED:
        return EXIT_INTERRUPTED
    if load_code == EXIT_USAGE:
        return EXIT_USAGE
    return EXIT_FAILED if not result.passed or load_code else EXIT_OK


#: The cases whose OK says the stream's ids are unique and one sequence without gaps.
_SEQUENCE_CASES = ("server.ids.1", "server.ids.2")


def _ids_form_one_sequence(report: dict[str, Any]) -> bool:
    """Whether the probe can count lost and duplicated events by id. Where the cases found ids
    repeated or not one sequence (two merged sequences, ids on some events only), counting by id
    would call every repeat a duplicate and breach the gate over what the cases already graded
    (NON-STRICT at most): the probe then measures without id tracking, as ``--sse-ids none``."""
    outcomes = {c["id"]: c["outcome"] for c in report["cases"] if c["id"] in _SEQUENCE_CASES}
    return all(outcome == "OK" for outcome in outcomes.values())


def _load_probe(
    args: argparse.Namespace, target: Target, result: CheckResult, redactor: Redactor
) -> int:
    """A bounded Locust run against the same request; its report joins the same folder. The
    headers reach Locust in a private file, not on its command line (``run_load``)."""
    from harness.load.run import LoadError, LoadOptions, run_load

    # Streams end when the target ends them (a finite stream that closes is complete, not
    # truncated) or when the probe does.
    locust = ["--only-summary", "--loglevel", "WARNING", "--sse-method", target.method]
    locust += ["--sse-max-events", "0", "--sse-max-seconds", str(args.load_seconds)]
    if not _ids_form_one_sequence(result.report):
        locust += ["--sse-ids", "none"]
    if target.body is not None:
        locust += ["--sse-body", target.body.decode("utf-8", "replace")]
    options = LoadOptions(
        url=target.url,
        users=args.load_users,
        spawn_rate=args.load_users / max(1.0, args.load_seconds / 4),  # all up in a quarter
        run_time=f"{args.load_seconds}s",
        report_dir=result.directory,
        thresholds=args.thresholds,
        cafile=Path(target.cafile) if target.cafile else None,
        insecure=target.insecure,
        locust_args=tuple(locust),
        stdout=sys.stderr,
        headers=target.headers,
        redact_headers=tuple(args.redact_header),
    )
    try:
        return run_load(options).exit_code
    except LoadError as exc:
        reason = redactor.text(str(exc))
        print(f"sse-harness check: the load probe could not run: {reason}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED


def _run_with_progress(
    options: CheckOptions, total: int, *, quiet: bool, shown: str
) -> CheckResult:
    """``shown``: the target's URL as it may be printed (redacted)."""
    from dataclasses import replace

    from rich.progress import Progress

    from harness.server.check import run_check

    with Progress(transient=True, disable=quiet or not sys.stderr.isatty()) as progress:
        task = progress.add_task(f"checking {shown}", total=total)
        return run_check(replace(options, on_result=lambda _: progress.advance(task)))


def _print_summary(result: CheckResult) -> None:
    """The verdict first (conformance, then the load probe), then the rows that need a look,
    worst first, each with its next step; the rows left out are counted, never silently gone."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from harness.report.conformance import by_severity, verdict_line
    from harness.report.render import OUTCOME_COLOURS

    report = result.report
    console = Console()
    lines = [verdict_line(report)]
    load_json = result.directory / "load.json" if result.directory else None
    if load_json is not None and load_json.is_file():
        from harness.report.load import load_verdict_line

        lines.append(load_verdict_line(json.loads(load_json.read_text(encoding="utf-8"))))
    for line in lines:
        word = line.split(": ", 2)[1]
        colour = "green" if word == "PASS" else "red"
        console.print(f"[bold {colour}]{escape(line)}[/]", soft_wrap=True)
    if result.interrupted:
        console.print("[red]interrupted[/]: the unfinished cases are ERROR in the report")
    shown = [c for c in by_severity(report["cases"]) if c["outcome"] not in _HIDDEN]
    hidden = {o: report["summary"].get(o, 0) for o in _HIDDEN if report["summary"].get(o)}
    if shown:
        table = Table(
            title=f"SSE conformance: {escape(report['target']['url'])}",
            caption=_hidden_caption(hidden, result.page) if hidden else None,
        )
        for column in ("case", "outcome", "observed", "next step"):
            table.add_column(column, overflow="fold")
        for case in shown:
            colour = OUTCOME_COLOURS[case["outcome"]]
            table.add_row(
                f"{case['id']} ({','.join(case['rules'])})",
                f"[{colour}]{case['outcome']}[/]",
                escape(case["evidence"]["observed"]),
                escape(case["evidence"].get("next_step", "")),
            )
        console.print(table)
    elif hidden:
        console.print(_hidden_caption(hidden, result.page))
    console.print(
        f"{len(report['cases'])} cases in {report['duration_s']} s; report: {result.page}"
    )


#: Outcomes the terminal table leaves to the page: passes, and facts without a verdict.
_HIDDEN = ("OK", "INFORMATIONAL")


def _hidden_caption(hidden: dict[str, int], page: Path | None) -> str:
    counts = " and ".join(f"{n} {outcome}" for outcome, n in hidden.items())
    where = f" (every case is in {page})" if page else ""
    total = sum(hidden.values())
    return f"{total} {'row' if total == 1 else 'rows'} not shown: {counts}{where}"
