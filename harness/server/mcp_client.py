"""The harness as an MCP client: the requests of the MCP profile, each one a bounded capture.

The profile's cases need exchanges no SDK would let them see: the raw answer to each POST, the
bytes of every stream, a stream dropped on purpose after its k-th event, a resume in another
session. So the harness speaks the transport itself, over the run's own :class:`Transport`
(HTTP/1.1 or HTTP/2, the target's headers for auth), and every exchange is a
:class:`~harness.server.probe.Capture` the cases read like any other. What is said comes from
:mod:`harness.mcp`; this module only sends it, with the session's headers.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from harness import mcp
from harness.server.probe import Capture, TimedEvent, Window, capture
from harness.server.target import Target
from harness.server.transport import Transport

__all__ = ["Call", "McpClient", "McpSession", "answer", "answers", "messages"]


@dataclass(frozen=True, slots=True)
class McpSession:
    """What an initialize (or, in the stateless revision, a discover) settled."""

    #: The revision the server answered with; "" when it answered nothing usable.
    version: str
    #: The session id the server issued (None: the server keeps no sessions).
    session_id: str | None
    #: The exchange that settled it, evidence for the cases that grade it.
    opened: Capture
    #: The answer's JSON-RPC message, None when there was none.
    answer: mcp.Message | None = None
    #: Why no session could be opened ("" when one was).
    problem: str = ""
    #: The answer to the initialized notification (None: stateless, or no session).
    acknowledged: Capture | None = None

    @property
    def stateless(self) -> bool:
        return self.version == mcp.STATELESS_REVISION

    def headers(self) -> dict[str, str]:
        """What every request after the handshake carries: the session and the revision."""
        found: dict[str, str] = {}
        if self.session_id is not None:
            found[mcp.SESSION_HEADER] = self.session_id
        if mcp.at_least(self.version, "2025-06-18"):
            found[mcp.VERSION_HEADER] = self.version
        return found


@dataclass(frozen=True, slots=True)
class Call:
    """One tools/call: its request id, its progress token and its POST's capture."""

    request_id: int
    token: str
    capture: Capture

    def mine(self, cap: Capture) -> list[mcp.Message]:
        """The messages of this call on ``cap`` (its stream, a resume, another stream): its
        progress, and its response where the token cannot tell (a response carries none)."""
        return [
            m
            for _, m in messages(cap)
            if m.progress_token == self.token
            or (m.kind in ("response", "error") and m.id == self.request_id)
        ]

    def progress(self, cap: Capture) -> list[mcp.Message]:
        return [m for _, m in messages(cap) if m.progress_token == self.token]


def messages(cap: Capture) -> list[tuple[TimedEvent, mcp.Message]]:
    """The JSON-RPC messages of a stream, each with its event; events without data (a priming
    event) are left out: they carry no message."""
    return [(e, mcp.read_message(e.event.data)) for e in cap.events if e.event.data]


def answer(cap: Capture) -> mcp.Message | None:
    """The JSON-RPC message a POST answered with: the JSON body, or the stream's response."""
    if cap.media_type == "application/json":
        return mcp.read_message(cap.body.decode("utf-8", "replace"))
    return next(
        (m for _, m in messages(cap) if m.kind in ("response", "error")),
        None,
    )


