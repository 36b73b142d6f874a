"""MCP Streamable HTTP (and legacy HTTP+SSE) cases: the rules MCP adds on top of SSE (M-*).

Each case reads the exchanges :class:`~harness.server.cases.mcp_context.McpContext` makes once
per run (the session, several streams at once, a dropped and resumed stream, a resume from
another session, a stream the server closes mid-call) and is tied to the revisions whose rules
it checks: a run that negotiated another revision says the case does not apply.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import replace
from typing import cast

from harness import mcp
from harness.server.cases.context import Context
from harness.server.cases.mcp_context import McpContext
from harness.server.cases.model import Finding, Need, case
from harness.server.mcp_client import McpSession, answer, messages
from harness.server.probe import Capture
from harness.server.target import CROSS_ORIGIN

STREAMABLE = mcp.REVISIONS[1:]
HANDSHAKE = mcp.HANDSHAKE_REVISIONS[1:]
PRIMING = ("2025-11-25",)
VERSION_HEADER = ("2025-06-18", "2025-11-25", mcp.STATELESS_REVISION)
ORIGIN_403 = ("2025-11-25", mcp.STATELESS_REVISION)
STATELESS = (mcp.STATELESS_REVISION,)
#: A revision no server speaks, for the version-header case.
BOGUS_VERSION = "1999-01-01"


def _mcp(ctx: Context) -> McpContext:
    return cast(McpContext, ctx)


def _head(cap: Capture) -> str:
    if cap.status is None:
        return f"no answer ({cap.error or cap.end})"
    return f"{cap.status} {cap.reason}".strip() + (
        f" with {cap.content_type}" if cap.content_type else ""
    )


async def _plain_request(
    ctx: McpContext, session: McpSession, *, headers: dict[str, str] | None = None
) -> Capture:
    """A tools/list POST in ``session`` with ``headers`` over the session's own."""
    request_id = ctx.client.next_id()
    sent = mcp.stateless_headers("tools/list") if session.stateless else {}
    return await ctx.client.post(
        mcp.tools_list(request_id, session.version),
        session,
        headers={**sent, **(headers or {})},
        window=replace(ctx.window, max_events=4, max_seconds=min(ctx.window.max_seconds, 5.0)),
    )


def _without(headers: dict[str, str], name: str) -> dict[str, str]:
    return {k: v for k, v in headers.items() if k.lower() != name.lower()}


# -- answers to POST and GET --------------------------------------------------------------


@case(
    "server.mcp.1",
    "A POST carrying a request is answered with JSON or an event stream",
    ["M-01"],
    needs=Need.MCP_ENDPOINT,
    profile="mcp",
    revisions=STREAMABLE,
    fix="answer each JSON-RPC request POST with 200 and Content-Type application/json (one"
    " object) or text/event-stream (python SDK: mount session_manager.handle_request at the"
    " MCP path)",
)
async def post_answers(ctx: Context) -> Finding:
    session = await _mcp(ctx).mcp_session()
    cap = session.opened
    if cap.status in (401, 403):
        return Finding(
            f"the initialize request was refused: {_head(cap)}",
            None,
            excerpt=cap.body[:200],
            next_step="pass the endpoint's credentials: --header 'Authorization: Bearer …'",
        )
    if session.problem:
        wrong_place = cap.status in (404, 405)
        return Finding(
            session.problem,
            False,
            excerpt=cap.raw[:200],
            next_step="is the URL the MCP endpoint (often …/mcp)? A legacy HTTP+SSE server is"
            " graded at the URL of its GET stream (often …/sse)"
            if wrong_place
            else None,
        )
    asked = "server/discover" if session.stateless else "initialize"
    return Finding(
        f"{asked} answered {_head(cap)}; the server speaks MCP {session.version}"
        + (f" (offered {_mcp(ctx).offered})" if session.version != _mcp(ctx).offered else ""),
        excerpt=cap.raw[:200],
    )


