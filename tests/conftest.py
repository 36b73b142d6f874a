"""Shared fixtures: reference servers under real uvicorn on loopback ports, and wire readers.

``reference_server_url`` is one server for the whole session, with the fast settings below (every
interval a few milliseconds, every bound small), so that tests finish quickly and never wait on
a clock. Tests that must see a whole server's state (live streams, task count) or need other
settings start their own with ``serve_reference(**overrides)``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from multidict import CIMultiDictProxy

from harness.stream import Event, Parser, Violation
from reference_server.app import create_app
from reference_server.launch import serve_in_thread
from reference_server.settings import Settings

FAST_SETTINGS = Settings(
    char_interval_s=0.002,
    echo_interval_s=0.005,
    max_stream_s=30.0,
    shutdown_grace_s=0.5,
    slow_first_byte_s=0.3,
    leak_linger_s=1.0,
    chat_tokens=8,
    chat_tokens_per_s=2000.0,
    script_max_delay_s=5.0,
)


@pytest.fixture(scope="session")
def reference_server_url() -> Iterator[str]:
    """Base URL of a reference server (``FAST_SETTINGS``) shared by the whole session."""
    with serve_in_thread(create_app(FAST_SETTINGS)) as url:
        yield url


@pytest.fixture
async def serve_aiohttp() -> AsyncIterator[Callable[[web.Application], Awaitable[str]]]:
    """``await serve_aiohttp(app) -> base URL``: an aiohttp app on a free loopback port, in the
    test's own event loop, cleaned up after the test."""
    runners: list[web.AppRunner] = []

    async def start(app: web.Application) -> str:
        runner = web.AppRunner(app)
        await runner.setup()
        runners.append(runner)
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        host, port = runner.addresses[0][:2]
        return f"http://{host}:{port}"

    yield start
    for runner in runners:
        await runner.cleanup()


@pytest.fixture
def serve_reference() -> Iterator[Callable[..., str]]:
    """``serve_reference(**overrides) -> url``: a server of one's own, stopped after the test."""
    with ExitStack() as stack:

        def start(**overrides: Any) -> str:
            settings = dataclasses.replace(FAST_SETTINGS, **overrides)
            return stack.enter_context(serve_in_thread(create_app(settings)))

        yield start


@dataclass
class Wire:
    """One response as it arrived: status, headers, body, and when each chunk came."""

    status: int
    headers: CIMultiDictProxy[str]
    body: bytes
    #: (seconds since the request was sent, bytes) per chunk read.
    chunks: list[tuple[float, bytes]]
    headers_after_s: float
    #: The error that ended the body early, if any (e.g. an aborted connection).
    error: BaseException | None = None

    def parse(self) -> tuple[list[Event], list[Violation]]:
        """Events a conforming client dispatches, and the producer-rule breaches seen."""
        parser = Parser(validate=True)
        events = parser.feed(self.body)
        parser.close()
        return events, parser.violations

    @property
    def events(self) -> list[Event]:
        return self.parse()[0]

    @property
    def rules_broken(self) -> set[str]:
        return {v.rule for v in self.parse()[1]}


Fetch = Callable[..., Awaitable[Wire]]


async def _fetch(
    url: str,
    *,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    json: Any = None,
    data: bytes | None = None,
    decompress: bool = True,
    max_chunks: int | None = None,
    timeout_s: float = 10.0,
) -> Wire:
    """Read a response to its end (or ``max_chunks`` chunks), recording chunk arrival times."""
    timeout = aiohttp.ClientTimeout(total=timeout_s)
    async with aiohttp.ClientSession(auto_decompress=decompress, timeout=timeout) as session:
        started = time.monotonic()
        async with session.request(method, url, headers=headers, json=json, data=data) as response:
            wire = Wire(response.status, response.headers, b"", [], time.monotonic() - started)
            try:
                while max_chunks is None or len(wire.chunks) < max_chunks:
                    chunk = await response.content.readany()
                    if not chunk:
                        break
                    wire.chunks.append((time.monotonic() - started, chunk))
            except aiohttp.ClientPayloadError as error:
                wire.error = error
            wire.body = b"".join(chunk for _, chunk in wire.chunks)
            return wire


@pytest.fixture
def fetch() -> Fetch:
    """``await fetch(url, method=, headers=, json=, data=, decompress=, max_chunks=)`` -> Wire."""
    return _fetch


Observe = Callable[..., Awaitable[dict[str, Any]]]


async def _observe(
    base: str, stream_id: str | int, *, finished: bool = True, timeout_s: float = 5.0
) -> dict[str, Any]:
    """The record of a stream, polled until it has ended when ``finished`` (bounded)."""
    deadline = time.monotonic() + timeout_s
    async with aiohttp.ClientSession() as session:
        while True:
            async with session.get(f"{base}/_observe/streams/{stream_id}") as response:
                record: dict[str, Any] = await response.json() if response.status == 200 else {}
            if record and (not finished or record["ended"] is not None):
                return record
            if time.monotonic() > deadline:
                raise AssertionError(f"stream {stream_id} did not end in {timeout_s} s: {record}")
            await asyncio.sleep(0.01)


@pytest.fixture
def observe() -> Observe:
    """``await observe(base, stream_id, finished=True)`` -> the stream's observation record."""
    return _observe
