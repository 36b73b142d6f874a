"""One grader for every client case: compare an observation with the case's expectation.

Each field of :class:`~harness.clients.model.Expect` has one check here; a deviation becomes a
note naming what was expected and what was seen, and the case's level turns deviations into an
outcome through :func:`harness.outcome.grade`, the rule every instrument shares. A client that
hung or raised is graded on what it did, like any other client.

An SDK column on a ``client.llm.*`` case of its own API is graded on what its user's code got
instead (:class:`~harness.clients.model.SdkExpect`): the text deltas, and an exception only
where the case scripts an error event; an MCP column on a ``client.mcp.*`` case on what its
tools/call handed the user and the requests it made (:mod:`.mcp_grader`). A column that cannot
be graded on a case at all (no open notification to time, or a decoder on a case about
connections) gets UNIMPLEMENTED from :func:`ungradable` before the cell is run.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from harness.clients.adapters import ClientSpec
from harness.clients.mcp_grader import grade_mcp, mcp_expected_json
from harness.clients.model import ClientCase, HeaderExpect, SdkExpect
from harness.clients.observation import Observation
from harness.outcome import Outcome, escape_bytes, escape_text, grade
from harness.stream import Event

__all__ = ["CellGrade", "expected_json", "grade_cell", "ungradable"]

#: Reconnecting this much before the reconnection time is still on time (timer granularity).
_EARLY_S = 0.01
_FAILURE_ENDS = ("raised", "closed")


@dataclass(frozen=True, slots=True)
class CellGrade:
    """A cell's outcome and its evidence. ``rule`` pins a deviation on a rule other than the
    case's own (its first) when the evidence shows which (:func:`_pinned_rule`)."""

    outcome: Outcome
    notes: tuple[str, ...]
    rule: str | None = None


def ungradable(case: ClientCase, spec: ClientSpec) -> CellGrade | None:
    """UNIMPLEMENTED, with the reason, when ``spec`` lacks what ``case`` grades; else None. An
    SDK's own call on a case of its API is always graded."""
    if spec.speaks(case):
        return None
    if spec.decoder_only and case.needs_connection:
        why = (
            f"{spec.name} is graded as a decoder of a response body it is handed; this case is"
            " about what a connection does (status, type, requests, reconnects), which it has"
            " no part in"
        )
    elif case.expect.open_within is not None and not spec.reports_open:
        why = f"{spec.name} has no open notification to observe"
    else:
        return None
    return CellGrade(Outcome.UNIMPLEMENTED, (why,))


def grade_cell(case: ClientCase, obs: Observation, spec: ClientSpec) -> CellGrade:
    if obs.error is not None:
        return CellGrade(Outcome.ERROR, (obs.error,))
    not_graded = ungradable(case, spec)
    if not_graded is not None:
        return not_graded
    if case.mcp is not None and spec.speaks(case):
        outcome, notes, rule = grade_mcp(case, case.mcp, obs)
        return CellGrade(outcome, notes, rule)
    if case.sdk is not None and spec.speaks(case):
        problems = list(_sdk(case.sdk, obs))
        return CellGrade(grade(case.level, not problems), tuple(problems))
    problems = [
        *_events(case, obs),
        *_failure(case, obs),
        *_requests(case, obs),
        *_timing(case, obs),
    ]
    if case.informational:  # no verdict: what it did, and where that differs from SPEC.md
        return CellGrade(Outcome.INFORMATIONAL, (*_facts(obs), *problems))
    if problems and obs.bounded:
        problems.append(f"the client was still running at the {case.bound:g} s bound")
    rule = _pinned_rule(case, obs, problems)
    return CellGrade(grade(case.level, not problems), tuple(problems), rule)


def _pinned_rule(case: ClientCase, obs: Observation, problems: list[str]) -> str | None:
    """The rule a deviation breaks when the evidence shows it is not the case's own, so that a
    summary by rule (:mod:`.breaks`) says what is wrong with the client:

    * no reconnect at all, without a crash, where the case needs one: C-H6 (C-H2 after a broken
      connection), whatever the reconnect was to show (a retry value, a Last-Event-ID);
    * as its only fault, the expected events plus events with empty data: C-D2 (it fires
      events for blocks without data);
    * as its only fault, the right events with a wrong last event ID: C-D1.
    """
    expect = case.expect
    wants_reconnect = (expect.min_requests or 0) >= 2 or (
        expect.reconnect_after is not None and expect.reconnect_after[1] is not None
    )
    crashed = obs.kinds("exception") or obs.ended in ("client raised", "client crashed")
    if problems and wants_reconnect and len(obs.requests) < 2 and not crashed:
        return "C-H2" if case.responses[0].end == "abort" else "C-H6"
    if len(problems) != 1 or expect.events is None:
        return None
    expected = list(expect.events)
    observed = [e.event for e in obs.events()]
    if len(observed) > len(expected) and _with_dataless_extras(expected, observed):
        return "C-D2"
    ids_only = [(o.type, o.data) for o in observed] == [(e.type, e.data) for e in expected]
    return "C-D1" if ids_only and observed != expected else None


