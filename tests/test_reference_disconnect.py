"""S-23 on the reference server: 1,000 connect/abandon cycles, abandoned in three ways across the
streaming endpoints, leave no live generator and no extra task behind."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
import pytest

pytestmark = pytest.mark.timeout(60)

CYCLES, CONCURRENCY = 1000, 50
#: Producers of every shape: a schedule, a merge (tasks of its own), a wake-up wait, an idle wait.
STREAMS = [
    ("GET", "/counter?count=100000&interval_ms=5", None),
    ("GET", "/sse3?message=x&interval_ms=5", None),
    ("GET", "/broadcast/abandoned", None),
    ("GET", "/keepalive?keepalive_ms=5", None),
    ("GET", "/", None),
    ("POST", "/_script", {"steps": [{"comment": "x"}, {"delay_ms": 5000}]}),
]


async def snapshot(base: str) -> dict[str, Any]:
    async with aiohttp.ClientSession() as session, session.get(base + "/_observe/streams") as r:
        found: dict[str, Any] = await r.json()
        return found


async def abandon(session: aiohttp.ClientSession, base: str, cycle: int) -> None:
    method, path, body = STREAMS[cycle % len(STREAMS)]
    how = cycle // len(STREAMS) % 3
    if how == 0:  # send the request and hang up before any answer
        host, port = base.removeprefix("http://").split(":")
        _, writer = await asyncio.open_connection(host, int(port))
        writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
        await writer.drain()
        writer.close()
        await writer.wait_closed()
        return
    async with session.request(method, base + path, json=body) as response:
        assert response.status == 200
        if how == 2:  # after the first block
            await response.content.readuntil(b"\n\n")
        response.close()  # else right after the headers


async def test_a_thousand_abandoned_streams_leave_nothing_behind(serve_reference) -> None:
    base = serve_reference(keepalive_s=0.005, char_interval_s=0.1)  # no stream ends by itself
    connector = aiohttp.TCPConnector(limit=CONCURRENCY, force_close=True)
    async with aiohttp.ClientSession(connector=connector) as session:
        await abandon(session, base, 1)  # warm up: sse-starlette starts its shutdown watcher once
        before = await snapshot(base)
        slots = asyncio.Semaphore(CONCURRENCY)

        async def one(cycle: int) -> None:
            async with slots:
                await abandon(session, base, cycle)

        await asyncio.gather(*(one(cycle) for cycle in range(CYCLES)))

    deadline = time.monotonic() + 10
    while (after := await snapshot(base))["live"] or after["tasks"] > before["tasks"]:
        assert time.monotonic() < deadline, f"left behind: {after['live']}, tasks {after['tasks']}"
        await asyncio.sleep(0.02)

    finished = after["finished"][len(before["finished"]) :]
    assert len(finished) >= CYCLES * 2 // 3  # the hang-ups before an answer may start nothing
    assert {r["end_reason"] for r in finished} == {"disconnected"}
    stops = [r["stop_after_disconnect_s"] for r in finished if r["disconnected"] is not None]
    assert stops and max(stops) < 1.0
