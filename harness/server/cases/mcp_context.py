"""The shared evidence of an MCP run: one session and the few exchanges every MCP case reads.

An MCP endpoint has no stream until a client opens a session and asks for one, so this context
does what an MCP client does first (initialize or discover, tools/list), and its "stream" (what
the generic framing, header and timing cases grade) is the POST stream of a tool call that
streams progress, or of a tools/list when the server has no such tool. The longer exchanges
(several streams at once, a stream dropped and resumed, a resume from another session, the
server closing a stream mid-call) are each made once and shared by the cases that grade them,
as :class:`~harness.server.cases.context.Context` shares its captures.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urljoin

from harness import mcp
from harness.server.cases.context import Context
from harness.server.mcp_client import Call, McpClient, McpSession, answer, answers
from harness.server.probe import Capture, TimedEvent, Window
from harness.server.target import Need, Target

__all__ = [
    "CONFORMANCE_PROGRESS_TOOL",
    "CONFORMANCE_RECONNECT_TOOL",
    "Concurrent",
    "ForeignResume",
    "Legacy",
    "McpContext",
    "Reconnection",
    "Resume",
    "context_for",
]

#: The tools the official MCP conformance suite asks a server to provide, by the same names, so
#: a server prepared for that suite is prepared for these cases.
CONFORMANCE_PROGRESS_TOOL = "test_tool_with_progress"
CONFORMANCE_RECONNECT_TOOL = "test_reconnection"
#: What a case needs that only an open MCP session can give.
_SESSION_NEEDS = frozenset(
    {Need.MCP, Need.MCP_PROGRESS, Need.MCP_RESUMABLE, Need.MCP_RECONNECT, Need.BLACK_BOX}
)
#: The longest ``retry`` the reconnection case honours before it resumes anyway.
MAX_RETRY_WAIT_S = 5.0


@dataclass(frozen=True, slots=True)
class Concurrent:
    """The GET stream and two tool calls, open at once in one session."""

    get: Capture
    calls: tuple[Call, ...]

    @property
    def streams(self) -> list[tuple[str, Capture]]:
        named = [("GET stream", self.get)] if self.get.media_type == "text/event-stream" else []
        return named + [(f"POST of request {c.request_id}", c.capture) for c in self.calls]


@dataclass(frozen=True, slots=True)
class Resume:
    """Call A dropped after its first message; meanwhile call B ran to its end, in the same
    session (``resume``) or, with A's very request id, in another session (``foreign_resume``);
    then A resumed by GET."""

    dropped: Call
    other: Call
    last_event_id: str
    resumed: Capture


@dataclass(frozen=True, slots=True)
class ForeignResume:
    """A resume beside another session: the other session's call reused A's request id, then
    A resumed, and the other session presented A's Last-Event-ID."""

    run: Resume
    #: The other session's own resume attempt with A's id.
    foreign: Capture


@dataclass(frozen=True, slots=True)
class Reconnection:
    """The reconnection tool's POST stream, the wait the harness kept, and the resume."""

    call: Call
    waited_s: float
    resumed: Capture | None


@dataclass(frozen=True, slots=True)
class Legacy:
    """The legacy HTTP+SSE exchange: the GET stream, and the POST sent to its endpoint."""

    stream: Capture
    endpoint: str
    posted: Capture | None
    request_id: int