@case(
    "server.mcp.2",
    "A notification is answered 202 Accepted with no body",
    ["M-02"],
    needs=Need.MCP,
    profile="mcp",
    revisions=HANDSHAKE,
    fix="answer a POST that carries only a notification with 202 and an empty body",
)
async def notification_accepted(ctx: Context) -> Finding:
    ack = (await _mcp(ctx).mcp_session()).acknowledged
    assert ack is not None
    empty = not ack.raw
    return Finding(
        f"notifications/initialized answered {_head(ack)}"
        + ("" if empty else f" and a body of {len(ack.raw)} bytes"),
        ack.status == 202 and empty,
        excerpt=ack.raw[:200],
    )


@case(
    "server.mcp.3",
    "A GET of the endpoint opens an event stream or is refused with 405",
    ["M-03"],
    needs=Need.MCP,
    profile="mcp",
    revisions=HANDSHAKE,
    fix="answer GET with an event stream for server messages, or with 405 Method Not Allowed",
)
async def get_stream(ctx: Context) -> Finding:
    m = _mcp(ctx)
    # Only the answer's head is graded: the read ends as soon as it is in.
    window = replace(ctx.window, max_events=1, max_seconds=0.0)
    cap = await m.client.get(await m.own_session(), window=window)
    stream = cap.status == 200 and cap.media_type == "text/event-stream"
    return Finding(f"GET answered {_head(cap)}", stream or cap.status == 405, excerpt=cap.raw[:200])


# -- what one stream carries --------------------------------------------------------------


@case(
    "server.mcp.4",
    "A stream opens with a priming event (an id and empty data)",
    ["M-04"],
    profile="mcp",
    revisions=PRIMING,
    fix="send an event with an id and an empty data field first, so a client can resume at"
    " once (python SDK: give the session manager an event_store)",
)
async def priming(ctx: Context) -> Finding:
    cap = await ctx.stream()
    if not cap.events:
        return Finding("the stream carried no event", False, excerpt=cap.raw[:200])
    if not any(e.id_field for e in cap.events):
        return Finding(
            "the stream carries no event ids: the server offers no resumption, so there is"
            " nothing to prime",
            None,
            next_step="to let clients resume, give the server an event store (python SDK:"
            " event_store=...); it then primes each stream",
        )
    first = cap.events[0]
    primed = bool(first.id_field) and first.event.data == ""
    seen = f"id {first.id_field!r}, data {first.event.data[:60]!r}"
    return Finding(
        f"the first event has {seen}"
        + ("" if primed else ": a client cannot resume before the first message"),
        primed,
        excerpt=cap.raw[:200],
    )


@case(
    "server.mcp.5",
    "Every event carries one JSON-RPC message",
    ["M-05"],
    profile="mcp",
    revisions=STREAMABLE,
    fix="put exactly one JSON-RPC message, serialised as JSON, in each event's data",
)
async def one_message_per_event(ctx: Context) -> Finding:
    m = _mcp(ctx)
    streams = [await ctx.stream()]
    if Need.MCP_RESUMABLE in await m.capabilities():
        streams.append((await m.resume()).resumed)  # a replay is where stores go wrong
    version = (await m.mcp_session()).version
    found = [pair for cap in streams for pair in messages(cap)]
    bad = [
        (event, message)
        for event, message in found
        if message.kind == "not-json-rpc"
        and not (version == "2025-03-26" and message.problem.startswith("a batch"))
    ]
    if not found:
        return Finding("the stream carried no message", None, excerpt=streams[0].raw[:200])
    where = "the stream" if len(streams) == 1 else "the stream and its resumption"
    if not bad:
        return Finding(f"{len(found)} events on {where}, each one JSON-RPC message")
    event, message = bad[0]
    return Finding(
        f"{len(bad)} of {len(found)} events are not one JSON-RPC message: {message.problem}",
        False,
        excerpt=event.event.data.encode()[:200],
    )


# -- several streams of one session -------------------------------------------------------


