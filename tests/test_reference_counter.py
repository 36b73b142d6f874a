"""The resumable counter: deterministic ids and payloads, resume by Last-Event-ID with no gap or
duplicate (through harness.client's own reconnect), 204 past the end, and parameter checks."""

from __future__ import annotations

import json
from itertools import pairwise

import pytest

from harness.client import EventSource, SSEStatusError
from reference_server.endpoints.counter import pad, payload

pytestmark = pytest.mark.timeout(30)


async def test_ids_and_payloads_follow_the_schedule(reference_server_url: str, fetch) -> None:
    wire = await fetch(reference_server_url + "/counter?count=5&interval_ms=20&payload_bytes=9")
    assert wire.status == 200
    events = wire.events
    assert [e.last_event_id for e in events] == ["0", "1", "2", "3", "4"]
    payloads = [json.loads(e.data) for e in events]
    assert [p["seq"] for p in payloads] == [0, 1, 2, 3, 4]
    assert [p["pad"] for p in payloads] == [pad(n, 9) for n in range(5)]
    intended = [p["intended"] for p in payloads]
    assert [round(b - a, 6) for a, b in pairwise(intended)] == [0.02] * 4
    assert all(0 <= p["sent"] - p["intended"] < 0.5 for p in payloads)
    assert wire.rules_broken == set()


def test_pad_is_deterministic_and_exactly_sized() -> None:
    assert pad(10, 7) == "a.a.a.a"
    assert [len(pad(n, size)) for n in (0, 99, 12345) for size in (0, 1, 100)] == [0, 1, 100] * 3


@pytest.mark.parametrize("how", ["header", "query"])
async def test_resume_continues_after_the_named_id(
    reference_server_url: str, fetch, how: str
) -> None:
    url = reference_server_url + "/counter?count=6&interval_ms=1"
    if how == "header":
        wire = await fetch(url, headers={"Last-Event-ID": "2"})
    else:
        wire = await fetch(url + "&last_event_id=2")
    assert [json.loads(e.data)["seq"] for e in wire.events] == [3, 4, 5]


async def test_a_resuming_client_gets_every_later_id_once_then_stops_at_204(
    reference_server_url: str,
) -> None:
    # harness.client resumes after "2", reconnects when the stream ends (with Last-Event-ID: 7)
    # and stops for good at the 204 that answers it (S-13). Cuts mid-stream are covered by
    # test_reference_shutdown (a real server restart).
    url = reference_server_url + "/counter?count=8&interval_ms=2&retry_ms=1"
    seen: list[str] = []
    async with EventSource(url, timeout=10, last_event_id="2") as source:
        with pytest.raises(SSEStatusError) as stopped:
            async for event in source:
                seen.append(event.last_event_id)
    assert stopped.value.status == 204
    assert seen == [str(n) for n in range(3, 8)]
    assert [c.last_event_id for c in source.trace.connections] == ["2", "7"]


async def test_resuming_after_the_last_id_answers_204(reference_server_url: str, fetch) -> None:
    wire = await fetch(reference_server_url + "/counter?count=3", headers={"Last-Event-ID": "2"})
    assert (wire.status, wire.body) == (204, b"")


@pytest.mark.parametrize("last_id", ["x", "-1", "1.5", "٣", "9" * 19])
async def test_a_foreign_last_event_id_gets_422(
    reference_server_url: str, fetch, last_id: str
) -> None:
    wire = await fetch(
        reference_server_url + "/counter?count=3&last_event_id=" + last_id,
    )
    assert wire.status == 422
    assert "Last-Event-ID" in json.loads(wire.body)["detail"]


@pytest.mark.parametrize(
    "query", ["count=0", "interval_ms=-1", "payload_bytes=65537", "retry_ms=x", "count=1e3"]
)
async def test_bad_parameters_get_422(reference_server_url: str, fetch, query: str) -> None:
    wire = await fetch(reference_server_url + "/counter?" + query)
    assert wire.status == 422


async def test_retry_is_sent_with_the_first_event_only(reference_server_url: str, fetch) -> None:
    wire = await fetch(reference_server_url + "/counter?count=3&interval_ms=1&retry_ms=250")
    assert wire.body.count(b"retry: 250\n") == 1
    assert wire.body.startswith(b"id: 0\nretry: 250\n")


async def test_cross_origin_resume_is_allowed(reference_server_url: str, fetch) -> None:
    # S-19: a browser's preflight for Last-Event-ID, and a credentialed cross-origin stream.
    origin = {"Origin": "http://localhost:5173"}
    preflight = await fetch(
        reference_server_url + "/counter",
        method="OPTIONS",
        headers={
            **origin,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "last-event-id",
        },
    )
    assert preflight.status == 200
    assert "last-event-id" in preflight.headers["Access-Control-Allow-Headers"].lower()
    wire = await fetch(reference_server_url + "/counter?count=1&interval_ms=1", headers=origin)
    assert wire.headers["Access-Control-Allow-Origin"] == "http://localhost:5173"
    assert wire.headers["Access-Control-Allow-Credentials"] == "true"


@pytest.mark.parametrize(
    ("seq", "intended", "sent"),
    [(0, 0.0, 0.1), (7, 1796163440.95858, 1796163440.9586976), (10**15, 1e16, 1.5e-7)],
)
def test_the_templated_payload_is_what_json_dumps_writes(
    seq: int, intended: float, sent: float
) -> None:
    padding = pad(seq, 11)
    expected = {"seq": seq, "intended": intended, "sent": sent, "pad": padding}
    assert payload(seq, intended, sent, padding) == json.dumps(expected, separators=(",", ":"))
