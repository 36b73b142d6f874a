"""Keep-alive comments at a configurable interval (S-16) and the stream that ends with 204 on
reconnect (S-13)."""

from __future__ import annotations

import pytest

from harness.client import EventSource, SSEStatusError
from harness.sse_guard import KEEPALIVE_COMMENT
from harness.stream import encode

pytestmark = pytest.mark.timeout(30)


async def test_idle_stream_sends_keepalive_comments_at_the_interval(
    reference_server_url: str, fetch
) -> None:
    wire = await fetch(reference_server_url + "/keepalive?keepalive_ms=20&duration_ms=200")
    opened = encode(data='{"keepalive_ms": 20, "duration_ms": 200}', event="open")
    assert wire.body.startswith(opened)
    rest = wire.body[len(opened) :]
    assert rest == KEEPALIVE_COMMENT * (len(rest) // len(KEEPALIVE_COMMENT))
    assert 3 <= rest.count(KEEPALIVE_COMMENT) <= 10
    assert wire.rules_broken == set()


async def test_keepalive_interval_defaults_to_the_settings(serve_reference, fetch) -> None:
    base = serve_reference(keepalive_s=0.02)
    wire = await fetch(base + "/keepalive?duration_ms=150")
    assert wire.body.count(KEEPALIVE_COMMENT) >= 4
    base = serve_reference(keepalive_s=0)
    wire = await fetch(base + "/keepalive?duration_ms=50")
    assert KEEPALIVE_COMMENT not in wire.body


async def test_once_ends_for_good_with_204_on_reconnect(reference_server_url: str) -> None:
    seen: list[str] = []
    url = reference_server_url + "/once?count=3&interval_ms=1"
    async with EventSource(url, default_retry_ms=10) as source:
        with pytest.raises(SSEStatusError) as stopped:
            async for event in source:
                seen.append(event.data)
    assert seen == ["event 1 of 3", "event 2 of 3", "event 3 of 3"]
    assert stopped.value.status == 204
    assert len(source.trace.connections) == 2


async def test_once_answers_204_to_any_last_event_id(reference_server_url: str, fetch) -> None:
    wire = await fetch(reference_server_url + "/once", headers={"Last-Event-ID": "anything"})
    assert wire.status == 204
