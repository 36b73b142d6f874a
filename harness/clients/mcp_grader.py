"""Grading an MCP SDK's cell: what its tools/call handed the user, and what it asked of the server.

An MCP column runs a ``client.mcp.*`` case through its SDK (:mod:`.mcp_endpoint` answers it), so
its cell is graded on:

* the user's code: the progress notifications its callback got, in order and with their values;
  then the result's text, or an exception. An exception on a legal stream is FAILED, with the
  exception as evidence; where no response can come (:attr:`McpExpect.result` None) the call
  must fail by itself, and one still waiting at the bound is graded at the case's level;
* each resume GET: the ``Last-Event-ID`` it carries (C-R4), the session and the negotiated
  revision (``Mcp-Session-Id``, ``MCP-Protocol-Version``, MUST on every request after
  initialize), ``Accept: text/event-stream``; no resume beyond the expected ones;
* each resume's wait after the stream it resumes ended, against the stream's ``retry``, with the
  MCP conformance suite's tolerance (its sse-retry scenario: ``EARLY_TOLERANCE`` 50 ms,
  ``LATE_TOLERANCE`` 200 ms, ``VERY_LATE_MULTIPLIER`` 2): earlier than retry - 50 ms, or later
  than twice the retry, is FAILED (the spec: "The client MUST respect the retry field"); later
  than retry + 200 ms is NON-STRICT (the suite's WARNING);
* the answer to each request the server sent on the stream (a ``ping`` gets an empty result);
* with :attr:`McpExpect.result_within`, how soon the result reached the user after the chunk
  that completes it.

Each problem carries its level: the cell is FAILED when one is at MUST, NON-STRICT when all are
below. The first problem's rule, when the evidence shows one other than the case's own, is the
one the cell is pinned on (as :func:`harness.clients.grader.grade_cell` does).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from harness.clients.mcp_cases import TOOL
from harness.clients.mcp_endpoint import session_id
from harness.clients.model import ClientCase, McpExpect, McpProgress
from harness.clients.observation import Observation
from harness.clients.server import SeenRequest
from harness.mcp import HANDSHAKE_REVISIONS, NEWEST_HANDSHAKE, read_message
from harness.outcome import Level, Outcome, escape_bytes, escape_text

__all__ = ["EARLY_S", "LATE_S", "VERY_LATE", "grade_mcp", "mcp_expected_json"]

#: The MCP conformance suite's sse-retry tolerance (src/scenarios/client/sse-retry.ts).
EARLY_S = 0.050
LATE_S = 0.200
VERY_LATE = 2

_M, _S = Level.MUST, Level.SHOULD


@dataclass(frozen=True, slots=True)
class _Problem:
    level: Level
    text: str
    rule: str | None = None


def grade_mcp(
    case: ClientCase, expect: McpExpect, obs: Observation
) -> tuple[Outcome, tuple[str, ...], str | None]:
    """The outcome, the notes and the rule a deviation is pinned on (None: the case's own)."""
    problems = [
        *_user(case, expect, obs),
        *_resumes(case, expect, obs),
        *_answers(expect, obs),
        *_latency(case, expect, obs),
    ]
    if not problems:
        return Outcome.OK, (), None
    problems.sort(key=lambda p: p.level is not _M)  # MUST first, in check order
    notes = [p.text for p in problems]
    if obs.bounded:
        notes.append(f"the client was still running at the {case.bound:g} s bound")
    outcome = Outcome.FAILED if problems[0].level is _M else Outcome.NON_STRICT
    rule = problems[0].rule
    return outcome, tuple(notes), rule if rule != case.rules[0] else None


def _shown(progress: McpProgress) -> str:
    message = "" if progress.message is None else f' "{escape_text(progress.message)}"'
    return f"{progress.progress:g}/{'-' if progress.total is None else f'{progress.total:g}'}" + (
        message
    )


def _observed_progress(obs: Observation) -> list[McpProgress]:
    return [
        McpProgress(r.get("progress"), r.get("total"), r.get("message"))  # type: ignore[arg-type]
        for r in obs.kinds("progress")
    ]


def _ending(obs: Observation) -> str:
    if obs.ended.startswith("client"):
        return f"the client ended by itself: {obs.ended.removeprefix('client ')}"
    return f"nothing more by the {obs.case.bound:g} s bound" if obs.bounded else obs.ended


def _user(case: ClientCase, expect: McpExpect, obs: Observation) -> Iterator[_Problem]:
    """What the user's code received: the progress, then the result or the exception."""
    seen = _observed_progress(obs)
    if seen != list(expect.progress):
        shown = ", ".join(map(_shown, seen)) or "none"
        wanted = ", ".join(map(_shown, expect.progress)) or "none"
        yield _Problem(_M, f"the progress callback got {shown}; expected {wanted}")
    raised = [
        f"{r.get('type')}: {escape_text(str(r.get('message')))}" for r in obs.kinds("exception")
    ]
    results = obs.kinds("result")
    if obs.ended.startswith("client crashed"):
        yield _Problem(_M, f"the client {obs.ended.removeprefix('client ')}")
    if expect.result is None:
        if results:
            yield _Problem(_M, f'the call returned "{escape_text(str(results[0].get("text")))}"')
        elif not raised:
            yield _Problem(
                case.level,
                "the call neither returned nor raised, though no response can come (the stream"
                f" ended without one, and without an event id to resume from): {_ending(obs)}",
            )
        return
    yield from (_Problem(_M, f"raised {error} on a legal stream") for error in raised)
    if not results:
        if not raised:
            yield _Problem(_M, f"the call had not returned a result ({_ending(obs)})")
        return
    text = str(results[0].get("text"))
    if text != expect.result or results[0].get("is_error"):
        error = " (isError)" if results[0].get("is_error") else ""
        yield _Problem(
            _M, f'the call returned "{escape_text(text)}"{error}; expected "{expect.result}"'
        )


def _index(obs: Observation, role: str) -> list[int]:
    return [i for i, request in enumerate(obs.requests) if request.role == role]


def _negotiated(obs: Observation) -> str:
    """The revision the endpoint answered initialize with: the one asked for, if it has a
    handshake (:mod:`.mcp_endpoint`)."""
    for request in obs.requests:
        if request.role == "initialize":
            params = (read_message(request.body.decode("utf-8", "replace")).body or {}).get(
                "params"
            )
            asked = params.get("protocolVersion") if isinstance(params, dict) else None
            return asked if asked in HANDSHAKE_REVISIONS else NEWEST_HANDSHAKE
    return NEWEST_HANDSHAKE


def _session_id(obs: Observation) -> str:
    return session_id(obs.path.split("/")[2])


def _resumes(case: ClientCase, expect: McpExpect, obs: Observation) -> Iterator[_Problem]:
    calls = _index(obs, "call")
    resumes = _index(obs, "resume")
    wanted = expect.resumes
    for k, i in enumerate(resumes):
        request = obs.requests[i]
        where = f"resume GET #{k + 1} (+{request.t - obs.started:.2f} s)"
        sent = request.header("Last-Event-ID")
        if k >= len(wanted):
            why = (
                "no resume was due"
                if not wanted
                else f"the stream was complete after resume #{len(wanted)}"
            )
            shown = "no Last-Event-ID" if sent is None else f"Last-Event-ID: {escape_bytes(sent)}"
            yield _Problem(_S, f"{where} with {shown}: {why}")
            continue
        if sent is None:
            yield _Problem(_M, f"{where} sent no Last-Event-ID; expected {wanted[k]}", "C-R4")
        elif sent != wanted[k].encode():
            yield _Problem(
                _M,
                f"{where} sent Last-Event-ID: {escape_bytes(sent)}; expected {wanted[k]}, the"
                " last event id received",
                "C-R4",
            )
        yield from _resume_headers(where, request, obs)
    if len(resumes) < len(wanted):
        k = len(resumes)
        ended = case.responses[k].end
        yield _Problem(
            _M,
            f"no resume GET #{k + 1} (expected Last-Event-ID: {wanted[k]}) after the stream"
            f" {'dropped' if ended == 'abort' else 'closed'}: {_ending(obs)}",
            "C-H2" if ended == "abort" else "C-H6",
        )
    if expect.retry is not None and calls:
        previous = [calls[0], *resumes]
        for k, (before, i) in enumerate(zip(previous, resumes[: len(wanted)], strict=False)):
            ended_at = obs.served[before].ended_at if before < len(obs.served) else None
            if ended_at is not None:
                yield from _wait(k, obs.requests[i].t - ended_at, expect.retry)


def _resume_headers(where: str, request: SeenRequest, obs: Observation) -> Iterator[_Problem]:
    session = _session_id(obs)
    version = _negotiated(obs)
    for name, value in (("Mcp-Session-Id", session), ("MCP-Protocol-Version", version)):
        sent = request.header(name)
        if sent is None:
            yield _Problem(_M, f"{where} sent no {name}; expected {value}")
        elif sent != value.encode():
            yield _Problem(_M, f"{where} sent {name}: {escape_bytes(sent)}; expected {value}")
    accept = request.header("Accept") or b""
    if b"text/event-stream" not in accept.lower():
        yield _Problem(
            _M, f"{where} sent Accept: {escape_bytes(accept)}; it must list text/event-stream"
        )


def _wait(k: int, delay: float, retry: float) -> Iterator[_Problem]:
    ms = f"{delay * 1000:.0f} ms after the stream it resumes ended"
    where = f"resume GET #{k + 1} came {ms}"
    if delay < retry - EARLY_S:
        yield _Problem(
            _M, f"{where}, before the {retry * 1000:.0f} ms retry (-50 ms tolerance)", "C-H8"
        )
    elif delay > retry * VERY_LATE:
        yield _Problem(
            _M,
            f"{where}: more than twice the {retry * 1000:.0f} ms retry (retry ignored?)",
            "C-H8",
        )
    elif delay > retry + LATE_S:
        yield _Problem(
            _S, f"{where}: late for the {retry * 1000:.0f} ms retry (+200 ms tolerance)", "C-H8"
        )


def _answers(expect: McpExpect, obs: Observation) -> Iterator[_Problem]:
    answered: dict[Any, str] = {}
    for request in obs.requests:
        if request.role == "answer":
            message = read_message(request.body.decode("utf-8", "replace"))
            answered.setdefault(message.id, message.kind)
    for request_id in expect.answers:
        kind = answered.get(request_id)
        if kind is None:
            yield _Problem(_M, f"the server's request {request_id} (ping) was never answered")
        elif kind != "response":
            yield _Problem(_M, f"the server's request {request_id} (ping) got an error back")


def _latency(case: ClientCase, expect: McpExpect, obs: Observation) -> Iterator[_Problem]:
    limit = expect.result_within
    results = obs.kinds("result")
    if limit is None or not results:
        return
    found = next(
        (
            (r, c)
            for r, c, event in case.parsed()
            if read_message(event.data).kind in ("response", "error")
        ),
        None,
    )
    streams = [*_index(obs, "call")[:1], *_index(obs, "resume")]
    if found is None or found[0] >= len(streams):
        return
    r, c = found
    chunks = obs.served[streams[r]].chunk_times
    if c < len(chunks):
        late = float(results[0]["t"]) - chunks[c]
        if late > limit:
            yield _Problem(
                _M,
                f"the result reached the user's code {late * 1000:.0f} ms after the chunk that"
                f" completes it arrived (limit {limit * 1000:.0f} ms): it waited for the next"
                " chunk",
            )


def mcp_expected_json(expect: McpExpect) -> dict[str, Any]:
    """What an MCP SDK's tools/call must hand its user, and the requests it must make."""

    def progress(p: McpProgress) -> dict[str, Any]:
        return {"progress": p.progress, "total": p.total, "message": p.message}

    out: dict[str, Any] = {
        "api": "mcp",
        "tool": TOOL,
        "progress": [progress(p) for p in expect.progress],
        "result": expect.result,
        "raises": expect.result is None,
        "resumes": [{"last_event_id": value} for value in expect.resumes],
    }
    if expect.retry is not None:
        out["retry_s"] = expect.retry
        out["tolerance_s"] = {"early": EARLY_S, "late": LATE_S, "very_late": VERY_LATE}
    if expect.answers:
        out["answers"] = list(expect.answers)
    if expect.result_within is not None:
        out["result_within"] = expect.result_within
    return out
