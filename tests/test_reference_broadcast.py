"""Broadcast: fan-out to every subscriber, resume from the bounded replay buffer, and limits."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
import pytest

from harness.client import EventSource
from harness.stream import Event

pytestmark = pytest.mark.timeout(30)


async def wait_subscribers(base: str, channel: str, count: int) -> None:
    """Bounded poll of the observation endpoint until exactly ``count`` subscribers are live."""
    deadline = time.monotonic() + 5
    async with aiohttp.ClientSession() as session:
        while True:
            async with session.get(base + "/_observe/streams") as response:
                live = (await response.json())["live"]
            if sum(r["endpoint"] == f"/broadcast/{channel}" for r in live) == count:
                return
            assert time.monotonic() < deadline, f"{count} subscribers never showed up"
            await asyncio.sleep(0.01)


async def publish(base: str, channel: str, data: str, event: str | None = None) -> Any:
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{base}/broadcast/{channel}", json={"data": data, "event": event}) as reply,
    ):
        assert reply.status == 200, await reply.text()
        return await reply.json()


async def receive(url: str, count: int, last_event_id: str = "") -> list[Event]:
    events: list[Event] = []
    async with EventSource(url, timeout=5, last_event_id=last_event_id) as source:
        async for event in source:
            events.append(event)
            if len(events) == count:
                break
    return events


async def test_every_subscriber_gets_every_event(reference_server_url: str) -> None:
    base, channel = reference_server_url, "fanout"
    await publish(base, channel, "before anyone listens")
    subscribers = [asyncio.create_task(receive(f"{base}/broadcast/{channel}", 3)) for _ in "ab"]
    await wait_subscribers(base, channel, 2)
    replies = [await publish(base, channel, f"news {n}", event="news") for n in range(3)]
    assert [r["subscribers"] for r in replies] == [2, 2, 2]
    for events in await asyncio.gather(*subscribers):
        assert events == [Event("news", f"news {n}", str(n + 1)) for n in range(3)]


async def test_a_subscriber_resumes_from_the_replay_buffer(reference_server_url: str) -> None:
    base, channel = reference_server_url, "replay"
    for n in range(5):
        await publish(base, channel, f"m{n}")
    late = asyncio.create_task(receive(f"{base}/broadcast/{channel}", 4, last_event_id="1"))
    await wait_subscribers(base, channel, 1)
    await publish(base, channel, "m5")
    assert [(e.data, e.last_event_id) for e in await late] == [
        ("m2", "2"),
        ("m3", "3"),
        ("m4", "4"),
        ("m5", "5"),
    ]


async def test_a_subscriber_too_far_behind_is_told_of_the_gap(serve_reference) -> None:
    base = serve_reference(replay_buffer=3)
    for n in range(6):
        await publish(base, "small", f"m{n}")
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{base}/broadcast/small", headers={"Last-Event-ID": "0"}) as response,
    ):
        body = await response.content.readuntil(b"id: 5\ndata: m5\n\n")
    assert body == (
        b": replay gap: events 1..2 are gone\n\n"
        b"id: 3\ndata: m3\n\nid: 4\ndata: m4\n\nid: 5\ndata: m5\n\n"
    )


async def test_channels_are_bounded_and_idle_ones_make_room(serve_reference, fetch) -> None:
    base = serve_reference(max_channels=1)
    busy = asyncio.create_task(receive(f"{base}/broadcast/busy", 1))
    await wait_subscribers(base, "busy", 1)
    refused = await fetch(f"{base}/broadcast/other", method="POST", json={"data": "x"})
    assert refused.status == 429
    await publish(base, "busy", "done")
    await busy
    await wait_subscribers(base, "busy", 0)
    assert (await publish(base, "other", "x"))["id"] == 0  # "busy" was idle, so it made room


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/broadcast/bad%20name", {"data": "x"}),
        ("/broadcast/" + "x" * 65, {"data": "x"}),
        ("/broadcast/ok", {}),
        ("/broadcast/ok", {"data": 1}),
        ("/broadcast/ok", {"data": "x", "event": "a\nb"}),
        ("/broadcast/ok", {"data": "x" * 16_385}),
    ],
)
async def test_bad_publications_get_422(reference_server_url: str, fetch, path, body) -> None:
    wire = await fetch(reference_server_url + path, method="POST", json=body)
    assert wire.status == 422
