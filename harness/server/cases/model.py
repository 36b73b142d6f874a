"""The server-case model: a numbered check tied to SPEC rules, and what a check finds.

A check only reports facts (:class:`Finding`: does the target conform, what was seen, the wire
bytes, timings); the runner turns a finding into an outcome through the one grading rule, from the
case's level. So no case can grade a PRACTICE breach as FAILED, or forget to quote its rule.

Every case that can grade a breach says, where it is defined, what usually fixes it (``fix``: a
line of app code, a header, a proxy setting), so a verdict is something a newcomer can act on;
only an observation, which never grades, has none.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

from harness.outcome import Level
from harness.rules import RULES
from harness.selection import select_by_id
from harness.server.cases.context import Context
from harness.server.probe import Window
from harness.server.target import Need, Profile

__all__ = ["CATALOG", "Case", "Finding", "Need", "OwnWindow", "case", "select"]


@dataclass(frozen=True, slots=True)
class Finding:
    """What one check saw. ``conforms=None`` is an observation without a verdict."""

    observed: str
    conforms: bool | None = True
    excerpt: bytes = b""
    timings: Mapping[str, float] = field(default_factory=dict)
    #: What to do about this finding when the case knows more than its general ``fix`` (the
    #: flag to raise when the window was too short, the header this target lacks); None: the
    #: case's ``fix`` for a breach, nothing otherwise.
    next_step: str | None = None


Check = Callable[[Context], Awaitable[Finding]]
#: (the run's window, the keep-alive bound) -> the window of a case's own, longer read.
OwnWindow = Callable[[Window, float], Window]

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
    #: Seconds the check may take on top of two reads of the window (``runner.case_bound``).
    timeout: float
    #: What usually fixes a breach (a line of app code, a header, a setting); "" only for an
    #: observation.
    fix: str = ""
    #: The case reports a fact and never grades a breach: the runner makes it INFORMATIONAL.
    observation: bool = False
    #: A case that must read more than the run's window says how much (``runner.case_bound``
    #: allows for it).
    own_window: OwnWindow | None = None
    #: The profile whose runs it belongs to (an ``sse`` case may run in other profiles too, on
    #: their streams: ``harness.server.cases.profiles``).
    profile: Profile = "sse"
    #: MCP revisions whose rules it checks (empty: every revision); a run that negotiated
    #: another says the case does not apply.
    revisions: tuple[str, ...] = ()


CATALOG: dict[str, Case] = {}


def case(
    case_id: str,
    title: str,
    rules: list[str],
    *,
    needs: Need = Need.BLACK_BOX,
    level: Level | None = None,
    timeout: float = 10.0,
    fix: str = "",
    observation: bool = False,
    own_window: OwnWindow | None = None,
    profile: Profile = "sse",
    revisions: tuple[str, ...] = (),
) -> Callable[[Check], Check]:
    """Register a check under a stable id. The level defaults to the strictest of its rules.

    A case that can grade (not an ``observation``) must say what usually fixes a breach.
    """
    if not _ID.match(case_id) or case_id in CATALOG:
        raise ValueError(f"bad or duplicate case id {case_id!r}")
    if observation == bool(fix.strip()):
        raise ValueError(f"{case_id}: a graded case needs a fix, an observation has none")
    unknown = [r for r in rules if r not in RULES]
    if unknown or not rules:
        raise ValueError(f"{case_id}: unknown rules {unknown}")
    strictest = min((RULES[r].level for r in rules), key=_STRICTNESS.index)

    def register(check: Check) -> Check:
        CATALOG[case_id] = Case(
            case_id,
            title,
            tuple(rules),
            level or strictest,
            needs,
            check,
            timeout,
            fix.strip(),
            observation,
            own_window,
            profile,
            revisions,
        )
        return check

    return register


#: The generic cases an MCP run grades on its MCP streams (the tool call's POST stream, the GET
#: stream for keep-alives): what the stream itself shows. The others ask for exchanges an MCP
#: endpoint does not promise (HEAD, CORS, a resume by the SSE rules, the scripting contract).
ON_MCP_STREAMS = (
    "server.status.",
    "server.headers.",
    "server.framing.",
    "server.close.",
    "server.timing.",
    "server.keepalive.",
)


def in_profile(case: Case, profile: Profile) -> bool:
    """A profile runs its own cases, and an MCP run also the generic cases of its streams."""
    if case.profile == profile:
        return True
    return profile == "mcp" and case.id.startswith(ON_MCP_STREAMS)


def select(pattern: str | None = None, profile: Profile | None = "sse") -> list[Case]:
    """Cases of ``profile`` (None: of every profile) whose id ``pattern`` selects (globs or
    prefixes, comma-separated), in catalog order; :class:`harness.selection.NoCaseMatched`
    when it selects none."""
    cases = [c for c in CATALOG.values() if profile is None or in_profile(c, profile)]
    return select_by_id(cases, pattern, key=lambda c: c.id)