def _on_several(named: Iterable[tuple[str, list[str]]]) -> dict[str, list[str]]:
    """Values (ids, messages) seen on more than one stream, with the streams' names."""
    where: dict[str, list[str]] = defaultdict(list)
    for name, values in named:
        for value in set(values):
            where[value].append(name)
    return {value: names for value, names in where.items() if len(names) > 1}


@case(
    "server.mcp.6",
    "Event ids are unique across the concurrent streams of a session",
    ["M-06"],
    needs=Need.MCP_RESUMABLE,
    profile="mcp",
    revisions=HANDSHAKE,
    fix="draw event ids from one sequence per session, or prefix them with the stream"
    " (python SDK: an EventStore whose store_event returns ids unique in the session)",
)
async def ids_across_streams(ctx: Context) -> Finding:
    together = await _mcp(ctx).concurrent()
    ids = [(name, [e.id_field for e in cap.events if e.id_field]) for name, cap in together.streams]
    shared = _on_several(ids)
    total = sum(len(v) for _, v in ids)
    if not shared:
        return Finding(f"{total} ids on {len(ids)} streams open at once, none on two of them")
    some = list(shared.items())[:3]
    return Finding(
        f"ids repeat across streams of one session: {', '.join(f'{i!r} on {n}' for i, n in some)}"
        ": a client resuming after one of them names two places at once",
        False,
    )


@case(
    "server.mcp.7",
    "Each message goes on exactly one stream",
    ["M-07"],
    needs=Need.MCP_PROGRESS,
    profile="mcp",
    revisions=HANDSHAKE,
    fix="send each message on one stream: a request's progress on that request's POST stream,"
    " never also on the GET stream (python SDK: pass related_request_id)",
)
async def no_broadcast(ctx: Context) -> Finding:
    together = await _mcp(ctx).concurrent()
    keys = [(name, [m.key() for _, m in messages(cap)]) for name, cap in together.streams]
    shared = _on_several(keys)
    if not shared:
        count = sum(len(v) for _, v in keys)
        return Finding(f"{count} messages on {len(keys)} streams open at once, each on one")
    message, names = next(iter(shared.items()))
    return Finding(
        f"{len(shared)} messages arrived on more than one stream, e.g. on {names}",
        False,
        excerpt=message.encode()[:200],
    )


@case(
    "server.mcp.8",
    "The GET stream carries no response unless it resumes",
    ["M-08"],
    needs=Need.MCP_PROGRESS,
    profile="mcp",
    revisions=HANDSHAKE,
    fix="send a request's response on that request's POST stream (or its resumption), never on"
    " the GET stream",
)
async def no_response_on_get(ctx: Context) -> Finding:
    get = (await _mcp(ctx).concurrent()).get
    if get.media_type != "text/event-stream":
        return Finding(f"the server offers no GET stream (GET answered {_head(get)})", None)
    responses = [m for _, m in messages(get) if m.kind in ("response", "error")]
    if not responses:
        return Finding(f"the GET stream carried {len(messages(get))} messages, no response")
    return Finding(
        f"the GET stream carried {len(responses)} responses while not resuming",
        False,
        excerpt=responses[0].raw.encode()[:200],
    )


# -- resumption -----------------------------------------------------------------------------


