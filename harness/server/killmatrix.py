"""The fault x case kill matrix: proof that each check catches what it claims.

The reference server breaks one rule per named fault (``GET /faults``). Running the suite against
each fault must make the cases that own the fault's rule report the breach, graded as their level
demands (FAILED for a MUST case, NON-STRICT otherwise). :data:`EXPECTED` pins which cases catch
each fault and with which outcome, so a catcher that goes quiet (or a new one that starts to fire)
shows as a change, not as "still caught by something". :data:`UNPROVEN` names every case no fault
reaches and says why, so a hole in the matrix is a decision on record, not an oversight.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from harness.outcome import Outcome, grade
from harness.server.cases import load_catalog
from harness.server.probe import Window
from harness.server.runner import ConformanceRun, run_cases
from harness.server.target import Need, Profile, Target

__all__ = [
    "EXPECTED",
    "EXPECTED_HTTP2",
    "EXPECTED_MCP",
    "UNPROVEN",
    "UNSTABLE_HTTP2",
    "FaultTarget",
    "catches",
    "format_matrix",
    "matrix",
    "run_kill_matrix",
    "unproven",
]

_FAILED, _NON_STRICT = Outcome.FAILED.value, Outcome.NON_STRICT.value

#: fault -> the cases owning its rule that catch it, with their outcome, in catalog order.
EXPECTED: dict[str, tuple[tuple[str, str], ...]] = {
    "wrong_content_type": (("server.headers.1", _FAILED),),
    "charset_latin1": (("server.headers.2", _FAILED),),
    "html_body": (("server.headers.1", _FAILED),),
    # HEAD of the same endpoint answers 500 too; the HEAD case owns S-01 as a PRACTICE.
    "status_500": (("server.status.1", _FAILED), ("server.http.1", _NON_STRICT)),
    "status_500_midstream": (("server.framing.7", _FAILED), ("server.close.1", _NON_STRICT)),
    "no_final_blank_line": (("server.framing.7", _FAILED),),
    "cr_in_value": (("server.framing.4", _FAILED),),
    "lf_in_value": (("server.framing.4", _FAILED),),
    "nul_in_id": (("server.framing.5", _FAILED),),
    "retry_decimal": (("server.framing.6", _FAILED),),
    "retry_negative": (("server.framing.6", _FAILED),),
    "retry_bool": (("server.framing.6", _FAILED),),
    "retry_unit": (("server.framing.6", _FAILED),),
    "invalid_utf8": (("server.framing.1", _FAILED),),
    "bom_midstream": (("server.framing.2", _FAILED),),
    "uppercase_fields": (("server.framing.3", _FAILED),),
    "buffered": (("server.timing.3", _NON_STRICT),),
    "gzip": (("server.headers.5", _NON_STRICT),),
    "ignore_last_event_id": (("server.resume.1", _NON_STRICT),),
    "duplicate_ids": (("server.ids.1", _NON_STRICT), ("server.ids.2", _NON_STRICT)),
    "skip_ids": (("server.ids.2", _NON_STRICT),),
    # One stream shows nothing of memory kept after it ends; a soak run catches it
    # (sse-harness load --soak, tests/test_load_soak.py).
    "leak_memory": (),
    "leak_generator": (
        ("server.disconnect.1", _NON_STRICT),
        ("server.disconnect.2", _NON_STRICT),
    ),
    "slow_first_byte": (("server.timing.1", _NON_STRICT),),
    "no_keepalive": (("server.keepalive.1", _NON_STRICT),),
    "connection_header": (("server.headers.6", _NON_STRICT),),
    "no_cache_control": (("server.headers.3", _NON_STRICT),),
    "no_accel_buffering": (("server.headers.4", _NON_STRICT),),
    "capacity_reset": (("server.capacity.1", _NON_STRICT),),
    "head_held": (("server.http.1", _NON_STRICT),),
    "cors_refuses_last_event_id": (("server.cors.1", _NON_STRICT),),
}

#: The MCP profile's faults (``reference_server.mcp``, ``/mcp?fault=NAME``) -> their catchers
#: among the server.mcp cases (a fault run grades only those; the clean run grades every case of
#: the profile).
EXPECTED_MCP: dict[str, tuple[tuple[str, str], ...]] = {
    "ids_per_stream": (("server.mcp.6", _FAILED),),
    "replay_all_streams": (("server.mcp.10", _FAILED),),
    "replay_across_sessions": (("server.mcp.11", _FAILED),),
    "broadcast_progress": (("server.mcp.7", _FAILED),),
    "no_priming": (("server.mcp.4", _NON_STRICT),),
    "close_without_retry": (("server.mcp.12", _NON_STRICT),),
    "response_on_get": (("server.mcp.8", _FAILED),),
    "session_id_space": (("server.mcp.13", _FAILED),),
    "post_text_plain": (("server.mcp.1", _FAILED),),
    "notification_body": (("server.mcp.2", _FAILED),),
    "get_404": (("server.mcp.3", _FAILED),),
    "split_message": (("server.mcp.5", _FAILED),),
    "resume_skips_one": (("server.mcp.9", _NON_STRICT),),
    "session_optional": (("server.mcp.14", _NON_STRICT),),
    "delete_ignored": (("server.mcp.15", _FAILED),),
    "version_unchecked": (("server.mcp.16", _FAILED),),
    "origin_unchecked": (("server.mcp.17", _FAILED),),
    "legacy_no_endpoint": (("server.mcp.18", _FAILED),),
    "stateless_get_stream": (("server.mcp.19", _NON_STRICT),),
}
#: The cases the clean MCP run grades: every case of the profile but the keep-alive one, whose
#: read of the endless GET stream takes half a minute (tests/test_mcp_real_servers.py grades it
#: on the SDK's GET stream).
MCP_CLEAN_CASES = (
    "server.mcp,server.status,server.headers,server.framing,server.close,server.timing"
)
#: Where the reference server serves MCP, and the legacy HTTP+SSE transport (the faults whose
#: catalogue entry says ``"transport": "legacy"``).
MCP_PATH, MCP_LEGACY_PATH = "/mcp", "/mcp-legacy/sse"
#: Faults that show only in another revision than the one offered by default.
MCP_REVISION = {"stateless_get_stream": "2026-07-28"}

#: The same matrix over HTTP/2 (the reference server under hypercorn, TLS, ALPN h2): the
#: connection header becomes a MUST breach (server.headers.7), and the dropped connection of
#: ``capacity_reset`` (a RST_STREAM over HTTP/2) also stalls streams multiplexed on one
#: connection (server.capacity.2).
EXPECTED_HTTP2: dict[str, tuple[tuple[str, str], ...]] = {
    **EXPECTED,
    "connection_header": (("server.headers.6", _NON_STRICT), ("server.headers.7", _FAILED)),
    "capacity_reset": (("server.capacity.1", _NON_STRICT), ("server.capacity.2", _NON_STRICT)),
    "leak_generator": (("server.disconnect.2", _NON_STRICT),),
}
#: Catchers that may or may not fire over HTTP/2, and why: hypercorn stalls an HTTP/2
#: connection on which many streams were reset, so the observation request of
#: server.disconnect.1 sometimes gets no answer (INFORMATIONAL) instead of the leak's record.
UNSTABLE_HTTP2: dict[str, tuple[str, ...]] = {"leak_generator": ("server.disconnect.1",)}

_OBSERVATION = "an observation: it reports a fact and never grades a breach, so nothing can fail it"
_HOSTILE = "proven by a purpose-built target in tests/test_hostile_targets.py"
_SCRIPTED = (
    "a script runs on the contract's own endpoint, which no fault of the target reaches; proven"
    " by the lossy contract in tests/test_hostile_targets.py and by scenarios/"
)

#: Cases no reference-server fault makes fail, and why. Scripted cases are added by
#: :func:`unproven` from the catalog (they are not run against faults at all).
UNPROVEN: dict[str, str] = {
    "server.framing.8": _OBSERVATION
    + " (every byte before the last terminator ends in CR, LF or CRLF by construction)",
    "server.framing.9": _OBSERVATION,
    "server.timing.2": _OBSERVATION,
    "server.resume.3": _OBSERVATION + " (204 or 200 after the end are both legitimate)",
    "server.http.2": _OBSERVATION + " (following redirects is the client's duty)",
    "server.framing.10": _HOSTILE + " (/no-blank-lines)",
    "server.framing.11": _HOSTILE + " (/endless)",
    "server.resume.2": _HOSTILE + " (/fragile: 500 on an unknown Last-Event-ID)",
    "server.mcp.20": "a stateless response stream carrying a request of the server's own needs"
    " a server that sends requests; the SDK answers the stateless revision itself, and a stage"
    " inventing one would only restate the case; its OK is held by tests/test_mcp_profile.py",
    "server.cors.2": _HOSTILE
    + " (/cors); the reference server names trusted origins and the harness's test origin, with"
    " credentials, and a fault naming a wrong one would only restate the case",
}

#: Reference-server settings (``python -m reference_server`` flags) that make faults quick to
#: show: a slow first byte slower than the headers bound, a leak longer than the settle time,
#: and keep-alives frequent enough for an idle stream to need them within the window.
SERVER_FLAGS = ("--keepalive-s", "0.3", "--slow-first-byte-s", "1.5", "--leak-linger-s", "5")


@dataclass(frozen=True, slots=True)
class FaultTarget:
    """Where and how to look for a fault."""

    path: str = "/counter?count=30&interval_ms=30"
    keepalive_bound_s: float = 20.0


#: Faults that only show on a particular stream: keep-alive matters only on an idle one, a
#: leaking generator only on a stream that would outlive the check, a held HEAD best on a long one.
SPECIAL = {
    "no_keepalive": FaultTarget("/counter?count=3&interval_ms=1500", keepalive_bound_s=1.0),
    # A 30 s stream; the short keep-alive bound ends the keep-alive case's own read early.
    "leak_generator": FaultTarget("/counter?count=1000&interval_ms=30", keepalive_bound_s=1.0),
    # A 3 s stream: its held HEAD is later than any bound, however loaded the machine.
    "head_held": FaultTarget("/counter?count=60&interval_ms=50"),
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


def _scripted() -> list[str]:
    return [c.id for c in load_catalog().values() if c.needs is Need.SCRIPTED]


async def _one(
    base: str, fault: dict[str, Any] | None, window: Window, cafile: str | None, profile: Profile
) -> ConformanceRun:
    """The clean run grades every case of the profile; a fault run leaves out the scripted ones,
    which the fault cannot reach, so their timing under load cannot blur the pinned matrix (and
    in the MCP profile the generic ones, which the SSE matrix proves)."""
    name = fault["name"] if fault else None
    if profile == "mcp":
        legacy = fault is not None and fault.get("transport") == "legacy"
        target = Target(
            _url(base, MCP_LEGACY_PATH if legacy else MCP_PATH, name),
            cafile=cafile,
            profile="mcp",
            mcp_version=MCP_REVISION.get(name or "", ""),
        )
        return await run_cases(
            target, pattern=MCP_CLEAN_CASES if name is None else "server.mcp", window=window
        )
    where = SPECIAL.get(name or "", FaultTarget())
    target = Target(_url(base, where.path, name), resumable=True, cafile=cafile)
    scripted = set(_scripted())
    pattern = None if name is None else ",".join(i for i in load_catalog() if i not in scripted)
    return await run_cases(
        target, pattern=pattern, window=window, keepalive_bound_s=where.keepalive_bound_s
    )


async def run_kill_matrix(
    base: str,
    faults: list[dict[str, Any]],
    *,
    concurrency: int = 3,
    cafile: str | None = None,
    profile: Profile = "sse",
) -> tuple[ConformanceRun, list[dict[str, Any]]]:
    """The clean run, and one matrix row per fault: ``{fault, rule, level, caught_by, others}``;
    ``profile`` "mcp" grades the reference server's MCP endpoint and its faults
    (``GET /faults/mcp``).

    ``base`` may be https:// (``cafile`` signs its certificate); the runs then speak HTTP/2
    when the server offers it by ALPN, and the clean run's ``http_version`` says which.

    ``others`` lists cases that flagged the fault without owning its rule: collateral findings,
    useful to read but not proof.
    """
    window = Window(max_events=40, max_seconds=8.0)
    gate = asyncio.Semaphore(concurrency)

    async def guarded(fault: dict[str, Any] | None) -> ConformanceRun:
        async with gate:
            return await _one(base, fault, window, cafile, profile)

    # The clean run goes alone: its timing cases must not share the machine with fault runs.
    clean = await _one(base, None, window, cafile, profile)
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


def matrix(
    rows: list[dict[str, Any]], unstable: Mapping[str, tuple[str, ...]] | None = None
) -> dict[str, tuple[tuple[str, str], ...]]:
    """The rows in the shape of :data:`EXPECTED`, to compare with it exactly; the catchers
    ``unstable`` names for a fault (:data:`UNSTABLE_HTTP2`) are left out."""
    skip = unstable or {}
    return {
        r["fault"]: tuple(
            (c["case"], c["outcome"])
            for c in r["caught_by"]
            if c["case"] not in skip.get(r["fault"], ())
        )
        for r in rows
    }


def unproven() -> dict[str, str]:
    """Every case no fault reaches, with the reason, in catalog order (scripted ones included)."""
    reasons = dict(UNPROVEN, **dict.fromkeys(_scripted(), _SCRIPTED))
    return {i: reasons[i] for i in load_catalog() if i in reasons}


def format_matrix(rows: list[dict[str, Any]]) -> str:
    width = max(len(r["fault"]) for r in rows)
    lines = [f"{'fault':<{width}}  rule  caught by"]
    for row in rows:
        hits = ", ".join(f"{c['case']} {c['outcome']}" for c in row["caught_by"]) or "NOT CAUGHT"
        lines.append(f"{row['fault']:<{width}}  {row['rule']}  {hits}")
    reasons = unproven()
    width = max(map(len, reasons))
    lines += ["", "cases without a fault:"]
    lines += [f"{case:<{width}}  {why}" for case, why in reasons.items()]
    return "\n".join(lines)