def _with_dataless_extras(expected: list[Event], observed: list[Event]) -> bool:
    """``observed`` is ``expected``, in order, with events of empty data in between."""
    matched = 0
    for event in observed:
        if matched < len(expected) and event == expected[matched]:
            matched += 1
        elif event.data:
            return False
    return matched == len(expected)


def _show(event: Event) -> str:
    shown = escape_text
    return f'{shown(event.type)} "{shown(event.data)}" id="{shown(event.last_event_id)}"'


def _events(case: ClientCase, obs: Observation) -> Iterator[str]:
    expected = case.expect.events
    if expected is None:
        return
    observed = [e.event for e in obs.events()]
    if observed == list(expected):
        return
    first = next(
        i
        for i in range(max(len(observed), len(expected)))
        if i >= len(observed) or i >= len(expected) or observed[i] != expected[i]
    )
    if first >= len(observed):
        detail = f"event #{first + 1} missing: expected {_show(expected[first])}"
        if obs.bounded:
            detail += " (timed out waiting for dispatch)"
    elif first >= len(expected):
        detail = f"unexpected event #{first + 1}: {_show(observed[first])}"
    else:
        detail = (
            f"event #{first + 1}: expected {_show(expected[first])},"
            f" observed {_show(observed[first])}"
        )
    yield f"expected {len(expected)} event(s), observed {len(observed)}; {detail}"


def _sdk(expect: SdkExpect, obs: Observation) -> Iterator[str]:
    """The deltas the user's code got, then how the streaming call ended."""
    deltas = [str(r.get("text")) for r in obs.kinds("delta")]
    if deltas != list(expect.deltas):
        shown = ", ".join(f'"{escape_text(d)}"' for d in deltas) or "none"
        wanted = ", ".join(f'"{escape_text(d)}"' for d in expect.deltas)
        yield f"the user's code received deltas {shown}; expected {wanted}"
    raised = [
        f"{r.get('type')}: {escape_text(str(r.get('message')))}" for r in obs.kinds("exception")
    ]
    if obs.ended.startswith("client crashed"):
        yield f"the client {obs.ended.removeprefix('client ')}"
    if expect.raises is None:
        yield from (f"raised {error} on a legal stream" for error in raised)
        if not raised and obs.ended != "client returned":
            yield f"the streaming call had not returned ({_ending(obs)})"
    elif not raised:
        yield (
            f"the error event was not raised to the caller (expected an error carrying"
            f' "{expect.raises}"): {_ending(obs)}'
        )
    elif not any(expect.raises in str(r.get("message")) for r in obs.kinds("exception")):
        yield f'raised {raised[0]}; expected the API error carrying "{expect.raises}"'


def _signalled(obs: Observation) -> bool:
    return bool(obs.kinds("exception") or obs.kinds("error")) or obs.ended.endswith(_FAILURE_ENDS)


def _failure(case: ClientCase, obs: Observation) -> Iterator[str]:
    fails = case.expect.fails
    if fails is None:
        return
    crashed = obs.ended.startswith("client crashed")
    if crashed:
        yield f"the client {obs.ended.removeprefix('client ')}"
    if fails:
        if not _signalled(obs) and not crashed:
            how = f"it ended ({obs.ended})" if obs.ended.startswith("client") else "it kept going"
            yield f"the response must fail the connection, but no error was signalled: {how}"
        if obs.kinds("open"):
            yield "announced open for a response it must refuse"
        return
    for record in obs.kinds("exception"):
        yield f"raised {record.get('type')}: {escape_text(str(record.get('message')))}"
    if any(r.get("closed") is True for r in obs.kinds("error")) or obs.ended == "client closed":
        yield "gave up on the stream with an error (closed)"


def _requests(case: ClientCase, obs: Observation) -> Iterator[str]:
    expect = case.expect
    requests = obs.requests
    n = len(requests)
    if expect.requests is not None and n != expect.requests:
        extra = ""
        if n > expect.requests:
            late = requests[expect.requests].t - obs.started
            extra = f"; request #{expect.requests + 1} at +{late:.2f} s"
        yield f"made {n} request(s), expected exactly {expect.requests} (no reconnect){extra}"
    if expect.min_requests is not None and n < expect.min_requests:
        yield (
            f"made {n} request(s), expected at least {expect.min_requests}: no reconnect"
            f" ({_ending(obs)})"
        )
    for i, suffix in enumerate(expect.paths or ()):
        want = obs.path + suffix
        if i >= n:
            yield f"request #{i + 1} (to {want}) never came"
        elif requests[i].path != want:
            yield f"request #{i + 1} went to {requests[i].path}, expected {want}"
    if expect.method is not None:
        for i, request in enumerate(requests):
            if request.method != expect.method:
                yield f"request #{i + 1} used {request.method}, expected {expect.method}"
    for check in expect.headers:
        yield from _header(check, obs)
    if expect.reconnect_after is not None:
        yield from _reconnect_delay(expect.reconnect_after, obs)


