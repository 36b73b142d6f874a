"""One grader for every client case: compare an observation with the case's expectation.

Each field of :class:`~harness.clients.model.Expect` has one check here; a deviation becomes a
note naming what was expected and what was seen, and the case's level turns deviations into an
outcome through :func:`harness.outcome.grade`, the rule every instrument shares. A client that
hung or raised is graded on what it did, like any other client.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from harness.clients.adapters import ClientSpec
from harness.clients.model import Case, HeaderExpect
from harness.clients.observation import Observation, text
from harness.outcome import Outcome, escape_bytes, grade
from harness.stream import Event

__all__ = ["Verdict", "expected_json", "grade_cell"]

#: Reconnecting this much before the reconnection time is still on time (timer granularity).
_EARLY_S = 0.01
_FAILURE_ENDS = ("raised", "closed")


@dataclass(frozen=True, slots=True)
class Verdict:
    outcome: Outcome
    notes: tuple[str, ...]


def grade_cell(case: Case, obs: Observation, spec: ClientSpec) -> Verdict:
    if obs.error is not None:
        return Verdict(Outcome.ERROR, (obs.error,))
    if case.expect.open_within is not None and not spec.reports_open:
        return Verdict(Outcome.UNIMPLEMENTED, (f"{spec.name} has no open notification to observe",))
    problems = [
        *_events(case, obs),
        *_failure(case, obs),
        *_requests(case, obs),
        *_timing(case, obs),
    ]
    if case.informational:  # no verdict: what it did, and where that differs from SPEC.md
        return Verdict(Outcome.INFORMATIONAL, (*_facts(obs), *problems))
    if problems and obs.bounded:
        problems.append(f"the client was still running at the {case.bound:g} s bound")
    return Verdict(grade(case.level, not problems), tuple(problems))


def _show(event: Event) -> str:
    return f'{text(event.type)} "{text(event.data)}" id="{text(event.last_event_id)}"'


def _events(case: Case, obs: Observation) -> Iterator[str]:
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


def _signalled(obs: Observation) -> bool:
    return bool(obs.kinds("exception") or obs.kinds("error")) or obs.ended.endswith(_FAILURE_ENDS)


def _failure(case: Case, obs: Observation) -> Iterator[str]:
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
        yield f"raised {record.get('type')}: {text(str(record.get('message')))}"
    if any(r.get("closed") is True for r in obs.kinds("error")) or obs.ended == "client closed":
        yield "gave up on the stream with an error (closed)"


def _requests(case: Case, obs: Observation) -> Iterator[str]:
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


def _timing(case: Case, obs: Observation) -> Iterator[str]:
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


def expected_json(case: Case) -> dict[str, Any]:
    """The ``expected`` part of a report result: the checked fields of the expectation."""
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
