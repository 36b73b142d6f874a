"""pytest plugin (entry point ``sse_harness``): SSE targets and the reference server as fixtures,
and the one place where a case's outcome becomes pytest's verdict.

Options (``pytest --help``, group "sse-harness"): ``--sse-url``, or ``--sse-app MODULE:ATTR``
with ``--sse-path`` (and ``--sse-app-factory``) to serve one's own app for the session,
``--sse-method``, ``--sse-body``,
``--sse-header NAME:VALUE``, ``--sse-header-file FILE`` and ``--sse-header-env NAME=VARIABLE``
(repeatable; the last two keep secrets off the command line), ``--sse-redact-header NAME``,
``--sse-resumable``, ``--sse-contract BASE_URL``, ``--sse-contract-token TOKEN``,
``--sse-cafile PATH`` and ``--sse-insecure`` (https:// targets), ``--sse-http auto|1.1|2``, and
``--sse-strict`` (a NON-STRICT case fails instead of passing with a warning).

The target's secrets (secret header values, the URL's credentials, the contract token) are
masked (``harness.redact``) in every test report before pytest's terminal, JUnit file or other
plugins read it, and in the report header; the wire keeps the real values.

Fixtures:

``sse_reference_server``
    Base URL of the reference server, started once per session under real uvicorn on a free
    loopback port with short intervals, and stopped at the end.
``sse_app``
    With ``--sse-app``: the app (``harness.apps.RunningApp``: base URL, log, process), imported
    from the working folder as uvicorn imports it and served by a real server in its own process
    on a free loopback port (uvicorn for ASGI, hypercorn under ``--sse-http 2``, a threaded WSGI
    server for WSGI) for the whole session; its output is in ``app.log`` under pytest's temporary
    folder. An app that does not start fails each test that uses it with its own error line.
``sse_target``
    The :class:`harness.server.target.Target` under test: ``--sse-url`` and friends, the
    ``--sse-path`` of ``--sse-app``, or, without either, the reference server's resumable counter
    stream.
``sse_conformance``
    The conformance run of every case against ``sse_target`` (once per session), as the
    ``conformance.json`` dictionary, made as ``sse-harness check`` makes it: a target that does
    not answer is an error with check's one-line cause, and one that is not an event stream
    runs only the response-head cases.

A case's outcome speaks pytest, as ``check``'s own JUnit file does (:func:`case_result` in a
fixture's setup, then :func:`judge_case` in the test): OK and INFORMATIONAL pass; UNIMPLEMENTED
skips with its reason and next step; NON-STRICT passes with an :class:`SSENonStrictWarning` in
pytest's warnings summary, or fails under ``--sse-strict``; FAILED fails; ERROR (the harness
could not run the case) is an error, not a failure.

The conformance suite itself ships as ``harness.scenarios``: ``pytest --pyargs harness.scenarios
--sse-url URL`` runs every case as a test, plus the hypothesis scenarios, whose seed and example
count (:func:`scenario_seed`, :func:`scenario_examples`) the report header prints with the target
and the profile. Heavy imports happen inside the fixtures, so the plugin costs nothing to suites
that don't use it.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import warnings
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

from harness.outcome import Outcome
from harness.redact import Redactor
from harness.request_args import header_from_env, parse_header, read_header_file

if TYPE_CHECKING:
    from harness.apps import RunningApp
    from harness.server.target import Target

__all__ = [
    "PROFILE",
    "SSENonStrictWarning",
    "case_result",
    "judge_case",
    "scenario_examples",
    "scenario_seed",
]

#: What the cases grade the target as unless ``--sse-profile`` says otherwise; printed in the
#: header.
PROFILE = "sse"
SEED_VARIABLE, DEFAULT_SEED = "SSE_HARNESS_SEED", 20261121
EXAMPLES_VARIABLE, DEFAULT_EXAMPLES = "SSE_HARNESS_EXAMPLES", 100
#: The target the fixtures grade when no ``--sse-url`` is given.
REFERENCE_TARGET = "the reference server, started by the fixture"
#: The ``--sse-url`` target, built once at configure time (None without ``--sse-url``).
_GIVEN_TARGET = pytest.StashKey["Target | None"]()
#: What the run's reports must mask (None: the run names no target, nothing to hide).
_REDACTOR = pytest.StashKey["Redactor | None"]()


class SSENonStrictWarning(UserWarning):
    """A case works but deviates from a SHOULD, PRACTICE or ADVICE rule (NON-STRICT).

    A warning, so the test passes as CI gates on MUSTs, yet the deviation is listed in pytest's
    warnings summary with its rule; ``--sse-strict`` (or ``-W error::...``) makes it fail.
    """


def _environment_int(name: str, default: int, *, minimum: int | None = None) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = None
    if value is None or (minimum is not None and value < minimum):
        wanted = "an integer" if minimum is None else f"an integer of at least {minimum}"
        raise pytest.UsageError(f"{name} must be {wanted}, got {raw!r}")
    return value


def scenario_seed() -> int:
    """The hypothesis scenarios' seed: ``SSE_HARNESS_SEED``, so a failure can be replayed."""
    return _environment_int(SEED_VARIABLE, DEFAULT_SEED)


