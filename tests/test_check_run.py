"""A server-conformance run that is cut short still reports: Ctrl-C keeps what finished, a case
that overruns its bound cannot take a shared capture down with it, and bounds follow the window."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import aiohttp

from harness.outcome import Outcome
from harness.server.cases import load_catalog, select
from harness.server.cases.context import Context
from harness.server.cases.timing import keepalive_limit
from harness.server.probe import Window
from harness.server.runner import case_bound, run_cases
from harness.server.target import Target


async def test_an_interrupted_run_keeps_its_results(reference_server_url: str) -> None:
    """Cancelling the run (what asyncio.run does on Ctrl-C) after the first result returns a run
    with every case: the finished ones graded, the others ERROR naming the interruption."""
    target = Target(reference_server_url + "/counter?count=200&interval_ms=50", resumable=True)
    first = asyncio.Event()
    task = asyncio.ensure_future(
        run_cases(target, window=Window(max_seconds=8.0), on_result=lambda _: first.set())
    )
    await first.wait()
    task.cancel()
    run = await task  # returns, does not raise
    assert run.interrupted
    assert len(run.results) == len(select())
    finished = [r for r in run.results if "interrupted" not in r.evidence["observed"]]
    cut = [r for r in run.results if "interrupted" in r.evidence["observed"]]
    assert finished and cut
    assert {r.outcome for r in cut} == {Outcome.ERROR}


async def test_a_case_timeout_does_not_cancel_the_shared_capture() -> None:
    """Cases share memoised exchanges; one waiter giving up must not cancel it for the others."""
    release = asyncio.Event()

    async def slow_exchange() -> str:
        await release.wait()
        return "capture"

    async with aiohttp.ClientSession() as session:
        ctx = Context(Target("http://127.0.0.1:9/"), session)
        # _once starts the exchange at the first call; both waiters share it from then on.
        impatient = asyncio.ensure_future(ctx._once("k", slow_exchange))
        patient = asyncio.ensure_future(ctx._once("k", slow_exchange))
        impatient.cancel()
        release.set()
        assert await patient == "capture"
        assert impatient.cancelled()


def test_case_bounds_follow_the_window() -> None:
    """A long read window must never be cut by a fixed timer (a 35 s window once hit 30 s)."""
    load_catalog()
    short, long = Window(max_seconds=10.0), Window(max_seconds=35.0)
    for case in select():
        assert case_bound(case, long) >= 2 * 35.0 + case.timeout
        assert case_bound(case, long) - case_bound(case, short) == 2 * 25.0
    headers_only = replace(long, max_seconds=0.5)
    assert min(case_bound(c, headers_only) for c in select()) > 2 * headers_only.header_timeout


def test_a_case_with_its_own_read_is_bounded_by_it() -> None:
    """The keep-alive case reads past the window until a silence outlasts the keep-alive bound;
    its bound must allow that read, and grow with the keep-alive bound."""
    keepalive = load_catalog()["server.keepalive.1"]
    window = Window()
    own_read = window.max_seconds + keepalive_limit(20.0)
    assert case_bound(keepalive, window) > 2 * own_read + keepalive.timeout
    assert case_bound(keepalive, window, 60.0) - case_bound(keepalive, window, 20.0) >= 2 * 40.0
    assert case_bound(load_catalog()["server.status.1"], window, 60.0) == case_bound(
        load_catalog()["server.status.1"], window
    )
