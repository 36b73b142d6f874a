"""The keep-alive case grades on the defaults: the default window (10 s) is half the default
bound (20 s), so the case reads on its own connection for as long as grading takes, and says
what to point at when the stream ends too soon to tell."""

from __future__ import annotations

import asyncio

from harness.outcome import Outcome
from harness.server.cases import load_catalog
from harness.server.cases.timing import keepalive_limit
from harness.server.probe import Window
from harness.server.runner import CaseResult, run_cases
from harness.server.target import Target

KEEPALIVE = "server.keepalive.1"


async def _grade(url: str, window: Window | None = None, bound: float = 20.0) -> CaseResult:
    run = await run_cases(Target(url), pattern=KEEPALIVE, window=window, keepalive_bound_s=bound)
    (result,) = run.results
    return result


async def test_an_idle_stream_is_graded_on_the_default_window(reference_server_url: str) -> None:
    """OK when keep-alive comments come inside the bound, NON-STRICT when none ever does: the
    second needs a silence longer than the 20 s bound, twice the 10 s window."""
    load_catalog()
    pinging, silent = await asyncio.gather(
        _grade(reference_server_url + "/keepalive?keepalive_ms=500"),
        _grade(reference_server_url + "/keepalive?fault=no_keepalive"),
    )
    assert Window().max_seconds < 20.0
    assert pinging.outcome is Outcome.OK, pinging.evidence
    assert pinging.evidence["next_step"] == ""
    assert silent.outcome is Outcome.NON_STRICT, silent.evidence
    assert silent.evidence["timings"]["longest_silence_s"] > keepalive_limit(20.0)
    assert ": ping" in silent.evidence["next_step"]
    assert "ping=15" in silent.evidence["next_step"]


async def test_a_busy_stream_is_followed_past_the_window(reference_server_url: str) -> None:
    """A stream that keeps sending never needs a keep-alive: read past a window shorter than the
    bound, it is OK, not "not observed"."""
    window = Window(max_seconds=0.5)
    result = await _grade(
        reference_server_url + "/counter?count=100000&interval_ms=50", window, bound=1.0
    )
    assert result.outcome is Outcome.OK, result.evidence
    assert result.evidence["timings"]["read_s"] >= 1.0


async def test_a_stream_idle_from_the_start_is_caught_past_a_short_window(
    reference_server_url: str,
) -> None:
    window = Window(max_seconds=0.5)
    result = await _grade(reference_server_url + "/keepalive?fault=no_keepalive", window, 1.0)
    assert result.outcome is Outcome.NON_STRICT, result.evidence
    assert "every 1 s" in result.evidence["next_step"]


async def test_a_stream_that_ends_before_the_bound_says_what_to_point_at(
    reference_server_url: str,
) -> None:
    result = await _grade(reference_server_url + "/counter?count=5&interval_ms=10")
    assert result.outcome is Outcome.INFORMATIONAL
    assert "ended after" in result.evidence["observed"]
    assert "/keepalive" in result.evidence["next_step"]
    assert "--keepalive-bound" in result.evidence["next_step"]
