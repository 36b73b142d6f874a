"""pytest plugin (entry point ``sse_harness``): SSE targets and the reference server as fixtures.

Options (``pytest --help``, group "sse-harness"): ``--sse-url``, ``--sse-method``, ``--sse-body``,
``--sse-header NAME:VALUE`` (repeatable), ``--sse-resumable``, ``--sse-contract BASE_URL``,
``--sse-cafile PATH`` and ``--sse-insecure`` (https:// targets), ``--sse-http auto|1.1|2``.

Fixtures:

``sse_reference_server``
    Base URL of the reference server, started once per session under real uvicorn on a free
    loopback port with short intervals, and stopped at the end.
``sse_target``
    The :class:`harness.server.target.Target` under test: ``--sse-url`` and friends, or, without
    them, the reference server's resumable counter stream.
``sse_conformance``
    The conformance run of every case against ``sse_target`` (once per session), as the
    ``conformance.json`` dictionary; ``scenarios/`` turns each case into a test.

The conformance suite itself ships as ``harness.scenarios``: ``pytest --pyargs harness.scenarios
--sse-url URL`` runs every case as a test, plus the hypothesis scenarios. Heavy imports happen
inside the fixtures, so the plugin costs nothing to suites that don't use it.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

from harness.request_args import parse_header

if TYPE_CHECKING:
    from harness.server.target import Target


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("sse-harness", "SSE conformance target")
    group.addoption("--sse-url", help="SSE endpoint to test (default: the reference server)")
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
        "--sse-resumable", action="store_true", help="--sse-url resumes after Last-Event-ID"
    )
    group.addoption("--sse-contract", help="base URL of the scripting contract ('' for none)")
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


@pytest.fixture(scope="session")
def sse_reference_server() -> Iterator[str]:
    from reference_server.app import create_app
    from reference_server.launch import serve_in_thread
    from reference_server.settings import Settings

    settings = Settings(char_interval_s=0.01, echo_interval_s=0.05, leak_linger_s=3.0)
    with serve_in_thread(create_app(settings)) as base:
        yield base


@pytest.fixture(scope="session")
def sse_target(request: pytest.FixtureRequest) -> Target:
    from harness.commands.check import DEFAULT_PATH
    from harness.request_args import read_body
    from harness.server.target import Target, request_target

    option = request.config.getoption
    url = option("--sse-url")
    if not url:
        base = request.getfixturevalue("sse_reference_server")
        return Target(base + DEFAULT_PATH, resumable=True)
    try:
        headers = [parse_header(h, "--sse-header") for h in option("--sse-header")]
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
        )
    except (argparse.ArgumentTypeError, OSError) as exc:
        raise pytest.UsageError(str(exc)) from exc


@pytest.fixture(scope="session")
def sse_conformance(sse_target: Target) -> dict[str, Any]:
    from harness.server.check import CheckOptions, run_check

    return run_check(CheckOptions(target=sse_target, write=False)).report
