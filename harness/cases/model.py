"""The server-case model: a numbered check tied to SPEC rules, and what a check finds.

A check only reports facts (:class:`Finding`: does the target conform, what was seen, the wire
bytes, timings); the runner turns a finding into an outcome through the one grading rule, from the
case's level. So no case can grade a PRACTICE breach as FAILED, or forget to quote its rule.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

from harness.outcome import Level
from harness.rules import RULES

if TYPE_CHECKING:
    from harness.cases.context import Context

__all__ = ["CATALOG", "Case", "Finding", "Need", "case", "select"]


class Need(StrEnum):
    """What a case needs of the target; a missing capability makes the case UNIMPLEMENTED."""

    BLACK_BOX = "black-box"
    RESUMABLE = "resumable"
    SCRIPTED = "scripted"
    OBSERVABLE = "observable"


@dataclass(frozen=True, slots=True)
class Finding:
    """What one check saw. ``conforms=None`` is an observation without a verdict."""

    observed: str
    conforms: bool | None = True
    excerpt: bytes = b""
    timings: Mapping[str, float] = field(default_factory=dict)


Check = Callable[["Context"], Awaitable[Finding]]

_STRICTNESS = [Level.MUST, Level.SHOULD, Level.PRACTICE, Level.ADVICE]
_ID = re.compile(r"^server\.[a-z0-9_]+\.\d+$")


@dataclass(frozen=True, slots=True)
class Case:
    id: str
    title: str
    rules: tuple[str, ...]
    level: Level
    needs: Need
    check: Check
    timeout: float


CATALOG: dict[str, Case] = {}


def case(
    case_id: str,
    title: str,
    rules: list[str],
    *,
    needs: Need = Need.BLACK_BOX,
    level: Level | None = None,
    timeout: float = 30.0,
) -> Callable[[Check], Check]:
    """Register a check under a stable id. The level defaults to the strictest of its rules."""
    if not _ID.match(case_id) or case_id in CATALOG:
        raise ValueError(f"bad or duplicate case id {case_id!r}")
    unknown = [r for r in rules if r not in RULES]
    if unknown or not rules:
        raise ValueError(f"{case_id}: unknown rules {unknown}")
    strictest = min((RULES[r].level for r in rules), key=_STRICTNESS.index)

    def register(check: Check) -> Check:
        CATALOG[case_id] = Case(
            case_id, title, tuple(rules), level or strictest, needs, check, timeout
        )
        return check

    return register


def select(pattern: str | None = None) -> list[Case]:
    """Cases whose id matches a glob-like ``pattern`` (``server.framing.*``), in catalog order.

    Several patterns may be given separated by commas.
    """
    cases = list(CATALOG.values())
    if not pattern:
        return cases
    patterns = [p.strip() for p in pattern.split(",") if p.strip()]
    return [c for c in cases if any(fnmatch.fnmatchcase(c.id, p) for p in patterns)]