@case(
    "server.mcp.9",
    "A resume after a drop gives the rest of that stream, in order, up to its response",
    ["M-09"],
    needs=Need.MCP_RESUMABLE,
    profile="mcp",
    revisions=HANDSHAKE,
    fix="keep each stream's messages in the event store and replay those after Last-Event-ID,"
    " in order, then keep the resumed stream open until the response",
)
async def resume_exact(ctx: Context) -> Finding:
    run = await _mcp(ctx).resume()
    resumed = run.resumed
    if resumed.status != 200 or resumed.media_type != "text/event-stream":
        return Finding(
            f"the resume (GET with Last-Event-ID {run.last_event_id!r}) answered {_head(resumed)}",
            False,
            excerpt=resumed.raw[:200],
        )
    before, after = (
        _values(run.dropped.progress(run.dropped.capture)),
        _values(run.dropped.progress(resumed)),
    )
    expected = len(run.other.progress(run.other.capture))
    ours = run.dropped.mine(resumed)
    answered = [i for i, msg in enumerate(ours) if msg.kind in ("response", "error")]
    problems = []
    if not answered:
        problems.append("the response never came")
    elif answered[0] != len(ours) - 1:
        problems.append(f"{len(ours) - 1 - answered[0]} messages came after the response")
    if set(before) & set(after):
        problems.append(f"progress {sorted(set(before) & set(after))} came twice")
    if after != sorted(after):
        problems.append(f"progress out of order {after}")
    if len(before) + len(after) < expected:
        problems.append(
            f"{expected - len(before) - len(after)} progress messages lost ({len(before)}"
            f" before the drop, {len(after)} after; an undropped call sent {expected})"
        )
    seen = (
        f"dropped after {len(before)} progress messages; the resume gave {len(after)} more"
        f" and {'the response' if answered else 'no response'}"
    )
    if not problems:
        return Finding(seen)
    return Finding(f"{seen}: {'; '.join(problems)}", False, excerpt=resumed.raw[:300])


def _values(progress: list[mcp.Message]) -> list[float]:
    """The progress values of progress notifications, in arrival order."""
    values = []
    for message in progress:
        value = (message.body or {}).get("params", {}).get("progress")
        values.append(float(value) if isinstance(value, int | float) else float("nan"))
    return values


@case(
    "server.mcp.10",
    "A resume replays nothing of another stream",
    ["M-10"],
    needs=Need.MCP_RESUMABLE,
    profile="mcp",
    revisions=HANDSHAKE,
    fix="replay only the stream the Last-Event-ID belongs to (python SDK: replay_events_after"
    " must filter by that event's stream id)",
)
async def no_replay_across_streams(ctx: Context) -> Finding:
    run = await _mcp(ctx).resume()
    a, b = run.dropped.request_id, run.other.request_id
    leaked = run.other.mine(run.resumed)
    if not leaked:
        return Finding(
            f"the resume of request {a} carried nothing of request {b}, which ran on another"
            " stream meanwhile"
        )
    return Finding(
        f"the resume of request {a} replayed {len(leaked)} messages of request {b}'s stream",
        False,
        excerpt=leaked[0].raw.encode()[:200],
    )


@case(
    "server.mcp.11",
    "A resume in another session replays nothing of this one",
    ["M-10"],
    needs=Need.MCP_RESUMABLE,
    profile="mcp",
    revisions=HANDSHAKE,
    fix="keep event stores per session, or refuse a Last-Event-ID that another session's"
    " stream issued (404 or an empty stream)",
)
async def no_replay_across_sessions(ctx: Context) -> Finding:
    found = await _mcp(ctx).foreign_resume()
    if found is None:
        return Finding("no second session could be opened", None)
    run, foreign = found.run, found.foreign
    a = run.dropped.request_id
    theirs = run.dropped.mine(foreign)
    ours = run.other.progress(run.resumed)
    if not theirs and not ours:
        return Finding(
            f"another session, which also ran a request {a}, resuming after {run.last_event_id!r}"
            f" (this session's id) got {_head(foreign)} and nothing of this session; this"
            " session's resume got nothing of the other's"
        )
    problems = []
    if theirs:
        problems.append(
            f"another session resuming after {run.last_event_id!r} got {len(theirs)} messages"
            " of this session's stream"
        )
    if ours:
        problems.append(
            f"this session's resume got {len(ours)} messages of another session's request {a}"
            " (streams named by request id alone)"
        )
    leaked = (theirs or ours)[0]
    return Finding("; ".join(problems), False, excerpt=leaked.raw.encode()[:200])


