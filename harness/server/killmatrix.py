"""The fault x case kill matrix: proof that each check catches what it claims.

The reference server breaks one rule per named fault (``GET /faults``). Running the suite against
each fault must make a case that owns the fault's rule report the breach, graded as that case's
level demands (FAILED for a MUST case, NON-STRICT otherwise). A fault no case catches is a hole
in the suite; a check that never fires under any fault is unproven.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from harness.outcome import Outcome, grade
from harness.server.probe import Window
from harness.server.runner import ConformanceRun, run_cases
from harness.server.target import Target

__all__ = ["FaultTarget", "catches", "format_matrix", "run_kill_matrix"]

#: Reference-server settings (``python -m reference_server`` flags) that make faults quick to
#: show: a slow first byte slower than the headers bound, a leak longer than the settle time,
#: and keep-alives frequent enough for an idle stream to need them within the window.
SERVER_FLAGS = ("--keepalive-s", "0.3", "--slow-first-byte-s", "1.5", "--leak-linger-s", "5")


@dataclass(frozen=True, slots=True)
class FaultTarget:
    """Where and how to look for a fault."""

    path: str = "/counter?count=30&interval_ms=30"
    keepalive_bound_s: float = 20.0


#: Faults that only show on a particular stream: keep-alive matters only on an idle one, and a
#: leaking generator only on a stream that would outlive the check.
SPECIAL = {
    "no_keepalive": FaultTarget("/counter?count=3&interval_ms=1500", keepalive_bound_s=1.0),
    "leak_generator": FaultTarget("/counter?count=1000&interval_ms=30"),
}


def _url(base: str, path: str, fault: str | None) -> str:
    if fault is None:
        return base + path
    return base + path + ("&" if "?" in path else "?") + urlencode({"fault": fault})


def catches(run: ConformanceRun, rule: str) -> list[dict[str, str]]:
    """The cases that own ``rule`` and report a breach with the outcome their level demands."""
    return [
        {"case": r.case.id, "outcome": r.outcome.value}
        for r in run.results
        if rule in r.case.rules and r.outcome is grade(r.case.level, conforms=False)
    ]


async def _one(base: str, fault: dict[str, Any] | None, window: Window) -> ConformanceRun:
    name = fault["name"] if fault else None
    where = SPECIAL.get(name or "", FaultTarget())
    target = Target(_url(base, where.path, name), resumable=True)
    return await run_cases(target, window=window, keepalive_bound_s=where.keepalive_bound_s)


async def run_kill_matrix(
    base: str, faults: list[dict[str, Any]], *, concurrency: int = 3
) -> tuple[ConformanceRun, list[dict[str, Any]]]:
    """The clean run, and one matrix row per fault: ``{fault, rule, level, caught_by, others}``.

    ``others`` lists cases that flagged the fault without owning its rule: collateral findings,
    useful to read but not proof.
    """
    window = Window(max_events=40, max_seconds=8.0)
    gate = asyncio.Semaphore(concurrency)

    async def guarded(fault: dict[str, Any] | None) -> ConformanceRun:
        async with gate:
            return await _one(base, fault, window)

    # The clean run goes alone: its timing cases must not share the machine with fault runs.
    clean = await _one(base, None, window)
    runs = await asyncio.gather(*(guarded(f) for f in faults))
    rows = []
    for fault, run in zip(faults, runs, strict=True):
        caught = catches(run, fault["rule"])
        rows.append(
            {
                "fault": fault["name"],
                "rule": fault["rule"],
                "level": fault["level"],
                "caught_by": caught,
                "others": [
                    {"case": r.case.id, "outcome": r.outcome.value}
                    for r in run.results
                    if r.outcome in (Outcome.FAILED, Outcome.NON_STRICT)
                    and r.case.id not in {c["case"] for c in caught}
                ],
            }
        )
    return clean, rows


def format_matrix(rows: list[dict[str, Any]]) -> str:
    width = max(len(r["fault"]) for r in rows)
    lines = [f"{'fault':<{width}}  rule  caught by"]
    for row in rows:
        hits = ", ".join(f"{c['case']} {c['outcome']}" for c in row["caught_by"]) or "NOT CAUGHT"
        lines.append(f"{row['fault']:<{width}}  {row['rule']}  {hits}")
    return "\n".join(lines)