def _ending(obs: Observation) -> str:
    if obs.ended.startswith("client"):
        return f"the client ended by itself: {obs.ended.removeprefix('client ')}"
    return f"nothing more by the {obs.case.bound:g} s bound" if obs.bounded else obs.ended


def _header(check: HeaderExpect, obs: Observation) -> Iterator[str]:
    if check.request >= len(obs.requests):
        yield f"request #{check.request + 1} never came, so its {check.name} was not seen"
        return
    raw = obs.requests[check.request].header(check.name)
    where = f"request #{check.request + 1}"
    if check.value is None:
        if raw is not None:
            yield f"{where} sent {check.name}: {escape_bytes(raw)}; expected no such header"
        return
    if raw is None:
        yield f"{where} sent no {check.name}; expected {check.name}: {check.value}"
        return
    if check.token:
        tokens = [t.strip().lower() for t in raw.decode("latin-1").split(",")]
        ok = check.value.lower() in tokens
    else:
        ok = raw == check.value.encode("utf-8")
    if not ok:
        yield f"{where} sent {check.name}: {escape_bytes(raw)}; expected {check.value}"


def _reconnect(obs: Observation) -> tuple[float, float | None] | None:
    """(when the first stream body ended, when the next request came or None), or None when no
    stream body has ended: the reconnect after a normal end, whatever came before (a redirect)."""
    for i, served in enumerate(obs.served):
        if obs.case.response(i).stream and served.ended_at is not None:
            later = obs.requests[i + 1].t if i + 1 < len(obs.requests) else None
            return served.ended_at, later
    return None


def _reconnect_delay(window: tuple[float, float | None], obs: Observation) -> Iterator[str]:
    low, high = window
    reconnect = _reconnect(obs)
    if reconnect is None or reconnect[1] is None:
        if high is not None:
            yield f"no reconnect ({_ending(obs)})"
        return
    delay = reconnect[1] - reconnect[0]
    if delay < low - _EARLY_S:
        yield (
            f"reconnected {delay * 1000:.0f} ms after the body ended, before the"
            f" {low * 1000:.0f} ms reconnection time"
        )
    elif high is not None and delay > high:
        yield (
            f"reconnected {delay:.2f} s after the body ended; the {low * 1000:.0f} ms"
            f" reconnection time allows up to {high:g} s with backoff (retry ignored?)"
        )


def _timing(case: ClientCase, obs: Observation) -> Iterator[str]:
    expect = case.expect
    if expect.open_within is not None:
        opens = obs.kinds("open")
        if not obs.served:
            yield "no response was served, so no open could be timed"
        elif not opens:
            yield "no open was announced"
        else:
            delay = float(opens[0]["t"]) - obs.served[0].headers_at
            if delay > expect.open_within:
                yield (
                    f"open announced {delay * 1000:.0f} ms after the headers (limit"
                    f" {expect.open_within * 1000:.0f} ms): it waited for the body"
                )
    limit = expect.dispatch_within
    observed = obs.events()
    if limit is None or expect.events is None or [e.event for e in observed] != list(expect.events):
        return  # missing or wrong events are already reported; only matched ones are timed
    for i, ((r, c, _), seen) in enumerate(zip(case.parsed(), observed, strict=True)):
        due = obs.served[r].chunk_times[c]
        if seen.t - due > limit:
            yield (
                f"event #{i + 1} dispatched {(seen.t - due) * 1000:.0f} ms after the chunk that"
                f" completes it arrived (limit {limit * 1000:.0f} ms)"
            )


def _facts(obs: Observation) -> Iterator[str]:
    reconnect = _reconnect(obs)
    if reconnect is None or reconnect[1] is None:
        yield f"no reconnect ({_ending(obs)})"
    else:
        yield f"reconnected {reconnect[1] - reconnect[0]:.2f} s after the body ended"


def expected_json(case: ClientCase, sdk: bool = False) -> dict[str, Any]:
    """The ``expected`` part of a report result: the checked fields of the expectation, or with
    ``sdk`` what an SDK's streaming call (or an MCP SDK's tools/call) must hand its user."""
    if sdk and case.mcp is not None:
        return mcp_expected_json(case.mcp)
    if sdk and case.sdk is not None:
        return {"api": case.sdk.api, "deltas": list(case.sdk.deltas), "raises": case.sdk.raises}
    expect = case.expect
    out: dict[str, Any] = {}
    if expect.events is not None:
        out["events"] = [
            {"type": e.type, "data": e.data, "last_event_id": e.last_event_id}
            for e in expect.events
        ]
    for name in (
        "fails",
        "requests",
        "min_requests",
        "method",
        "dispatch_within",
        "open_within",
        "reconnect_after",
    ):
        value = getattr(expect, name)
        if value is not None:
            out[name] = list(value) if isinstance(value, tuple) else value
    if expect.paths is not None:
        out["paths"] = list(expect.paths)
    if expect.headers:
        out["headers"] = [
            {"request": h.request, "name": h.name, "value": h.value, "token": h.token}
            for h in expect.headers
        ]
    return out