class McpClient:
    """Sends the profile's requests to one MCP endpoint; progress tokens (and, unless a case
    reuses one, request ids) are unique over the whole run, so a message on the wrong stream or
    in the wrong session is recognisable wherever it turns up."""

    def __init__(self, target: Target, transport: Transport, window: Window) -> None:
        self.target = target
        self.transport = transport
        self.window = window
        self._ids = itertools.count(1)
        self._tokens = itertools.count(1)

    def next_id(self) -> int:
        return next(self._ids)

    async def post(
        self,
        body: bytes,
        session: McpSession | None,
        *,
        headers: Mapping[str, str] | None = None,
        window: Window | None = None,
        until: Callable[[TimedEvent], bool] | None = None,
        url: str | None = None,
    ) -> Capture:
        """One POST to the endpoint (or to ``url``: the legacy transport's message endpoint),
        as a Streamable HTTP client sends it."""
        sent = {"Content-Type": "application/json", "Accept": mcp.ACCEPT_BOTH}
        if session is not None:
            sent |= session.headers()
        return await capture(
            self.transport,
            url or self.target.url,
            method="POST",
            headers=self.target.request_headers({**sent, **dict(headers or {})}),
            body=body,
            window=window or self.window,
            until=until,
        )

    async def get(
        self,
        session: McpSession | None,
        *,
        last_event_id: str | None = None,
        headers: Mapping[str, str] | None = None,
        window: Window | None = None,
        until: Callable[[TimedEvent], bool] | None = None,
        opened: asyncio.Event | None = None,
        stop: asyncio.Event | None = None,
    ) -> Capture:
        """A GET of the endpoint: the server's own stream, or a resume after ``last_event_id``."""
        sent = {"Accept": "text/event-stream"}
        if session is not None:
            sent |= session.headers()
        if last_event_id is not None:
            sent["Last-Event-ID"] = last_event_id
        return await capture(
            self.transport,
            self.target.url,
            headers=self.target.request_headers({**sent, **dict(headers or {})}),
            window=window or self.window,
            until=until,
            opened=opened,
            stop=stop,
        )

    async def delete(self, session: McpSession) -> Capture:
        return await capture(
            self.transport,
            self.target.url,
            method="DELETE",
            headers=self.target.request_headers(session.headers()),
            window=replace(self.window, max_events=1),
        )

    async def open_session(self, version: str = mcp.NEWEST_HANDSHAKE) -> McpSession:
        """Initialize and send initialized (the handshake revisions), or discover (stateless)."""
        request_id = self.next_id()
        if version == mcp.STATELESS_REVISION:
            cap = await self.post(
                mcp.discover(request_id),
                None,
                headers=mcp.stateless_headers("server/discover"),
                until=answers(request_id),
            )
            return self._settled(cap, version, discovered=True)
        cap = await self.post(mcp.initialize(request_id, version), None, until=answers(request_id))
        session = self._settled(cap, version, discovered=False)
        if session.problem:
            return session
        ack = await self.post(mcp.initialized(), session, window=replace(self.window, max_events=1))
        return replace(session, acknowledged=ack)

    def _settled(self, cap: Capture, offered: str, *, discovered: bool) -> McpSession:
        media = cap.media_type in ("application/json", "text/event-stream")
        found = answer(cap) if cap.status == 200 and media else None
        if found is None or found.kind != "response":
            what = (
                f"answered {cap.status} {cap.reason} with {cap.content_type or 'no Content-Type'}"
                if cap.status is not None
                else f"did not answer ({cap.error or cap.end})"
            )
            if found is not None:
                what += f": {found.raw[:200]}"
            return McpSession("", None, cap, found, problem=f"the {_verb(discovered)} {what}")
        result = found.result
        if discovered:
            supported = result.get("supportedVersions")
            version = offered if isinstance(supported, list) and offered in supported else ""
        else:
            version = str(result.get("protocolVersion", ""))
        session_id = None if discovered else cap.headers.get(mcp.SESSION_HEADER)
        return McpSession(version, session_id, cap, found)

    async def call(
        self,
        session: McpSession,
        tool: str,
        *,
        request_id: int | None = None,
        window: Window | None = None,
        until: Callable[[TimedEvent], bool] | None = None,
    ) -> Call:
        """tools/call of ``tool`` with a progress token of its own; the capture ends at its
        response (or where ``until`` says: a stream dropped on purpose). ``request_id`` reuses
        an id, as another session's client may well do."""
        request_id = request_id if request_id is not None else self.next_id()
        token = f"sse-harness-progress-{next(self._tokens)}"
        body = mcp.tools_call(request_id, tool, {}, token, session.version)
        headers = mcp.stateless_headers("tools/call", tool) if session.stateless else None
        cap = await self.post(
            body, session, headers=headers, window=window, until=until or answers(request_id)
        )
        return Call(request_id, token, cap)

    async def list_tools(self, session: McpSession) -> tuple[str, ...]:
        request_id = self.next_id()
        headers = mcp.stateless_headers("tools/list") if session.stateless else None
        cap = await self.post(
            mcp.tools_list(request_id, session.version),
            session,
            headers=headers,
            until=answers(request_id),
        )
        found = answer(cap)
        tools: Any = found.result.get("tools") if found is not None else None
        if not isinstance(tools, list):
            return ()
        return tuple(str(t.get("name")) for t in tools if isinstance(t, dict))


def answers(request_id: int) -> Callable[[TimedEvent], bool]:
    """Ends a read at the response to ``request_id``."""

    def done(event: TimedEvent) -> bool:
        if not event.event.data:
            return False
        message = mcp.read_message(event.event.data)
        return message.kind in ("response", "error") and message.id == request_id

    return done


def _verb(discovered: bool) -> str:
    return "server/discover request" if discovered else "initialize request"