@dataclass
class McpContext(Context):
    _client: McpClient | None = field(default=None, init=False)
    #: Why the resume cases cannot run (set with the capabilities).
    _resume_gap: str = field(default="", init=False)

    @property
    def client(self) -> McpClient:
        if self._client is None:
            self._client = McpClient(self.target, self.transport, self.window)
        return self._client

    @property
    def offered(self) -> str:
        return self.target.mcp_version or mcp.NEWEST_HANDSHAKE

    # -- the session and what it lists ------------------------------------------------------

    async def mcp_session(self) -> McpSession:
        return await self._once("mcp:session", lambda: self.client.open_session(self.offered))

    async def tools(self) -> tuple[str, ...]:
        async def make() -> tuple[str, ...]:
            session = await self.mcp_session()
            return await self.client.list_tools(session) if not session.problem else ()

        return await self._once("mcp:tools", make)

    async def progress_tool(self) -> str | None:
        wanted = self.target.mcp_tool or CONFORMANCE_PROGRESS_TOOL
        return wanted if wanted in await self.tools() else None

    # -- the generic cases' stream ----------------------------------------------------------

    async def stream(self) -> Capture:
        """The stream the generic cases grade: a progress tool's call, else a tools/list."""

        async def make() -> Capture:
            session = await self.mcp_session()
            tool = await self.progress_tool()
            if tool is not None:
                # Read past the response: whether the server then ends the stream is graded.
                return (await self.client.call(session, tool, until=_never)).capture
            request_id = self.client.next_id()
            headers = mcp.stateless_headers("tools/list") if session.stateless else None
            return await self.client.post(
                mcp.tools_list(request_id, session.version), session, headers=headers
            )

        return await self._once("mcp:stream", make)

    async def fetch(
        self,
        key: str,
        *,
        method: str | None = None,
        headers: Any = None,
        read_body: bool = True,
        window: Window | None = None,
    ) -> Capture:
        """A generic case's longer read (the keep-alive case) is a GET stream, in a session of
        its own (a server may hold one GET stream per session): the stream an MCP server keeps
        open, where keep-alives matter. The stateless revision has none: its tool call's."""

        async def make() -> Capture:
            if (await self.mcp_session()).stateless:
                return await self.stream()
            return await self.client.get(await self.own_session(), window=window or self.window)

        return await self._once("mcp:get:" + key, make)

    async def own_session(self) -> McpSession:
        """A new session, for an exchange that must not share the main one (a second GET stream
        in one session is refused by some servers, 409 in the python SDK's)."""
        session = await self.client.open_session(self.offered)
        return session if not session.problem else await self.mcp_session()

    # -- capabilities and revisions ---------------------------------------------------------

    async def capabilities(self) -> set[Need]:
        async def make() -> set[Need]:
            found: set[Need] = set()
            if self.transport.http_version == "2":
                found.add(Need.HTTP2)
            if (await self.legacy()) is not None:
                return found | {Need.MCP_LEGACY}
            found.add(Need.MCP_ENDPOINT)
            session = await self.mcp_session()
            if session.problem:
                return found
            found.add(Need.MCP)
            main = await self.stream()
            if main.media_type == "text/event-stream":
                found.add(Need.BLACK_BOX)
            if await self.progress_tool() is None:
                wanted = self.target.mcp_tool or CONFORMANCE_PROGRESS_TOOL
                self._resume_gap = (
                    "this case drops a call and resumes it, which needs a tool that streams"
                    f" progress; the server lists no {wanted!r}"
                )
            else:
                found.add(Need.MCP_PROGRESS)
                if any(e.id_field for e in main.events):
                    found.add(Need.MCP_RESUMABLE)
                else:
                    self._resume_gap = (
                        "this case resumes a dropped stream; the server's streams carry no event"
                        " ids, so it offers no resumption (an event store gives it)"
                    )
            if CONFORMANCE_RECONNECT_TOOL in await self.tools():
                found.add(Need.MCP_RECONNECT)
            return found

        return await self._once("capabilities", make)

    async def not_applicable(self, revisions: tuple[str, ...]) -> str | None:
        session = await self.mcp_session()
        if not revisions or session.problem or session.version in revisions:
            return None
        version = session.version
        return (
            f"does not apply: the server negotiated MCP {version}, and this rule belongs to"
            f" {', '.join(revisions)}"
        )

    def _no_session(self) -> str | None:
        """Why no MCP session opened (None when one did, or when none was tried yet)."""
        task = self._memo.get("mcp:session")
        if task is None or not task.done() or task.cancelled() or task.exception() is not None:
            return None
        problem: str = task.result().problem
        return problem or None

    def unmet(self, need: Need) -> str:
        if need in _SESSION_NEEDS and (why := self._no_session()) is not None:
            return f"no MCP session could be opened: {why}"
        if need is Need.BLACK_BOX:
            return (
                "the server answered the MCP requests with JSON, not an event stream: there is"
                " no stream to grade (a legal choice; the stream cases need a tool whose call"
                " streams)"
            )
        if need is Need.MCP_PROGRESS:
            wanted = self.target.mcp_tool or CONFORMANCE_PROGRESS_TOOL
            return f"this case needs a tool that streams progress; the server lists no {wanted!r}"
        if need is Need.MCP_RESUMABLE:
            return self._resume_gap
        if need is Need.MCP_RECONNECT:
            return (
                "this case needs the server to close a stream mid-call; the server lists no"
                f" {CONFORMANCE_RECONNECT_TOOL!r} tool (the MCP conformance suite's)"
            )
        if need is Need.MCP_LEGACY:
            return "the target speaks Streamable HTTP, not the legacy HTTP+SSE transport"
        return super().unmet(need)

    def need_step(self, need: Need) -> str:
        if need in _SESSION_NEEDS and self._no_session() is not None:
            return (
                "point at the MCP endpoint (often …/mcp), with --header for its auth; the"
                " answer above says what it sent instead"
            )
        if need is Need.MCP_PROGRESS:
            return (
                f"add the MCP conformance suite's {CONFORMANCE_PROGRESS_TOOL!r} tool, or name a"
                " tool that sends progress with --mcp-tool NAME (pytest: --sse-mcp-tool)"
            )
        if need is Need.MCP_RECONNECT:
            return (
                f"add the MCP conformance suite's {CONFORMANCE_RECONNECT_TOOL!r} tool: it closes"
                " its stream mid-call (python SDK: ctx.close_sse_stream())"
            )
        if need is Need.MCP_RESUMABLE:
            if "no event ids" not in self._resume_gap:
                return self.need_step(Need.MCP_PROGRESS)
            return "give the session manager an event store (python SDK: event_store=...)"
        if need is Need.BLACK_BOX:
            return "answer tool calls with an event stream (python SDK: json_response=False)"
        if need is Need.MCP_LEGACY:
            return ""
        return super().need_step(need)

    # -- the shared longer exchanges --------------------------------------------------------

    async def concurrent(self) -> Concurrent:
        """The GET stream open, then two progress calls at once: what several streams of one
        session carry side by side."""

        async def make() -> Concurrent:
            session, tool = await self.own_session(), await self.progress_tool()
            assert tool is not None
            opened, done = asyncio.Event(), asyncio.Event()
            bound = min(self.window.max_seconds, 5.0)
            get = asyncio.ensure_future(
                self.client.get(
                    session,
                    window=replace(self.window, max_seconds=bound),
                    opened=opened,
                    stop=done,
                )
            )
            await opened.wait()
            calls = await asyncio.gather(
                self.client.call(session, tool), self.client.call(session, tool)
            )
            # The GET stream is read while the calls run: what the server sends there about
            # them goes out before their responses.
            done.set()
            return Concurrent(await get, tuple(calls))

        return await self._once("mcp:concurrent", make)

    async def resume(self) -> Resume:
        """A dropped, B run to its end in the same session, A resumed."""
        return await self._once("mcp:resume", lambda: self._drop_and_resume(None))

    async def foreign_resume(self) -> ForeignResume | None:
        """The same beside a second session (None when none could be opened)."""

        async def make() -> ForeignResume | None:
            stranger = await self.client.open_session(self.offered)
            if stranger.problem:
                return None
            run = await self._drop_and_resume(stranger)
            window = replace(self.window, max_seconds=min(self.window.max_seconds, 3.0))
            foreign = await self.client.get(
                stranger,
                last_event_id=run.last_event_id,
                window=window,
                until=answers(run.dropped.request_id),
            )
            return ForeignResume(run, foreign)

        return await self._once("mcp:foreign", make)

    async def _drop_and_resume(self, stranger: McpSession | None) -> Resume:
        """Call A dropped after its first message; call B run to its end (in ``stranger`` with
        A's request id, as another client numbering its own requests would); A resumed."""
        session, tool = await self.mcp_session(), await self.progress_tool()
        assert tool is not None
        dropped = await self.client.call(session, tool, until=_first_message)
        if stranger is None:
            other = await self.client.call(session, tool)
        else:
            other = await self.client.call(stranger, tool, request_id=dropped.request_id)
        last = dropped.capture.last_event_id
        resumed = await self.client.get(
            session, last_event_id=last, until=answers(dropped.request_id)
        )
        return Resume(dropped, other, last, resumed)

    async def reconnection(self) -> Reconnection:
        async def make() -> Reconnection:
            session = await self.mcp_session()
            call = await self.client.call(session, CONFORMANCE_RECONNECT_TOOL)
            first = call.capture
            if answer(first) is not None or not first.last_event_id:
                return Reconnection(call, 0.0, None)
            waited = min((first.retry or 0) / 1000, MAX_RETRY_WAIT_S)
            # The client's side of the rule: wait what retry asked before resuming.
            await asyncio.sleep(waited)
            resumed = await self.client.get(
                session, last_event_id=first.last_event_id, until=answers(call.request_id)
            )
            return Reconnection(call, waited, resumed)

        return await self._once("mcp:reconnection", make)

    async def legacy(self) -> Legacy | None:
        """The legacy transport's exchange, when the endpoint refuses the initialize POST the
        way the revisions' backwards-compatibility section describes and its GET opens a stream
        whose first event is ``endpoint``; None for a Streamable HTTP endpoint."""

        async def make() -> Legacy | None:
            session = await self.mcp_session()
            if not session.problem or session.opened.status not in (400, 404, 405):
                return None
            return await _legacy_exchange(self)

        return await self._once("mcp:legacy", make)


