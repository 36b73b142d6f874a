"""The reference server's MCP endpoints on the wire: the clean ``/mcp`` (built on the official
``mcp`` SDK) keeps the MCP rules, each ``/mcp?fault=NAME`` breaks the one it names, and the legacy
HTTP+SSE transport opens with its ``endpoint`` event.

Raw HTTP (aiohttp) against the session's reference server, so what is asserted is the bytes a
client gets. Every read is bounded (``READ_S``); nothing waits on a clock to synchronise: where
one call must be over before another is read, the test waits for a later call of the same length.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest

from harness.rules import RULES
from reference_server.mcp import MCP_FAULTS

READ_S = 5.0
VERSION = "2025-11-25"
ACCEPT_BOTH = "application/json, text/event-stream"
CLIENT_INFO = {"name": "t", "version": "0"}
_END = b"\r\n\r\n"  # sse-starlette, under the SDK's transport, ends each event with CRLF CRLF


@dataclass(frozen=True)
class Block:
    """One SSE block as sent: its fields by name (several data lines kept apart)."""

    fields: dict[str, list[str]]

    @classmethod
    def parse(cls, raw: bytes) -> Block:
        fields: dict[str, list[str]] = {}
        for line in raw.decode().split("\r\n"):
            name, _, value = line.partition(":")
            fields.setdefault(name, []).append(value.removeprefix(" "))
        return cls(fields)

    def first(self, name: str) -> str | None:
        return self.fields.get(name, [None])[0]

    @property
    def id(self) -> str | None:
        return self.first("id")

    @property
    def data(self) -> str | None:
        return "\n".join(self.fields["data"]) if "data" in self.fields else None

    @property
    def is_priming(self) -> bool:
        return self.id is not None and self.data == ""

    @property
    def message(self) -> dict[str, Any] | None:
        return json.loads(self.data) if self.data else None


def messages(blocks: list[Block]) -> list[dict[str, Any]]:
    return [m for b in blocks if (m := b.message) is not None]


def progress(blocks: list[Block], token: str | None = None) -> list[float]:
    return [
        m["params"]["progress"]
        for m in messages(blocks)
        if m.get("method") == "notifications/progress"
        and token in (None, m["params"]["progressToken"])
    ]


def responds_to(request_id: int) -> Callable[[Block], bool]:
    return lambda block: (
        (block.message or {}).get("id") == request_id and ("result" in (block.message or {}))
    )


class Reader:
    """The blocks of one response, read as they arrive, each read bounded by ``READ_S``."""

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self.response = response
        self._buffer = b""

    async def block(self) -> Block | None:
        """The next block, or None when the stream has ended."""
        while (end := self._buffer.find(_END)) < 0:
            async with asyncio.timeout(READ_S):
                chunk = await self.response.content.readany()
            if not chunk:
                assert not self._buffer.strip(), f"stream ended inside a block: {self._buffer!r}"
                return None
            self._buffer += chunk
        raw, self._buffer = self._buffer[:end], self._buffer[end + len(_END) :]
        return Block.parse(raw)

    async def until(self, done: Callable[[Block], bool]) -> list[Block]:
        """Blocks up to and including the first that is ``done``; the stream must not end first."""
        blocks: list[Block] = []
        while (block := await self.block()) is not None:
            blocks.append(block)
            if done(block):
                return blocks
        raise AssertionError(f"the stream ended first: {blocks}")

    async def rest(self) -> list[Block]:
        blocks = []
        while (block := await self.block()) is not None:
            blocks.append(block)
        return blocks


INITIALIZED = {"jsonrpc": "2.0", "method": "notifications/initialized"}
TOOLS_LIST = {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}


def call(request_id: int, tool: str, token: str | None = None) -> dict[str, Any]:
    params: dict[str, Any] = {"name": tool, "arguments": {}}
    if token is not None:
        params["_meta"] = {"progressToken": token}
    return {"jsonrpc": "2.0", "id": request_id, "method": "tools/call", "params": params}


class Mcp:
    """One MCP session over raw HTTP (initialize, then every request with its session id)."""

    def __init__(self, http: aiohttp.ClientSession, url: str) -> None:
        self.http = http
        self.url = url
        self.session_id = ""

    def headers(self, **extra: str) -> dict[str, str]:
        headers = {"Accept": ACCEPT_BOTH, "Content-Type": "application/json", **extra}
        if self.session_id:
            headers |= {"Mcp-Session-Id": self.session_id, "MCP-Protocol-Version": VERSION}
        return headers

    async def open(self) -> list[Block]:
        """Initialize (the blocks of its answer) and send ``notifications/initialized``."""
        blocks = await self.initialize()
        async with self.http.post(self.url, json=INITIALIZED, headers=self.headers()) as response:
            assert response.status == 202
        return blocks

    async def initialize(self) -> list[Block]:
        """The initialize request alone: the blocks of its answer."""
        init = {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {"protocolVersion": VERSION, "capabilities": {}, "clientInfo": CLIENT_INFO},
        }
        async with self.post(init) as reader:
            self.session_id = reader.response.headers["Mcp-Session-Id"]
            return await reader.rest()

    async def status(
        self,
        method: str,
        message: dict[str, Any] | None = None,
        headers: dict[str, str | None] | None = None,
    ) -> int:
        """The status one request of the session gets: ``headers`` over the session's (None
        leaves one out)."""
        sent = {k: v for k, v in {**self.headers(), **(headers or {})}.items() if v is not None}
        async with self.http.request(method, self.url, json=message, headers=sent) as response:
            return response.status

    @asynccontextmanager
    async def post(self, message: dict[str, Any]) -> AsyncIterator[Reader]:
        async with self.http.post(self.url, json=message, headers=self.headers()) as response:
            assert response.status == 200, await response.text()
            yield Reader(response)

    @asynccontextmanager
    async def get(self, last_event_id: str | None = None) -> AsyncIterator[Reader]:
        headers = self.headers(Accept="text/event-stream")
        if last_event_id is not None:
            headers["Last-Event-ID"] = last_event_id
        async with self.http.get(self.url, headers=headers) as response:
            assert response.status == 200, await response.text()
            yield Reader(response)
            response.close()

    async def call(self, request_id: int, tool: str, token: str | None = None) -> list[Block]:
        async with self.post(call(request_id, tool, token)) as reader:
            return await reader.rest()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=3 * READ_S)) as session:
        yield session


@pytest.fixture
def mcp(http: aiohttp.ClientSession, reference_server_url: str) -> Callable[..., Mcp]:
    """``mcp(fault=None)``: a session of ``/mcp`` (or ``/mcp?fault=...``), not yet opened."""

    def make(fault: str | None = None) -> Mcp:
        query = f"?fault={fault}" if fault else ""
        return Mcp(http, f"{reference_server_url}/mcp{query}")

    return make


async def opened(mcp: Callable[..., Mcp], fault: str | None = None) -> Mcp:
    session = mcp(fault)
    await session.open()
    return session


# -- the clean /mcp ------------------------------------------------------------------------------


async def test_a_call_is_primed_then_progress_then_result(mcp: Callable[..., Mcp]) -> None:
    session = mcp()
    init = await session.open()
    assert all("\x21" <= c <= "\x7e" for c in session.session_id)
    assert init[0].is_priming and init[0].first("retry") == "100"

    async with session.post(call(2, "test_tool_with_progress", token="p")) as reader:
        # The SDK sets Connection: keep-alive, which HTTP/2 forbids (S-22); the server drops it.
        assert "Connection" not in reader.response.headers
        blocks = await reader.rest()

    assert blocks[0].is_priming and blocks[0].first("retry") == "100"
    assert progress(blocks[1:4], "p") == [0, 50, 100]
    assert {m["params"]["total"] for m in messages(blocks[1:4])} == {100}
    assert responds_to(2)(blocks[4]) and len(blocks) == 5
    ids = [b.id for b in init + blocks]
    assert None not in ids and len(set(ids)) == len(ids)  # unique across the session's streams


async def test_a_dropped_call_resumes_with_only_its_own_remaining_messages(
    mcp: Callable[..., Mcp],
) -> None:
    # Two sessions, the same request id 2: the SDK stores both under stream "2"; the clean
    # server keeps a store per session, so neither resume sees the other's messages.
    mine, other = await opened(mcp), await opened(mcp)
    async with mine.post(call(2, "test_tool_with_progress", token="mine")) as reader:
        seen = await reader.until(lambda b: bool(progress([b])))
        reader.response.close()  # drop, after the first progress
    # The other call starts later and lasts as long: when it is over, mine is.
    assert progress(await other.call(2, "test_tool_with_progress", token="other")) == [0, 50, 100]

    async with mine.get(last_event_id=seen[-1].id) as resumed:
        replayed = await resumed.until(responds_to(2))

    assert progress(seen) == [0]
    assert progress(replayed, "mine") == [50, 100] and progress(replayed) == [50, 100]
    assert [m.get("id") for m in messages(replayed)] == [None, None, 2]
    assert "other" not in json.dumps(messages(replayed))


async def test_reconnection_closes_the_stream_and_delivers_the_result_on_resume(
    mcp: Callable[..., Mcp],
) -> None:
    session = await opened(mcp)
    blocks = await session.call(2, "test_reconnection")
    assert blocks[0].is_priming and blocks[0].first("retry") == "100"
    assert not any(responds_to(2)(b) for b in blocks)  # closed before the result

    async with session.get(last_event_id=blocks[-1].id) as resumed:
        result = (await resumed.until(responds_to(2)))[-1].message

    assert result is not None and "Reconnection" in result["result"]["content"][0]["text"]


async def test_a_foreign_origin_is_refused_with_403(
    http: aiohttp.ClientSession, reference_server_url: str
) -> None:
    body = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
    headers = {"Accept": ACCEPT_BOTH, "Origin": "http://evil.example"}
    async with http.post(f"{reference_server_url}/mcp", json=body, headers=headers) as response:
        assert response.status == 403


LEGACY_INIT = {"protocolVersion": "2024-11-05", "capabilities": {}, "clientInfo": CLIENT_INFO}


async def test_the_legacy_transport_opens_with_its_endpoint_event(
    http: aiohttp.ClientSession, reference_server_url: str
) -> None:
    headers = {"Accept": "text/event-stream"}
    async with http.get(f"{reference_server_url}/mcp-legacy/sse", headers=headers) as stream:
        reader = Reader(stream)
        endpoint = await reader.block()
        assert endpoint is not None and endpoint.first("event") == "endpoint"
        assert endpoint.data is not None and endpoint.data.startswith("/mcp-legacy/messages/?")
        url = reference_server_url + endpoint.data
        for message in (
            {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": LEGACY_INIT},
            {"jsonrpc": "2.0", "method": "notifications/initialized"},
            {"jsonrpc": "2.0", "id": 2, "method": "tools/list"},
        ):
            async with http.post(url, json=message) as accepted:
                assert accepted.status == 202
        answer = (await reader.until(responds_to(2)))[-1]
        stream.close()

    assert answer.first("event") == "message" and answer.message is not None
    assert {t["name"] for t in answer.message["result"]["tools"]} >= {
        "test_simple_text",
        "test_tool_with_progress",
        "test_reconnection",
    }


async def test_the_catalogue_lists_every_mcp_fault(
    http: aiohttp.ClientSession, reference_server_url: str
) -> None:
    async with http.get(f"{reference_server_url}/faults/mcp") as response:
        listed = await response.json()
    assert [f["name"] for f in listed] == list(MCP_FAULTS)
    assert all(f["rule"] in RULES and f["rule"].startswith("M-") for f in listed)
    assert all(len(f["layers"]) == 1 for f in listed)
    assert [f["name"] for f in listed if f["transport"] == "legacy"] == ["legacy_no_endpoint"]


# -- each fault, on the wire -----------------------------------------------------------------------


async def test_ids_per_stream_repeats_ids_across_a_sessions_streams(
    mcp: Callable[..., Mcp],
) -> None:
    session = await opened(mcp, "ids_per_stream")
    first = await session.call(2, "test_simple_text")
    second = await session.call(3, "test_simple_text")
    assert {b.id for b in first} & {b.id for b in second}


async def test_replay_all_streams_replays_another_requests_messages(
    mcp: Callable[..., Mcp],
) -> None:
    session = await opened(mcp, "replay_all_streams")
    async with session.post(call(2, "test_tool_with_progress", token="dropped")) as reader:
        seen = await reader.until(lambda b: bool(progress([b])))
        reader.response.close()
    await session.call(3, "test_tool_with_progress", token="other")

    async with session.get(last_event_id=seen[-1].id) as resumed:
        replayed = await resumed.until(responds_to(3))

    assert progress(replayed, "other")  # request 3's stream, replayed on request 2's resume


async def test_replay_across_sessions_replays_another_sessions_messages(
    mcp: Callable[..., Mcp],
) -> None:
    for fault in (None, "replay_across_sessions"):
        victim, intruder = await opened(mcp, fault), await opened(mcp, fault)
        blocks = await victim.call(2, "test_tool_with_progress", token="victim")
        async with intruder.get(last_event_id=blocks[0].id) as resumed:
            if fault is None:
                assert not messages(await resumed.rest())  # an id of no stream of this session
            else:
                assert progress(await resumed.until(responds_to(2)), "victim") == [0, 50, 100]


async def test_broadcast_progress_sends_each_progress_on_two_streams(
    mcp: Callable[..., Mcp],
) -> None:
    session = await opened(mcp, "broadcast_progress")
    async with session.get() as standalone:
        on_post = await session.call(2, "test_tool_with_progress", token="b")
        on_get = await standalone.until(lambda b: bool(progress([b])))
    assert progress(on_post, "b") == [0, 50, 100]
    assert on_get[-1].data in {b.data for b in on_post}  # the same message, byte for byte


async def test_no_priming_opens_streams_without_a_priming_event(mcp: Callable[..., Mcp]) -> None:
    session = mcp("no_priming")
    blocks = await session.open() + await session.call(2, "test_simple_text")
    assert not any(b.is_priming for b in blocks)
    assert [b.fields for b in blocks if "retry" in b.fields] == [{"retry": ["100"]}] * 2


async def test_close_without_retry_closes_mid_call_without_a_retry_field(
    mcp: Callable[..., Mcp],
) -> None:
    session = await opened(mcp, "close_without_retry")
    blocks = await session.call(2, "test_reconnection")
    assert blocks[0].is_priming and not any(responds_to(2)(b) for b in blocks)
    assert not any("retry" in b.fields for b in blocks)
    # Resumable all the same (and the call is over before the server stops: the SDK gives a
    # call still running at shutdown a second).
    async with session.get(last_event_id=blocks[0].id) as resumed:
        assert not any("retry" in b.fields for b in await resumed.until(responds_to(2)))


async def test_response_on_get_sends_a_response_on_a_fresh_get_stream(
    mcp: Callable[..., Mcp],
) -> None:
    session = await opened(mcp, "response_on_get")
    async with session.get() as standalone:
        first = await standalone.block()
    assert first is not None and first.message is not None
    assert "result" in first.message and "id" in first.message


async def test_session_id_space_issues_an_id_with_a_space_and_takes_it_back(
    mcp: Callable[..., Mcp],
) -> None:
    session = await opened(mcp, "session_id_space")
    assert " " in session.session_id
    async with session.post({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}) as reader:
        assert responds_to(2)((await reader.rest())[-1])


async def test_post_text_plain_labels_post_answers_text_plain(mcp: Callable[..., Mcp]) -> None:
    session = mcp("post_text_plain")
    assert responds_to(1)((await session.initialize())[-1])  # the body is the SDK's stream
    async with session.post(TOOLS_LIST) as reader:
        assert reader.response.headers["Content-Type"] == "text/plain; charset=utf-8"
        assert responds_to(2)((await reader.rest())[-1])


async def test_notification_body_answers_a_notification_200_with_json(
    mcp: Callable[..., Mcp],
) -> None:
    session = mcp("notification_body")
    await session.initialize()
    async with session.http.post(session.url, json=INITIALIZED, headers=session.headers()) as ack:
        assert ack.status == 200 and await ack.json() == {"accepted": True}


async def test_get_404_refuses_a_fresh_get_but_serves_a_resume(mcp: Callable[..., Mcp]) -> None:
    session = await opened(mcp, "get_404")
    assert await session.status("GET", headers={"Accept": "text/event-stream"}) == 404
    blocks = await session.call(2, "test_simple_text")
    async with session.get(last_event_id=blocks[0].id) as resumed:
        assert resumed.response.status == 200


async def test_split_message_cuts_a_sessions_first_progress_over_two_events(
    mcp: Callable[..., Mcp],
) -> None:
    session = mcp("split_message")
    assert all(b.is_priming or b.message for b in await session.open())  # whole
    first = await session.call(2, "test_tool_with_progress", token="s")
    head, tail = first[1:3]
    assert head.id is None and tail.id is not None and head.data and tail.data
    whole = json.loads(head.data + tail.data)
    assert whole["method"] == "notifications/progress" and whole["params"]["progress"] == 0
    assert progress(first[3:], "s") == [50, 100] and responds_to(2)(first[-1])
    # Once per session: the next call's progress comes whole.
    assert progress(await session.call(3, "test_tool_with_progress", token="t")) == [0, 50, 100]


async def test_resume_skips_one_leaves_out_the_first_message_after_the_id(
    mcp: Callable[..., Mcp],
) -> None:
    session = await opened(mcp, "resume_skips_one")
    async with session.post(call(2, "test_tool_with_progress", token="r")) as reader:
        seen = await reader.until(lambda b: bool(progress([b])))
        reader.response.close()
    # A later call as long: when it is over, the dropped one is.
    await session.call(3, "test_tool_with_progress", token="later")

    async with session.get(last_event_id=seen[-1].id) as resumed:
        replayed = await resumed.until(responds_to(2))

    assert progress(seen) == [0] and progress(replayed) == [100]  # 50 left out


async def test_session_optional_serves_a_request_without_a_session_id(
    mcp: Callable[..., Mcp],
) -> None:
    for fault, status in ((None, 400), ("session_optional", 200)):
        session = await opened(mcp, fault)
        assert await session.status("POST", TOOLS_LIST, {"Mcp-Session-Id": None}) == status


async def test_delete_ignored_answers_delete_and_keeps_the_session(
    mcp: Callable[..., Mcp],
) -> None:
    session = await opened(mcp, "delete_ignored")
    assert await session.status("DELETE") == 200
    assert await session.status("POST", TOOLS_LIST) == 200


async def test_version_unchecked_serves_an_unknown_protocol_version(
    mcp: Callable[..., Mcp],
) -> None:
    for fault, status in ((None, 400), ("version_unchecked", 200)):
        session = await opened(mcp, fault)
        bogus = {"MCP-Protocol-Version": "1999-01-01"}
        assert await session.status("POST", TOOLS_LIST, bogus) == status


async def test_origin_unchecked_serves_a_foreign_origin(mcp: Callable[..., Mcp]) -> None:
    session = await opened(mcp, "origin_unchecked")
    assert await session.status("POST", TOOLS_LIST, {"Origin": "http://evil.example"}) == 200


async def test_legacy_no_endpoint_names_the_first_event_hello(
    http: aiohttp.ClientSession, reference_server_url: str
) -> None:
    url = f"{reference_server_url}/mcp-legacy/sse?fault=legacy_no_endpoint"
    async with http.get(url, headers={"Accept": "text/event-stream"}) as stream:
        first = await Reader(stream).block()
        stream.close()
    assert first is not None and first.first("event") == "hello"
    assert first.data is not None and first.data.startswith("/mcp-legacy/messages/?")
    async with http.get(f"{reference_server_url}/mcp?fault=legacy_no_endpoint") as elsewhere:
        assert elsewhere.status == 422  # a legacy fault only


async def test_stateless_get_stream_opens_a_stream_on_a_stateless_get(
    http: aiohttp.ClientSession, reference_server_url: str
) -> None:
    headers = {"Accept": "text/event-stream", "MCP-Protocol-Version": "2026-07-28"}
    for query, status in (("", 405), ("?fault=stateless_get_stream", 200)):
        async with http.get(f"{reference_server_url}/mcp{query}", headers=headers) as response:
            assert response.status == status
            if status == 200:
                assert response.content_type == "text/event-stream"
                assert (await response.read()).startswith(b":")
