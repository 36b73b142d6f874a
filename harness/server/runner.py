"""Runs server cases against a target and grades what they find.

Grading happens here and only here: a check returns a :class:`~.cases.model.Finding`, and the
case's level decides the outcome through :func:`harness.outcome.grade`. A case that needs a
capability the target lacks is UNIMPLEMENTED; one that raises or overruns its bound is ERROR, with
the reason, so one broken check never takes the run down with it. A case's bound follows the read
window (a long window must not be cut by a fixed timer) and the case's own longer read, if it has
one; a run that is interrupted (Ctrl-C) still returns every result it has, the unfinished cases
as ERROR naming the interruption, so a report is always written.

Every result's evidence carries ``next_step``: what to do about it ("" when nothing), read by
every front end. An UNIMPLEMENTED case names the flag or code that makes it run, a breach the fix
its case declares (or the finding's more specific one), an ERROR the flag to raise when a bound
was overrun.
"""

from __future__ import annotations

import asyncio
import time
import traceback
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from harness.outcome import Outcome, escape_bytes, grade
from harness.rules import RULES
from harness.server.cases import load_catalog
from harness.server.cases.context import Context
from harness.server.cases.mcp_context import context_for
from harness.server.cases.model import Case, Finding, select
from harness.server.negotiate import open_transport
from harness.server.probe import Window
from harness.server.target import Target
from harness.server.transport import http1_session

__all__ = ["SCHEMA_VERSION", "CaseResult", "ConformanceRun", "case_bound", "run_cases"]

SCHEMA_VERSION = 1


@dataclass(frozen=True, slots=True)
class CaseResult:
    case: Case
    outcome: Outcome
    evidence: dict[str, Any]
    duration_s: float

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.case.id,
            "title": self.case.title,
            "rules": list(self.case.rules),
            "level": self.case.level.value,
            "needs": self.case.needs.value,
            "outcome": self.outcome.value,
            "evidence": self.evidence,
            "duration_s": round(self.duration_s, 4),
        }


@dataclass(slots=True)
class ConformanceRun:
    target: Target
    started: datetime
    duration_s: float = 0.0
    results: list[CaseResult] = field(default_factory=list)
    #: The run was cancelled (Ctrl-C) before every case finished.
    interrupted: bool = False
    #: The protocol the run spoke ("HTTP/1.1" or "HTTP/2"), as the TLS handshake settled it.
    http_version: str = "HTTP/1.1"

    @property
    def summary(self) -> dict[str, int]:
        counts = Counter(r.outcome for r in self.results)
        return {o.value: counts.get(o, 0) for o in Outcome}

    @property
    def passed(self) -> bool:
        """Nothing FAILED and nothing the harness could not run."""
        return not any(r.outcome in (Outcome.FAILED, Outcome.ERROR) for r in self.results)

    def as_json(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "target": {**self.target.describe(), "http_version": self.http_version},
            "started": self.started.isoformat(),
            "duration_s": round(self.duration_s, 3),
            "summary": self.summary,
            "cases": [r.as_json() for r in self.results],
        }


#: ERROR next steps the harness knows.
OVERRUN = (
    "the bound follows the read window: if the target is slow to answer, raise --header-timeout;"
    " if it streams slowly, raise --window-seconds"
)
DEFECT = "a defect of the harness, not of the target: please report it with this evidence"
RERUN = "run again to let this case finish"


def _next_step(case: Case, outcome: Outcome, finding: Finding) -> str:
    """What to do about a result: the finding's own step, else a breach's fix, else nothing."""
    if finding.next_step is not None:
        return finding.next_step
    return case.fix if outcome in (Outcome.FAILED, Outcome.NON_STRICT) else ""


def _evidence(case: Case, finding: Finding, outcome: Outcome) -> dict[str, Any]:
    return {
        "rules": [
            {"id": r, "level": RULES[r].level.value, "text": RULES[r].text} for r in case.rules
        ],
        "observed": finding.observed,
        "excerpt": escape_bytes(finding.excerpt),
        "timings": {k: round(v, 4) for k, v in finding.timings.items()},
        "next_step": _next_step(case, outcome, finding),
    }