def scenario_examples() -> int:
    """Examples per hypothesis scenario: ``SSE_HARNESS_EXAMPLES``."""
    return _environment_int(EXAMPLES_VARIABLE, DEFAULT_EXAMPLES, minimum=1)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("sse-harness", "SSE conformance target")
    group.addoption("--sse-url", help="SSE endpoint to test (default: the reference server)")
    group.addoption(
        "--sse-app",
        metavar="MODULE:ATTR",
        help="serve this ASGI or WSGI app from the current folder for the session and test it"
        " (instead of --sse-url)",
    )
    group.addoption(
        "--sse-path", metavar="PATH", help="the route of --sse-app to request (default: /)"
    )
    group.addoption(
        "--sse-app-factory",
        action="store_true",
        help="--sse-app names a function that returns the app (uvicorn's --factory)",
    )
    group.addoption("--sse-method", default="GET", help="HTTP method for --sse-url")
    group.addoption(
        "--sse-body", help="request body for --sse-url (e.g. JSON for POST; @FILE reads a file)"
    )
    group.addoption(
        "--sse-header",
        action="append",
        default=[],
        metavar="NAME:VALUE",
        help="extra request header (repeatable)",
    )
    group.addoption(
        "--sse-header-file",
        action="append",
        default=[],
        metavar="FILE",
        help="request headers from a file of 'Name: value' lines ('#' comments; repeatable)",
    )
    group.addoption(
        "--sse-header-env",
        action="append",
        default=[],
        metavar="NAME=VARIABLE",
        help="request header NAME with the value of environment variable VARIABLE (repeatable)",
    )
    group.addoption(
        "--sse-redact-header",
        action="append",
        default=[],
        metavar="NAME",
        help="mask this header's value in test reports (repeatable); Authorization, Cookie and"
        " names with key, token, secret or password always are",
    )
    group.addoption(
        "--sse-resumable", action="store_true", help="--sse-url resumes after Last-Event-ID"
    )
    group.addoption("--sse-contract", help="base URL of the scripting contract ('' for none)")
    group.addoption(
        "--sse-contract-token",
        metavar="TOKEN",
        help="the token of the app's locked scripting contract (default: the"
        " SSE_HARNESS_CONTRACT_TOKEN environment variable)",
    )
    group.addoption("--sse-cafile", help="CA bundle (PEM) that signs an https:// --sse-url")
    group.addoption(
        "--sse-insecure", action="store_true", help="accept any certificate from --sse-url"
    )
    group.addoption(
        "--sse-http",
        choices=["auto", "1.1", "2"],
        default="auto",
        help="HTTP version: auto (HTTP/2 when https:// offers it by ALPN), 1.1, or 2 (h2c"
        " with prior knowledge over http://)",
    )
    group.addoption(
        "--sse-profile",
        choices=["sse", "mcp"],
        default=PROFILE,
        help="the protocol to speak: sse, or mcp (an MCP Streamable HTTP endpoint: the harness"
        " opens a session and its streams as an MCP client and grades the M-* rules; without"
        " --sse-url, the reference server's /mcp)",
    )
    group.addoption(
        "--sse-mcp-tool",
        default="",
        metavar="NAME",
        help="mcp: the tool whose calls stream progress (default: test_tool_with_progress)",
    )
    group.addoption(
        "--sse-mcp-version",
        default="",
        metavar="REVISION",
        help="mcp: the protocol revision to offer (default: the newest the handshake reaches)",
    )
    group.addoption(
        "--sse-strict",
        action="store_true",
        help="a NON-STRICT case (a SHOULD, PRACTICE or ADVICE deviation) fails; by default it"
        " passes with an SSENonStrictWarning",
    )


