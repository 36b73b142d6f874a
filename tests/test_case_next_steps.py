"""Every result says what to do next: an UNIMPLEMENTED case the flag or code that makes it run,
a breach what usually fixes it, an ERROR the flag to raise, in ``evidence["next_step"]``, which
``check``'s table and HTML and the pytest plugin show as they are."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from harness.outcome import Level, Outcome
from harness.server.cases import CATALOG, Case, Finding, case, load_catalog
from harness.server.cases.context import Context
from harness.server.probe import Window
from harness.server.runner import ConformanceRun, run_cases
from harness.server.target import Need, Target

COUNTER = "/counter?count=5&interval_ms=10"


def _by_id(run: ConformanceRun) -> dict[str, tuple[Outcome, dict[str, object]]]:
    return {r.case.id: (r.outcome, r.evidence) for r in run.results}


def test_every_graded_case_says_what_fixes_a_breach() -> None:
    """A case that can be NON-STRICT or FAILED carries its fix where it is defined; only an
    observation, which the runner never grades, has none."""
    graded = [c for c in load_catalog().values() if not c.observation]
    assert len(graded) > 40
    for found in load_catalog().values():
        if found.observation:
            assert found.fix == "", found.id
        else:
            assert len(found.fix.split()) >= 5, f"{found.id}: {found.fix!r}"
    assert {c.level.value for c in graded} >= {"MUST", "SHOULD", "PRACTICE", "ADVICE"}


def test_a_graded_case_without_a_fix_is_refused_at_registration() -> None:
    with pytest.raises(ValueError, match="needs a fix"):
        case("server.nofix.1", "A case that forgot its fix", ["S-01"])
    with pytest.raises(ValueError, match="observation has none"):
        case("server.nofix.2", "An observation with a fix", ["S-01"], fix="x", observation=True)
    assert "server.nofix.1" not in CATALOG and "server.nofix.2" not in CATALOG


async def test_unimplemented_cases_name_the_flag_or_the_router(reference_server_url: str) -> None:
    target = Target(reference_server_url + COUNTER, contract="")
    run = await run_cases(
        target, pattern="server.resume.1,server.script.1,server.disconnect.1,server.headers.7"
    )
    found = _by_id(run)
    assert {outcome for outcome, _ in found.values()} == {Outcome.UNIMPLEMENTED}
    for _, evidence in found.values():
        assert "capability" not in str(evidence["observed"])
    resume = found["server.resume.1"][1]
    assert "Last-Event-ID" in str(resume["observed"])
    assert "--resumable (pytest: --sse-resumable)" in str(resume["next_step"])
    for scripted in ("server.script.1", "server.disconnect.1"):
        evidence = found[scripted][1]
        assert "--contract ''" in str(evidence["observed"])
        assert "app.include_router(harness.contract.make_router())" in str(evidence["next_step"])
        assert "--sse-contract" in str(evidence["next_step"])
    http2 = found["server.headers.7"][1]
    assert "HTTP/1.1" in str(http2["observed"])
    assert "--http2 (pytest: --sse-http 2)" in str(http2["next_step"])


async def test_a_contract_that_does_not_answer_is_named(reference_server_url: str) -> None:
    base = reference_server_url + "/nowhere"
    run = await run_cases(
        Target(reference_server_url + COUNTER, contract=base), pattern="server.script.1"
    )
    (result,) = run.results
    assert result.outcome is Outcome.UNIMPLEMENTED
    assert f"nothing at {base}/_contract answers" in result.evidence["observed"]


@pytest.mark.parametrize(
    ("fault", "case_id", "outcome", "words"),
    [
        ("no_cache_control", "server.headers.3", Outcome.NON_STRICT, "Cache-Control: no-cache"),
        ("no_accel_buffering", "server.headers.4", Outcome.NON_STRICT, "X-Accel-Buffering: no"),
        ("wrong_content_type", "server.headers.1", Outcome.FAILED, "text/event-stream"),
        ("retry_decimal", "server.framing.6", Outcome.FAILED, "retry: 3000"),
    ],
)
async def test_a_breach_carries_the_fix_and_a_clean_target_none(
    reference_server_url: str, fault: str, case_id: str, outcome: Outcome, words: str
) -> None:
    window = Window(max_events=10, max_seconds=5.0)
    broken = await run_cases(
        Target(f"{reference_server_url}{COUNTER}&fault={fault}"), pattern=case_id, window=window
    )
    clean = await run_cases(Target(reference_server_url + COUNTER), pattern=case_id, window=window)
    assert broken.results[0].outcome is outcome
    assert words in broken.results[0].evidence["next_step"]
    assert clean.results[0].outcome is Outcome.OK
    assert clean.results[0].evidence["next_step"] == ""


async def test_a_refused_request_says_what_to_send(reference_server_url: str) -> None:
    """/sse2 answers 422 JSON without its query parameters: the step is about the request."""
    run = await run_cases(Target(reference_server_url + "/sse2"), pattern="server.status.1")
    (result,) = run.results
    assert result.outcome is Outcome.FAILED
    assert "--body" in result.evidence["next_step"]
    assert "rejected the request" in result.evidence["next_step"]


def _stub(case_id: str, check: Callable[[Context], Awaitable[Finding]]) -> Case:
    """A case outside the catalogue's modules, for checks no real target can make misbehave."""
    return Case(case_id, "stub", ("S-01",), Level.MUST, Need.BLACK_BOX, check, 0.1, fix="a fix")


async def test_an_error_says_which_flag_raises_the_bound(
    reference_server_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A check that never finishes overruns its bound, which follows the window: the step names
    the flags that raise it; a check that raises is a harness defect, and says so."""

    async def stuck(_: Context) -> Finding:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    async def broken(_: Context) -> Finding:
        raise RuntimeError("boom")

    monkeypatch.setitem(CATALOG, "server.stub.1", _stub("server.stub.1", stuck))
    monkeypatch.setitem(CATALOG, "server.stub.2", _stub("server.stub.2", broken))
    tiny = Window(max_seconds=0.1, connect_timeout=0.1, header_timeout=0.1)
    run = await run_cases(
        Target(reference_server_url + COUNTER), pattern="server.stub.*", window=tiny
    )
    overrun, defect = run.results
    assert overrun.outcome is defect.outcome is Outcome.ERROR
    assert "overran its bound" in overrun.evidence["observed"]
    assert "--header-timeout" in overrun.evidence["next_step"]
    assert "--window-seconds" in overrun.evidence["next_step"]
    assert "boom" in defect.evidence["observed"]
    assert "defect of the harness" in defect.evidence["next_step"]
