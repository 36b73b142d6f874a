"""Runs server cases against a target and grades what they find.

Grading happens here and only here: a check returns a :class:`~.cases.model.Finding`, and the
case's level decides the outcome through :func:`harness.outcome.grade`. A case that needs a
capability the target lacks is UNIMPLEMENTED; one that raises or overruns its bound is ERROR, with
the reason, so one broken check never takes the run down with it. A case's bound follows the read
window (a long window must not be cut by a fixed timer), and a run that is interrupted (Ctrl-C)
still returns every result it has, the unfinished cases as ERROR naming the interruption, so a
report is always written.
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


def _evidence(case: Case, finding: Finding) -> dict[str, Any]:
    return {
        "rules": [
            {"id": r, "level": RULES[r].level.value, "text": RULES[r].text} for r in case.rules
        ],
        "observed": finding.observed,
        "excerpt": escape_bytes(finding.excerpt),
        "timings": {k: round(v, 4) for k, v in finding.timings.items()},
    }


def case_bound(case: Case, window: Window) -> float:
    """Seconds a case may take: its own margin on top of two full reads of the window (a resume
    case reads the stream, then reconnects and reads again)."""
    read = window.connect_timeout + window.header_timeout + window.max_seconds
    return case.timeout + 2 * read


async def _run_one(case: Case, ctx: Context) -> CaseResult:
    start = time.monotonic()
    missing = case.needs not in await ctx.capabilities()
    if missing:
        finding = Finding(f"the target does not offer the {case.needs.value} capability", None)
        outcome = Outcome.UNIMPLEMENTED
    else:
        bound = case_bound(case, ctx.window)
        try:
            finding = await asyncio.wait_for(case.check(ctx), timeout=bound)
            outcome = (
                Outcome.INFORMATIONAL
                if finding.conforms is None
                else grade(case.level, finding.conforms)
            )
        except TimeoutError:
            finding = Finding(f"the check overran its bound of {bound:g} s", None)
            outcome = Outcome.ERROR
        except Exception as exc:  # a harness defect must not end the run
            where = traceback.extract_tb(exc.__traceback__)[-1]
            finding = Finding(
                f"{type(exc).__name__}: {exc} (at {where.filename}:{where.lineno})", None
            )
            outcome = Outcome.ERROR
    return CaseResult(case, outcome, _evidence(case, finding), time.monotonic() - start)


def _interrupted(case: Case) -> CaseResult:
    finding = Finding("the run was interrupted before this case finished", None)
    return CaseResult(case, Outcome.ERROR, _evidence(case, finding), 0.0)


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
    cases = select(pattern)
    run = ConformanceRun(target, datetime.now(UTC))
    start = time.monotonic()
    gate = asyncio.Semaphore(concurrency)
    window = window or Window()
    async with http1_session(target) as session:
        transport = await open_transport(target, window.connect_timeout, session)
        run.http_version = f"HTTP/{transport.http_version}"
        ctx = Context(target, session, window, keepalive_bound_s, transport)

        async def guarded(case: Case) -> CaseResult:
            async with gate:
                result = await _run_one(case, ctx)
            if on_result is not None:
                on_result(result)
            return result

        tasks = [asyncio.ensure_future(guarded(c)) for c in cases]
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