def pytest_configure(config: pytest.Config) -> None:
    """Bad ``SSE_HARNESS_*`` values, and a ``--sse-url`` request that cannot be built (a header
    file or variable missing), stop the session here, in one line, before any test runs."""
    config.addinivalue_line(
        "markers", "sse_cases: run the test once per server case of --sse-profile (case_id)"
    )
    scenario_seed()
    scenario_examples()
    target = _given_target(config)
    config.stash[_GIVEN_TARGET] = target
    names = config.getoption("--sse-redact-header")
    if target is not None:
        from harness.server.check import target_redactor

        config.stash[_REDACTOR] = target_redactor(target, names)
    else:
        token = config.getoption("--sse-contract-token")
        config.stash[_REDACTOR] = Redactor([token], names) if token or names else None


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A test marked ``sse_cases`` runs once per case of the profile the run speaks, wherever
    it is collected (the shipped ``test_case``, imported into a user's own module, included)."""
    if metafunc.definition.get_closest_marker("sse_cases") is None:
        return
    from harness.server.cases import load_catalog, select

    load_catalog()
    profile = metafunc.config.getoption("--sse-profile")
    metafunc.parametrize("case_id", [case.id for case in select(None, profile)])


def _given_target(config: pytest.Config) -> Target | None:
    """The target ``--sse-url`` and friends describe; None without ``--sse-url`` or
    ``--sse-app``. For ``--sse-app`` its URL is the path alone until the app listens
    (``sse_target`` puts the app's origin in front)."""
    option = config.getoption
    url, app, path = option("--sse-url"), option("--sse-app"), option("--sse-path")
    if url and app:
        raise pytest.UsageError("--sse-url and --sse-app name two targets: give one")
    if path is not None and not (app and path.startswith("/")):
        raise pytest.UsageError(f"--sse-path goes with --sse-app and starts with '/', got {path!r}")
    if not url and not app:
        return None
    from harness.apps import app_spec
    from harness.request_args import read_body
    from harness.server.target import request_target

    try:
        if app:
            app_spec(app)
            url = path or "/"
        files = option("--sse-header-file")
        headers = [
            *(h for path in files for h in read_header_file(path, "--sse-header-file")),
            *(header_from_env(h, "--sse-header-env") for h in option("--sse-header-env")),
            *(parse_header(h, "--sse-header") for h in option("--sse-header")),
        ]
        body = option("--sse-body")
        return request_target(
            url,
            method=option("--sse-method"),
            body=read_body(body) if body is not None else None,
            headers=headers,
            resumable=option("--sse-resumable"),
            contract=option("--sse-contract"),
            cafile=option("--sse-cafile"),
            insecure=option("--sse-insecure"),
            http=option("--sse-http"),
            contract_token=option("--sse-contract-token"),
            **_profile_fields(config),
        )
    except (argparse.ArgumentTypeError, OSError) as exc:
        raise pytest.UsageError(str(exc)) from exc


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item) -> Iterator[None]:
    """Mask the run's secrets in each test report as it is made, before the terminal, the JUnit
    file or any other plugin reads it."""
    report = yield
    _redact(item.config, report)
    return report


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Iterator[None]:
    report = yield
    _redact(collector.config, report)
    return report