def case_bound(case: Case, window: Window, keepalive_bound_s: float = 20.0) -> float:
    """Seconds a case may take: its own margin on top of two full reads of the window (a resume
    case reads the stream, then reconnects and reads again), or of its own read if that is
    longer."""
    reads = [window]
    if case.own_window is not None:
        reads.append(case.own_window(window, keepalive_bound_s))
    read = max(w.connect_timeout + w.header_timeout + w.max_seconds for w in reads)
    return case.timeout + 2 * read


async def _check(case: Case, ctx: Context) -> tuple[Finding, Outcome]:
    """Run one case within its bound; a missing capability, an overrun or a defect included."""
    elsewhere = await ctx.not_applicable(case.revisions)
    if elsewhere is not None:
        return Finding(elsewhere, None, next_step=""), Outcome.UNIMPLEMENTED
    if case.needs not in await ctx.capabilities():
        return Finding(
            ctx.unmet(case.needs), None, next_step=ctx.need_step(case.needs)
        ), Outcome.UNIMPLEMENTED
    bound = case_bound(case, ctx.window, ctx.keepalive_bound_s)
    try:
        finding = await asyncio.wait_for(case.check(ctx), timeout=bound)
    except TimeoutError:
        return Finding(
            f"the check overran its bound of {bound:g} s", None, next_step=OVERRUN
        ), Outcome.ERROR
    except Exception as exc:  # a harness defect must not end the run
        where = traceback.extract_tb(exc.__traceback__)[-1]
        return Finding(
            f"{type(exc).__name__}: {exc} (at {where.filename}:{where.lineno})",
            None,
            next_step=DEFECT,
        ), Outcome.ERROR
    if finding.conforms is None or case.observation:
        return finding, Outcome.INFORMATIONAL
    return finding, grade(case.level, finding.conforms)


async def _run_one(case: Case, ctx: Context) -> CaseResult:
    start = time.monotonic()
    finding, outcome = await _check(case, ctx)
    return CaseResult(case, outcome, _evidence(case, finding, outcome), time.monotonic() - start)


def _interrupted(case: Case) -> CaseResult:
    finding = Finding("the run was interrupted before this case finished", None, next_step=RERUN)
    return CaseResult(case, Outcome.ERROR, _evidence(case, finding, Outcome.ERROR), 0.0)


def _longest_first(cases: list[Case]) -> list[Case]:
    return sorted(cases, key=lambda c: c.own_window is None)


async def run_cases(
    target: Target,
    *,
    pattern: str | None = None,
    window: Window | None = None,
    keepalive_bound_s: float = 20.0,
    concurrency: int = 4,
    on_result: Callable[[CaseResult], None] | None = None,
) -> ConformanceRun:
    """Run the selected cases against ``target``; results come back in catalog order."""
    load_catalog()
    cases = select(pattern, target.profile)
    run = ConformanceRun(target, datetime.now(UTC))
    start = time.monotonic()
    gate = asyncio.Semaphore(concurrency)
    window = window or Window()
    async with http1_session(target) as session:
        transport = await open_transport(target, window.connect_timeout, session)
        run.http_version = f"HTTP/{transport.http_version}"
        ctx = context_for(target)(target, session, window, keepalive_bound_s, transport)

        async def guarded(case: Case) -> CaseResult:
            async with gate:
                result = await _run_one(case, ctx)
            if on_result is not None:
                on_result(result)
            return result

        # A case with its own longer read starts first, so its read overlaps the others'.
        started = {c.id: asyncio.ensure_future(guarded(c)) for c in _longest_first(cases)}
        tasks = [started[c.id] for c in cases]
        try:
            await asyncio.gather(*tasks)
        except asyncio.CancelledError:
            # Ctrl-C: keep what finished; asyncio.run then returns this run instead of raising.
            run.interrupted = True
            for task in tasks:
                task.cancel()
            current = asyncio.current_task()
            if current is not None:
                current.uncancel()
        finally:
            ctx.close()
            await transport.aclose()
    run.results = [
        task.result() if task.done() and not task.cancelled() else _interrupted(case)
        for case, task in zip(cases, tasks, strict=True)
    ]
    run.duration_s = time.monotonic() - start
    return run
