"""The seeds' endpoints (``/``, ``POST /sse``, ``/sse``, ``/sse2``, ``/sse3``): exact wire format,
what a conforming client (``harness.client``) receives, bad input, and stopping on disconnect."""

from __future__ import annotations

import json
from datetime import datetime

import aiohttp
import pytest

from harness.client import EventSource
from harness.contract import STREAM_ID_HEADER
from harness.stream import encode
from reference_server.endpoints.seeds import SENTENCE
from reference_server.settings import Settings
from reference_server.typed_events import Echo, ReverseEcho

pytestmark = pytest.mark.timeout(30)


async def collect(url: str) -> list[tuple[str, str, str]]:
    """(type, data, last_event_id) of every event of one connection, via harness.client."""
    async with EventSource(url, reconnect=False, timeout=10) as source:
        return [(e.type, e.data, e.last_event_id) async for e in source]


def test_defaults_match_the_seeds() -> None:
    settings = Settings()
    assert (settings.char_interval_s, settings.echo_interval_s) == (0.1, 1.0)
    assert SENTENCE == "七夕情人節即將來臨,我們為您準備了精美的鮮花和美味的蛋糕"


async def test_root_sends_the_sentence_byte_for_byte(reference_server_url: str, fetch) -> None:
    wire = await fetch(reference_server_url + "/")
    expected = b"".join(
        encode(data=char, event="message", retry=15000, eol="\r\n") for char in SENTENCE
    )
    assert wire.status == 200
    assert wire.headers["Content-Type"] == "text/event-stream; charset=utf-8"
    assert wire.headers["Cache-Control"] == "no-store"
    assert "Connection" not in wire.headers
    assert wire.body == expected
    assert wire.rules_broken == set()


async def test_root_as_an_eventsource_sees_one_message_per_character(
    reference_server_url: str,
) -> None:
    events = await collect(reference_server_url + "/")
    assert events == [("message", char, "") for char in SENTENCE]


async def test_root_paces_characters_by_the_configured_delay(serve_reference, fetch) -> None:
    base = serve_reference(char_interval_s=0.01)
    wire = await fetch(base + "/")
    span = wire.chunks[-1][0] - wire.chunks[0][0]
    assert span >= 0.01 * (len(SENTENCE) - 1) * 0.9


async def test_root_stops_producing_when_the_client_leaves(reference_server_url, observe) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.get(reference_server_url + "/") as response,
    ):
        stream_id = response.headers[STREAM_ID_HEADER]
        await response.content.readuntil(b"\r\n\r\n")
        response.close()
    record = await observe(reference_server_url, stream_id)
    assert record["end_reason"] == "disconnected"
    assert record["stop_after_disconnect_s"] < 0.5
    assert record["blocks"] < len(SENTENCE)


async def test_post_sse_streams_the_posted_message(reference_server_url: str, fetch) -> None:
    wire = await fetch(reference_server_url + "/sse", method="POST", json={"message": "hé!"})
    assert wire.status == 200
    assert wire.body == b"".join(
        encode(data=c, event="message", retry=15000, eol="\r\n") for c in "hé!"
    )


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (None, "missing"),
        (b"{not json", "json_invalid"),
        (b"{}", "missing"),
        (b'{"message": 3}', "string_type"),
        (b'{"message": ""}', "string_too_short"),
        (json.dumps({"message": "x" * 4097}).encode(), "string_too_long"),
    ],
)
async def test_post_sse_rejects_a_bad_body_with_422_and_a_reason(
    reference_server_url: str, fetch, body: bytes | None, reason: str
) -> None:
    wire = await fetch(
        reference_server_url + "/sse",
        method="POST",
        data=body,
        headers={"Content-Type": "application/json"},
    )
    assert wire.status == 422
    assert reason in {detail["type"] for detail in json.loads(wire.body)["detail"]}


@pytest.mark.parametrize("path", ["/sse", "/sse2"])
async def test_echo_streams_ids_and_json(reference_server_url: str, path: str) -> None:
    events = await collect(f"{reference_server_url}{path}?message=hello&count=4")
    assert [(kind, last_id) for kind, _, last_id in events] == [("echo", str(n)) for n in range(4)]
    for _, data, _ in events:
        payload = json.loads(data)
        assert payload.keys() == {"message", "created_at"}
        assert payload["message"] == "hello"
        assert datetime.fromisoformat(payload["created_at"]).tzinfo is not None


async def test_echo_interval_is_configurable(reference_server_url: str, fetch) -> None:
    wire = await fetch(reference_server_url + "/sse?message=x&count=3&interval_ms=40")
    assert len(wire.events) == 3
    assert wire.chunks[-1][0] - wire.chunks[0][0] >= 0.08 * 0.9


@pytest.mark.parametrize(
    "query",
    ["", "message=", "message=x&count=0", "message=x&interval_ms=-1", "message=" + "x" * 4097],
)
async def test_echo_rejects_bad_parameters_with_422(
    reference_server_url: str, fetch, query: str
) -> None:
    for path in ("/sse", "/sse2", "/sse3"):
        wire = await fetch(f"{reference_server_url}{path}?{query}")
        assert wire.status == 422, path
        assert json.loads(wire.body)["detail"][0]["msg"]


def test_typed_event_names_derive_from_class_names() -> None:
    assert (Echo.event_name(), ReverseEcho.event_name()) == ("echo", "reverse_echo")


async def test_sse3_merges_echo_and_reverse_echo_as_they_come(reference_server_url: str) -> None:
    events = await collect(f"{reference_server_url}/sse3?message=abc&count=3")
    by_type: dict[str, list[tuple[str, str]]] = {}
    for kind, data, last_id in events:
        by_type.setdefault(kind, []).append((json.loads(data)["message"], last_id))
    assert by_type == {
        "echo": [("abc", "0"), ("abc", "1"), ("abc", "2")],
        "reverse_echo": [("cba", "0"), ("cba", "1"), ("cba", "2")],
    }
    kinds = [kind for kind, _, _ in events]
    assert kinds.index("reverse_echo") < len(kinds) - kinds[::-1].index("echo") - 1  # interleaved


async def test_head_answers_headers_without_starting_a_stream(
    reference_server_url: str, observe
) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.head(reference_server_url + "/sse?message=x") as response,
    ):
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/event-stream")
        stream_id = response.headers[STREAM_ID_HEADER]
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{reference_server_url}/_observe/streams/{stream_id}") as record,
    ):
        assert record.status == 404  # the producer never ran