def _redact(config: pytest.Config, report: Any) -> None:
    """A report's failure text, skip reason and captured output, with the secrets masked (the
    report is left as it is when there is nothing to mask in it)."""
    redactor = config.stash.get(_REDACTOR, None)
    if redactor is None:
        return
    longrepr = report.longrepr
    if isinstance(longrepr, tuple):  # a skip: (path, line, reason)
        report.longrepr = (*longrepr[:2], redactor.text(longrepr[2]))
    elif longrepr is not None:
        text = str(longrepr)
        if redactor.text(text) != text:
            report.longrepr = redactor.text(text)
    report.sections = [(title, redactor.text(body)) for title, body in report.sections]


def _profile_fields(config: pytest.Config) -> dict[str, Any]:
    """The target fields ``--sse-profile`` and its MCP options set; a revision the harness does
    not know stops the session."""
    from harness.mcp import REVISIONS

    version = config.getoption("--sse-mcp-version")
    if version and version not in REVISIONS[1:]:
        raise pytest.UsageError(
            f"--sse-mcp-version {version!r}: choose one of {', '.join(REVISIONS[1:])}"
        )
    return {
        "profile": config.getoption("--sse-profile"),
        "mcp_tool": config.getoption("--sse-mcp-tool"),
        "mcp_version": version,
    }


def pytest_report_header(config: pytest.Config) -> list[str]:
    """What a run graded and how it can be replayed; the plugin's, so ``pytest --pyargs
    harness.scenarios`` from any folder prints it (pytest asks only initial conftests)."""
    option = config.getoption
    url = option("--sse-url")
    redactor = config.stash.get(_REDACTOR, None)
    shown = redactor.text(url) if url and redactor is not None else url
    target = f"{option('--sse-method').upper()} {shown}" if url else REFERENCE_TARGET
    if option("--sse-app"):
        path = option("--sse-path") or "/"
        target = f"{option('--sse-method').upper()} {path} of the app {option('--sse-app')}"
    if (url or option("--sse-app")) and option("--sse-resumable"):
        target += " (resumable)"
    non_strict = "fails (--sse-strict)" if option("--sse-strict") else "passes with a warning"
    return [
        f"sse-harness: profile {option('--sse-profile')}; target {target}; NON-STRICT {non_strict}",
        f"sse-harness scenarios: seed {scenario_seed()} ({SEED_VARIABLE}),"
        f" {scenario_examples()} examples ({EXAMPLES_VARIABLE})",
    ]


@pytest.fixture(scope="session")
def sse_reference_server() -> Iterator[str]:
    from reference_server.app import create_app
    from reference_server.launch import serve_in_thread
    from reference_server.settings import Settings

    settings = Settings(char_interval_s=0.01, echo_interval_s=0.05, leak_linger_s=3.0)
    with serve_in_thread(create_app(settings)) as base:
        yield base


@pytest.fixture(scope="session")
def sse_app(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningApp]:
    from harness.apps import AppError, serve_app

    option = request.config.getoption
    spec = option("--sse-app")
    if not spec:
        pytest.fail("sse_app serves the app --sse-app names; none was given", pytrace=False)
    log = tmp_path_factory.mktemp("sse-app") / "app.log"
    served = serve_app(
        spec, log=log, http2=option("--sse-http") == "2", factory=option("--sse-app-factory")
    )
    with contextlib.ExitStack() as stack:
        try:
            app = stack.enter_context(served)
        except AppError as exc:
            pytest.fail(str(exc), pytrace=False)
        yield app


@pytest.fixture(scope="session")
def sse_target(request: pytest.FixtureRequest) -> Target:
    from dataclasses import replace

    from harness.commands.check import DEFAULT_PATH, MCP_DEFAULT_PATH
    from harness.server.target import Target

    given = request.config.stash[_GIVEN_TARGET]
    if given is not None and request.config.getoption("--sse-app"):
        app: RunningApp = request.getfixturevalue("sse_app")
        return replace(given, url=app.url + given.url)
    if given is not None:
        return given
    base = request.getfixturevalue("sse_reference_server")
    fields = _profile_fields(request.config)
    if fields["profile"] == "mcp":
        return Target(base + MCP_DEFAULT_PATH, **fields)
    return Target(base + DEFAULT_PATH, resumable=True)