@case(
    "server.mcp.12",
    "A stream the server closes mid-call sends retry first, and the resume ends with the result",
    ["M-11", "M-12"],
    needs=Need.MCP_RECONNECT,
    profile="mcp",
    revisions=PRIMING,
    fix="send a retry field before closing a stream early (python SDK: retry_interval=...),"
    " and keep the result for the resume (an event store)",
)
async def close_with_retry(ctx: Context) -> Finding:
    run = await _mcp(ctx).reconnection()
    first = run.call.capture
    if run.resumed is None:
        if answer(first) is not None:
            return Finding("the server answered without closing the stream mid-call", None)
        return Finding(
            f"the stream ended ({first.end}) without the result and without an event id to"
            " resume from",
            False,
            excerpt=first.raw[:200],
        )
    problems = []
    if first.retry is None:
        problems.append("no retry field came before the close")
    result = answer(run.resumed)
    if result is None or result.id != run.call.request_id:
        problems.append(f"the resume (GET) answered {_head(run.resumed)} without the result")
    seen = (
        f"the server closed the stream after {len(first.events)} events"
        f" (retry {first.retry} ms); resumed after {run.waited_s * 1000:.0f} ms"
    )
    if not problems:
        return Finding(seen + " and got the result", timings={"waited_s": run.waited_s})
    return Finding(f"{seen}: {'; '.join(problems)}", False, excerpt=first.raw[:200])


# -- sessions and headers -------------------------------------------------------------------


@case(
    "server.mcp.13",
    "Session ids are visible ASCII",
    ["M-13"],
    needs=Need.MCP,
    profile="mcp",
    revisions=HANDSHAKE,
    fix="issue session ids of visible ASCII only (a UUID or a token in base64url)",
)
async def session_id_ascii(ctx: Context) -> Finding:
    session = await _mcp(ctx).mcp_session()
    if session.session_id is None:
        return Finding("the server issues no session id", None)
    return Finding(f"session id {session.session_id!r}", mcp.visible_ascii(session.session_id))


@case(
    "server.mcp.14",
    "A request without the session id is refused with 400",
    ["M-14"],
    needs=Need.MCP,
    profile="mcp",
    revisions=HANDSHAKE,
    fix="answer a request that lacks Mcp-Session-Id (other than initialize) with 400",
)
async def session_required(ctx: Context) -> Finding:
    m = _mcp(ctx)
    session = await m.mcp_session()
    if session.session_id is None:
        return Finding("the server issues no session id: nothing to leave out", None)
    cap = await _plain_request(m, replace(session, session_id=None))
    return Finding(f"a tools/list without Mcp-Session-Id got {_head(cap)}", cap.status == 400)


@case(
    "server.mcp.15",
    "A session ended by DELETE answers 404",
    ["M-15"],
    needs=Need.MCP,
    profile="mcp",
    revisions=HANDSHAKE,
    fix="forget a session on DELETE and answer its id with 404 from then on",
)
async def deleted_session(ctx: Context) -> Finding:
    m = _mcp(ctx)
    session = await m.client.open_session(m.offered)
    if session.problem or session.session_id is None:
        return Finding("the server issues no session id: nothing to end", None)
    ended = await m.client.delete(session)
    if ended.status == 405:
        return Finding("DELETE answered 405: the server does not let clients end sessions", None)
    after = await _plain_request(m, session)
    return Finding(
        f"DELETE answered {_head(ended)}; a request in the ended session got {_head(after)}",
        after.status == 404,
    )


@case(
    "server.mcp.16",
    "An unsupported MCP-Protocol-Version is refused with 400",
    ["M-16"],
    needs=Need.MCP,
    profile="mcp",
    revisions=VERSION_HEADER,
    fix="check MCP-Protocol-Version on every request and answer a revision you do not speak"
    " with 400",
)
async def bad_version(ctx: Context) -> Finding:
    m = _mcp(ctx)
    cap = await _plain_request(
        m, await m.mcp_session(), headers={mcp.VERSION_HEADER: BOGUS_VERSION}
    )
    return Finding(
        f"a request with {mcp.VERSION_HEADER}: {BOGUS_VERSION} got {_head(cap)}",
        cap.status == 400,
    )