async def _legacy_exchange(ctx: McpContext) -> Legacy | None:
    """Open the GET stream, POST initialize to the endpoint it names, and read the reply off
    the stream (where the legacy transport sends it)."""
    client = ctx.client
    request_id = client.next_id()
    endpoint: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    def watch(event: TimedEvent) -> bool:
        if not endpoint.done():
            endpoint.set_result(event.event.data if event.event.type == "endpoint" else "")
            return event.event.type != "endpoint"
        return answers(request_id)(event)

    stream = asyncio.ensure_future(client.get(None, until=watch))
    pending: list[asyncio.Future[Any]] = [stream, endpoint]
    await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
    if not endpoint.done() or not endpoint.result():
        cap = await stream
        if not endpoint.done():
            endpoint.cancel()
        # A legacy server that misnamed its endpoint event still sends the URI first; any other
        # stream (a plain SSE endpoint given by mistake) is no MCP transport at all.
        first = cap.events[0].event.data if cap.events else ""
        return Legacy(cap, "", None, request_id) if _names_a_uri(first) else None
    posted = await client.post(
        mcp.initialize(request_id, mcp.LEGACY_REVISION),
        None,
        url=urljoin(ctx.target.url, endpoint.result()),
        window=replace(ctx.window, max_events=1),
    )
    return Legacy(await stream, endpoint.result(), posted, request_id)


def _names_a_uri(data: str) -> bool:
    """The data could be the URI an ``endpoint`` event carries (a path or an http(s) URL)."""
    return data.startswith(("/", "http://", "https://")) and not any(c.isspace() for c in data)


def _never(_event: TimedEvent) -> bool:
    return False


def _first_message(event: TimedEvent) -> bool:
    """Ends a read at its first JSON-RPC message (past any priming event): the drop point."""
    return bool(event.event.data)


def context_for(target: Target) -> type[Context]:
    """The context class of ``target``'s profile."""
    return McpContext if target.profile == "mcp" else Context