@pytest.fixture(scope="session")
def sse_conformance(sse_target: Target, request: pytest.FixtureRequest) -> dict[str, Any]:
    """Every case against the target, asked first as ``check`` asks it: a target that does not
    answer fails each test's setup with the cause, and one that is not an event stream runs only
    the response-head cases (the others skip, saying why)."""
    from harness.commands.reach import reach
    from harness.server.check import CheckOptions, run_check

    names = tuple(request.config.getoption("--sse-redact-header"))
    found = reach(sse_target, redact_headers=names)
    if found.problem:
        from harness.apps import EXIT_GRACE_S

        app = request.getfixturevalue("sse_app") if request.config.getoption("--sse-app") else None
        pytest.fail((app and app.exited(EXIT_GRACE_S)) or found.problem, pytrace=False)
    # An MCP endpoint may answer a bare GET with 400 or 405: its own cases grade what it says.
    not_a_stream = found.not_a_stream if sse_target.profile == "sse" else None
    options = CheckOptions(
        target=sse_target, write=False, not_a_stream=not_a_stream, redact_headers=names
    )
    return run_check(options).report


def _rules(result: dict[str, Any]) -> str:
    return ", ".join(f"{r['id']} {r['level']}" for r in result["evidence"]["rules"])


def _next_step(result: dict[str, Any]) -> str:
    step: str = result["evidence"].get("next_step") or ""
    return step


def _observed(result: dict[str, Any]) -> str:
    """The observation and, when the case has one, what to do about it, in one line."""
    step = _next_step(result)
    observed: str = result["evidence"]["observed"]
    return f"{observed}; next step: {step}" if step else observed


def _detail(result: dict[str, Any]) -> str:
    """A case's evidence as a failure or error message: the finding, its rules, the next step,
    the wire bytes."""
    evidence = result["evidence"]
    return "\n".join(
        [
            f"{result['id']} {result['outcome']}: {evidence['observed']}",
            *(f"{r['id']} ({r['level']}): {r['text']}" for r in evidence["rules"]),
            *([f"next step: {_next_step(result)}"] if _next_step(result) else []),
            *([f"bytes: {evidence['excerpt']}"] if evidence["excerpt"] else []),
        ]
    )


def case_result(report: dict[str, Any], case_id: str) -> dict[str, Any]:
    """The result of ``case_id`` in a ``conformance.json`` dictionary, for a fixture's setup.

    Called in setup so that ERROR (the harness could not run the case) is what pytest calls an
    error, not a failure of the target; a case the run left out (the target is not an event
    stream) skips with the reason.
    """
    cases: list[dict[str, Any]] = report["cases"]
    result = next((c for c in cases if c["id"] == case_id), None)
    if result is None:
        why = report.get("not_an_event_stream")
        where = report["target"]["url"]
        pytest.skip(f"not run: {where} is not an event stream: {why}" if why else "not run")
    if result["outcome"] == Outcome.ERROR:
        pytest.fail(f"the harness could not run the case: {_detail(result)}", pytrace=False)
    return result


def judge_case(result: dict[str, Any], *, strict: bool) -> None:
    """A case's outcome as the test's verdict, the one ``check``'s JUnit file gives it: FAILED
    fails; UNIMPLEMENTED skips with its observation and next step; NON-STRICT warns with the case
    id, its rules and the observation (fails under ``strict``); OK and INFORMATIONAL pass."""
    outcome = result["outcome"]
    if outcome == Outcome.FAILED:
        pytest.fail(_detail(result), pytrace=False)
    if outcome == Outcome.UNIMPLEMENTED:
        pytest.skip(_observed(result))
    if outcome == Outcome.NON_STRICT:
        if strict:
            pytest.fail(f"{_detail(result)}\n(NON-STRICT fails under --sse-strict)", pytrace=False)
        said = f"{result['id']} NON-STRICT ({_rules(result)}): {_observed(result)}"
        warnings.warn(SSENonStrictWarning(said), stacklevel=2)