@case(
    "server.mcp.17",
    "A request from an untrusted Origin is refused with 403",
    ["M-17"],
    needs=Need.MCP,
    profile="mcp",
    revisions=ORIGIN_403,
    fix="validate Origin against the pages you trust and answer others with 403 (python SDK:"
    " TransportSecuritySettings(allowed_origins=[...]))",
)
async def bad_origin(ctx: Context) -> Finding:
    m = _mcp(ctx)
    cap = await _plain_request(m, await m.mcp_session(), headers={"Origin": CROSS_ORIGIN})
    return Finding(f"a request with Origin: {CROSS_ORIGIN} got {_head(cap)}", cap.status == 403)


# -- the legacy and the stateless revisions ---------------------------------------------------


@case(
    "server.mcp.18",
    "The legacy HTTP+SSE stream names its endpoint first and replies in message events",
    ["M-18", "M-19"],
    needs=Need.MCP_LEGACY,
    profile="mcp",
    fix="send event: endpoint with the POST URI first, then every server message as a message"
    " event (python SDK: SseServerTransport)",
)
async def legacy_transport(ctx: Context) -> Finding:
    run = await _mcp(ctx).legacy()
    assert run is not None
    if not run.endpoint:
        first = run.stream.events[0].event.type if run.stream.events else "none"
        return Finding(f"the first event is {first!r}, not endpoint", False, run.stream.raw[:200])
    replies = [e for e in run.stream.events if mcp.read_message(e.event.data).id == run.request_id]
    posted = _head(run.posted) if run.posted is not None else "nothing"
    if not replies:
        return Finding(
            f"endpoint {run.endpoint!r}; the initialize POSTed there got {posted}, and no reply"
            " came on the stream",
            False,
            excerpt=run.stream.raw[:300],
        )
    kind = replies[0].event.type
    return Finding(
        f"endpoint {run.endpoint!r}; the initialize POSTed there got {posted}; the reply came"
        f" as a {kind!r} event",
        kind == "message",
        excerpt=run.stream.raw[:300],
    )


@case(
    "server.mcp.19",
    "The stateless revision answers GET and DELETE with 405",
    ["M-20"],
    needs=Need.MCP,
    profile="mcp",
    revisions=STATELESS,
    fix="answer GET and DELETE of the MCP endpoint with 405 Method Not Allowed",
)
async def stateless_methods(ctx: Context) -> Finding:
    m = _mcp(ctx)
    session = await m.mcp_session()
    window = replace(ctx.window, max_events=1, max_seconds=0.0)  # the head is what is graded
    get = await m.client.get(session, window=window)
    deleted = await m.client.delete(session)
    return Finding(
        f"GET answered {_head(get)}, DELETE {_head(deleted)}",
        get.status == 405 and deleted.status == 405,
    )


@case(
    "server.mcp.20",
    "A stateless response stream carries only its request's notifications, then the response",
    ["M-21"],
    needs=Need.MCP_PROGRESS,
    profile="mcp",
    revisions=STATELESS,
    fix="send on a request's stream only notifications about that request, then its response",
)
async def stateless_stream(ctx: Context) -> Finding:
    cap = await ctx.stream()
    found = [m for _, m in messages(cap)]
    requests = [m for m in found if m.kind == "request"]
    last = found[-1] if found else None
    problems = []
    if requests:
        problems.append(f"{len(requests)} requests of the server's own ({requests[0].method})")
    if last is None or last.kind not in ("response", "error"):
        problems.append("the response is not the last message")
    seen = f"{len(found)} messages"
    if not problems:
        return Finding(f"{seen}: notifications, then the response")
    return Finding(f"{seen}: {'; '.join(problems)}", False, excerpt=cap.raw[:300])
