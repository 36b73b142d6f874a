"""Every fault mode breaks the rule it names, and only the fault does it: each piece of evidence
below holds for the faulty stream and fails for the clean stream from the same request."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import re
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from conftest import FAST_SETTINGS

from harness.client import EventSource, SSEContentTypeError, SSEStatusError
from harness.contract import STREAM_ID_HEADER
from harness.rules import RULES
from harness.server.probe import Window, capture_head
from harness.sse_guard import KEEPALIVE_COMMENT
from reference_server.app import create_app
from reference_server.faults import FAULTS
from reference_server.launch import serve_in_thread
from reference_server.streaming import FAULT_HEADER

pytestmark = pytest.mark.timeout(30)

COUNT, INTERVAL_MS = 6, 10
COUNTER = f"/counter?count={COUNT}&interval_ms={INTERVAL_MS}"


def ids(wire: Any) -> list[int]:
    return [int(e.last_event_id) for e in wire.events]


@dataclass(frozen=True)
class Evidence:
    check: Callable[..., None]
    path: str = COUNTER
    headers: dict[str, str] = field(default_factory=dict)
    decompress: bool = True


def _gzip_check(w: Any) -> None:
    assert w.headers.get("Content-Encoding") == "gzip"
    assert w.body[:2] == b"\x1f\x8b"
    assert zlib.decompress(w.body, wbits=31).count(b"\n\n") == COUNT


def _breaks(rule: str, events: int | None = None) -> Callable[..., None]:
    def check(w: Any) -> None:
        assert rule in w.rules_broken
        if events is not None:
            assert len(w.events) == events

    return check


def _retry(value: str) -> Callable[..., None]:
    def check(w: Any) -> None:
        assert "S-11" in w.rules_broken
        assert f"\nretry: {value}\n".encode() in w.body

    return check


EVIDENCE: dict[str, Evidence] = {
    "wrong_content_type": Evidence(
        lambda w: re.match(r"text/plain\b", w.headers["Content-Type"]) or pytest.fail()
    ),
    "charset_latin1": Evidence(
        lambda w: assert_(w.headers["Content-Type"] == "text/event-stream; charset=latin-1")
    ),
    "html_body": Evidence(
        lambda w: assert_(
            w.status == 200
            and w.headers["Content-Type"].startswith("text/html")
            and w.body.startswith(b"<!doctype html>")
        )
    ),
    "status_500": Evidence(lambda w: assert_(w.status == 500 and len(w.events) == COUNT)),
    "status_500_midstream": Evidence(
        lambda w: assert_(
            w.error is not None and len(w.events) == 2 and not w.body.endswith(b"\n\n")
        )
    ),
    "no_final_blank_line": Evidence(_breaks("S-07", events=COUNT - 1)),
    "cr_in_value": Evidence(lambda w: assert_(b"\r" in w.body and "S-08" in w.rules_broken)),
    "lf_in_value": Evidence(lambda w: assert_(b'\n{"seq"' in w.body and "S-08" in w.rules_broken)),
    "nul_in_id": Evidence(_breaks("S-10")),
    "retry_decimal": Evidence(_retry("1.5")),
    "retry_negative": Evidence(_retry("-1")),
    "retry_bool": Evidence(_retry("True")),
    "retry_unit": Evidence(_retry("5s")),
    "invalid_utf8": Evidence(_breaks("S-04")),
    "bom_midstream": Evidence(  # the BOM joins the "id" field name: every later id is lost
        lambda w: assert_("S-06" in w.rules_broken and set(ids(w)) == {0})
    ),
    "uppercase_fields": Evidence(_breaks("S-08", events=0)),
    "buffered": Evidence(
        lambda w: assert_(
            len(w.chunks) == 1 and w.chunks[0][0] >= 0.9 * (COUNT - 1) * INTERVAL_MS / 1000
        )
    ),
    "gzip": Evidence(_gzip_check, decompress=False),
    "ignore_last_event_id": Evidence(
        lambda w: assert_(ids(w) == list(range(COUNT))), headers={"Last-Event-ID": "2"}
    ),
    "duplicate_ids": Evidence(lambda w: assert_(ids(w) == [0, 1, 1, 2, 3, 4, 4, 5])),
    "skip_ids": Evidence(lambda w: assert_(ids(w) == [0, 2, 3, 5])),
    "slow_first_byte": Evidence(lambda w: assert_(w.headers_after_s >= 0.3 * 0.95)),
    "no_keepalive": Evidence(
        lambda w: assert_(KEEPALIVE_COMMENT not in w.body),
        path="/keepalive?keepalive_ms=10&duration_ms=80",
    ),
    "connection_header": Evidence(lambda w: assert_(w.headers.get("Connection") == "keep-alive")),
    "no_cache_control": Evidence(lambda w: assert_("Cache-Control" not in w.headers)),
    "no_accel_buffering": Evidence(lambda w: assert_("X-Accel-Buffering" not in w.headers)),
}
#: Faults whose evidence needs more than one response, or a HEAD; each has a test of its own.
SEPARATE = {
    "leak_generator",
    "leak_memory",
    "capacity_reset",
    "head_held",
    "cors_refuses_last_event_id",
}


def assert_(condition: object) -> None:
    assert condition


def test_every_fault_has_evidence() -> None:
    assert set(EVIDENCE) | SEPARATE == set(FAULTS)
    assert len(FAULTS) >= 20


@pytest.mark.parametrize("name", sorted(EVIDENCE))
async def test_fault_shows_its_evidence_and_clean_does_not(
    reference_server_url: str, fetch, name: str
) -> None:
    evidence = EVIDENCE[name]
    url = reference_server_url + evidence.path
    options = {"headers": evidence.headers, "decompress": evidence.decompress}
    faulty = await fetch(f"{url}&fault={name}", **options)
    evidence.check(faulty)
    clean = await fetch(url, **options)
    assert clean.status == 200 and clean.error is None
    with pytest.raises((AssertionError, pytest.fail.Exception)):
        evidence.check(clean)


async def test_leak_generator_keeps_producing_after_the_client_leaves(
    reference_server_url: str, observe
) -> None:
    base = reference_server_url
    stops: dict[str, float] = {}
    for fault in ("", "leak_generator"):
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"{base}/counter?count=10000&interval_ms=2&fault={fault}") as response,
        ):
            stream_id = response.headers[STREAM_ID_HEADER]
            await response.content.readuntil(b"\n\n")
            response.close()
        record = await observe(base, stream_id)
        assert record["end_reason"] == "disconnected"
        stops[fault] = record["stop_after_disconnect_s"]
        if fault:
            assert record["blocks"] > 100  # 1 s of 2 ms ticks after one read
    assert stops[""] < 0.5
    assert stops["leak_generator"] >= 1.0 * 0.9  # FAST_SETTINGS.leak_linger_s


async def test_leak_memory_keeps_memory_for_each_finished_stream_and_clean_keeps_none() -> None:
    """Each stream with the fault, ended by the server or left by its client, leaves
    ``leak_kib_per_stream`` KiB behind; a clean stream leaves nothing (the soak run that catches
    it: tests/test_load_soak.py)."""
    app = create_app(dataclasses.replace(FAST_SETTINGS, leak_kib_per_stream=4))
    runtime = app.state.runtime
    with serve_in_thread(app) as base:
        async with aiohttp.ClientSession() as session:
            for fault in ("", "leak_memory"):
                async with session.get(f"{base}/counter?count=2&interval_ms=1&fault={fault}") as r:
                    await r.read()  # the server ends it
                endless = f"{base}/counter?count=999&interval_ms=5&fault={fault}"
                async with session.get(endless) as r:
                    await r.content.readuntil(b"\n\n")  # the client leaves
                    r.close()
                if not fault:
                    assert runtime.retained == []
        for _ in range(200):  # the server notices the second client left on its next write
            if len(runtime.retained) == 2:
                break
            await asyncio.sleep(0.05)
    assert [len(kept) for kept in runtime.retained] == [4096, 4096]


async def test_capacity_reset_drops_streams_beyond_its_limit_without_a_word(
    reference_server_url: str,
) -> None:
    limit = FAULTS["capacity_reset"].capacity
    assert limit is not None
    url = f"{reference_server_url}/counter?count=10000&interval_ms=50"
    answers: dict[str, list[object]] = {}
    async with aiohttp.ClientSession() as session:
        for fault in ("", "capacity_reset"):

            async def one(fault: str = fault) -> aiohttp.ClientResponse | str:
                try:
                    return await session.get(f"{url}&fault={fault}")
                except aiohttp.ServerDisconnectedError as exc:
                    return type(exc).__name__

            got = await asyncio.gather(*(one() for _ in range(limit + 2)))
            answers[fault] = [getattr(a, "status", a) for a in got]
            for answer in got:
                if isinstance(answer, aiohttp.ClientResponse):
                    answer.close()
    assert answers[""] == [200] * (limit + 2)
    assert (
        sorted(answers["capacity_reset"], key=str)
        == [200] * limit + ["ServerDisconnectedError"] * 2
    )


async def test_head_held_answers_head_only_when_the_stream_ends(reference_server_url: str) -> None:
    url = f"{reference_server_url}/counter?count=10000&interval_ms=50"
    window = Window(header_timeout=2.0)
    clean = await capture_head(url, window=window)
    held = await capture_head(url + "&fault=head_held", window=window)
    assert (clean.status, clean.raw) == (200, b"")
    assert (held.status, held.end) == (None, "timeout")
    short = await capture_head(
        f"{reference_server_url}/counter?count=4&interval_ms=100&fault=head_held", window=window
    )
    assert short.status == 200 and short.t_headers is not None and short.t_headers >= 0.25


def test_catalogue_names_real_rules_with_their_levels() -> None:
    for fault in FAULTS.values():
        assert fault.rule in RULES, fault.name
        assert fault.level == RULES[fault.rule].level
        assert fault.layers, fault.name
        assert re.fullmatch(r"[a-z0-9_]+", fault.name)


async def test_get_faults_lists_every_fault(reference_server_url: str, fetch) -> None:
    wire = await fetch(reference_server_url + "/faults")
    listed = json.loads(wire.body)
    assert [f["name"] for f in listed] == list(FAULTS)
    assert {f["rule"] for f in listed} >= {"S-01", "S-02", "S-04", "S-07", "S-11", "S-18", "S-23"}
    assert all(f.keys() == {"name", "rule", "level", "layers", "description"} for f in listed)


async def test_an_unknown_fault_gets_422_listing_the_valid_names(
    reference_server_url: str, fetch
) -> None:
    by_query = await fetch(reference_server_url + "/counter?fault=nope")
    by_header = await fetch(reference_server_url + "/counter", headers={FAULT_HEADER: "nope"})
    for wire in (by_query, by_header):
        assert wire.status == 422
        detail = json.loads(wire.body)["detail"]
        assert detail["valid"] == list(FAULTS) and "nope" in detail["msg"]


STREAMS = [
    ("GET", "/", None),
    ("POST", "/sse", {"message": "hi"}),
    ("GET", "/sse?message=hi&count=2&interval_ms=1", None),
    ("GET", "/sse2?message=hi&count=2&interval_ms=1", None),
    ("GET", "/sse3?message=hi&count=2&interval_ms=1", None),
    ("GET", "/counter?count=2&interval_ms=1", None),
    ("GET", "/once?count=2&interval_ms=1", None),
    ("GET", "/keepalive?duration_ms=1", None),
    (
        "POST",
        "/v1/chat/completions",
        {"messages": [{"role": "user", "content": "x"}], "stream": True},
    ),
]


@pytest.mark.parametrize(("method", "path", "body"), STREAMS)
async def test_faults_are_selectable_on_every_stream_by_query_or_header(
    reference_server_url: str, fetch, method: str, path: str, body: object
) -> None:
    url = reference_server_url + path
    joiner = "&" if "?" in path else "?"
    by_query = await fetch(f"{url}{joiner}fault=uppercase_fields", method=method, json=body)
    assert by_query.events == [] and "S-08" in by_query.rules_broken
    by_header = await fetch(url, method=method, json=body, headers={FAULT_HEADER: "status_500"})
    assert by_header.status == 500
    wrong = {FAULT_HEADER: "wrong_content_type"}
    async with EventSource(
        url, method=method, body=body, headers=wrong, reconnect=False, timeout=5
    ) as source:
        with pytest.raises(SSEContentTypeError):
            async for _ in source:
                pass


async def test_broadcast_subscriptions_take_faults_too(reference_server_url: str, fetch) -> None:
    wire = await fetch(reference_server_url + "/broadcast/faulty?fault=html_body", max_chunks=0)
    assert wire.headers["Content-Type"].startswith("text/html")
    async with EventSource(
        reference_server_url + "/broadcast/faulty",
        headers={FAULT_HEADER: "status_500"},
        reconnect=False,
        timeout=5,
    ) as source:
        with pytest.raises(SSEStatusError):
            async for _ in source:
                pass


async def test_cors_refuses_last_event_id_in_the_preflight_only(reference_server_url: str) -> None:
    """The preflight of a faulty stream leaves Last-Event-ID out (S-19); the clean one allows it,
    and the fault changes nothing else of the stream."""
    preflight = {
        "Origin": "http://localhost:5173",
        "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "last-event-id",
    }
    url = f"{reference_server_url}/counter?count=2&interval_ms=10"
    allowed: dict[str, set[str]] = {}
    async with aiohttp.ClientSession() as session:
        for fault in ("", "cors_refuses_last_event_id"):
            async with session.options(f"{url}&fault={fault}", headers=preflight) as answer:
                listed = answer.headers.get("Access-Control-Allow-Headers", "")
                allowed[fault] = {h.strip().lower() for h in listed.split(",")}
        headers = {"X-SSE-Fault": "cors_refuses_last_event_id", **preflight}
        async with session.options(url, headers=headers) as answer:
            by_header = answer.headers.get("Access-Control-Allow-Headers", "").lower()
        async with session.get(f"{url}&fault=cors_refuses_last_event_id") as stream:
            body = await stream.read()
    assert "last-event-id" in allowed[""]
    assert "last-event-id" not in allowed["cors_refuses_last_event_id"]
    assert "last-event-id" not in by_header
    assert stream.status == 200 and body.count(b"\n\n") >= 2
