"""Targets built to break one check each, for cases no reference-server fault reaches, and
hostile streams that must yield a graded outcome in bounded time and memory."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable

import pytest
from aiohttp import web

from harness.server.probe import Window
from harness.server.runner import run_cases
from harness.server.target import Target

SSE = {"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}


async def stream(request: web.Request, *chunks: bytes, pace: float = 0.0) -> web.StreamResponse:
    response = web.StreamResponse(headers=SSE)
    await response.prepare(request)
    for chunk in chunks:
        await response.write(chunk)
        if pace:
            await asyncio.sleep(pace)  # the producer's pace, not synchronisation
    return response


async def endless(request: web.Request) -> web.StreamResponse:
    block = b"x" * 65536
    return await stream(request, b"data: ", *([block] * 48))  # 3 MiB, never a line end


async def trickle(request: web.Request) -> web.StreamResponse:
    return await stream(request, *(bytes([b]) for b in b"data: slow\n\n" * 10), pace=1.0)


async def huge_retry(request: web.Request) -> web.StreamResponse:
    return await stream(request, b"retry: " + b"7" * 1_000_000 + b"\n\ndata: after\n\n")


async def no_blank_lines(request: web.Request) -> web.StreamResponse:
    return await stream(request, b"data: a\ndata: b\ndata: c\n")


async def cors_without_last_event_id(request: web.Request) -> web.StreamResponse:
    headers = {"Access-Control-Allow-Origin": "http://elsewhere.test"}
    if request.method == "OPTIONS":
        headers["Access-Control-Allow-Headers"] = "content-type"
        return web.Response(status=204, headers=headers)
    response = web.StreamResponse(headers={**SSE, **headers})
    await response.prepare(request)
    await response.write(b"data: x\n\n")
    return response


async def fragile(request: web.Request) -> web.StreamResponse:
    """500 on HEAD and on an unknown Last-Event-ID."""
    if request.method == "HEAD" or request.headers.get("Last-Event-ID", "").startswith("no-such"):
        return web.Response(status=500, text="Internal Server Error")
    return await stream(request, b"id: 1\ndata: x\n\n")


async def held_head(request: web.Request) -> web.StreamResponse:
    """Node's way with a HEAD routed to the GET handler: the stream runs, its body is dropped,
    and the headers go out when it ends (here a 1 s stream; ``?endless`` never ends)."""
    events = 1000 if "endless" in request.query else 10
    if request.method == "HEAD":
        for _ in range(events):  # the stream runs without a body, until it ends or its client goes
            if request.transport is None or request.transport.is_closing():
                break
            await asyncio.sleep(0.1)  # the producer's pace, not synchronisation
        return web.Response(headers=SSE)
    return await stream(request, *(b"data: x\n\n" for _ in range(events)), pace=0.1)


async def stray_after_head(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """A raw server that answers HEAD with 200 and then the chunked terminator it should not
    send (``0\r\n\r\n``), and streams to GET."""
    request = await reader.readuntil(b"\r\n\r\n")
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n")
    writer.write(b"Transfer-Encoding: chunked\r\n\r\n")
    if request.startswith(b"HEAD"):
        writer.write(b"0\r\n\r\n")
    else:
        writer.write(b"9\r\ndata: x\n\n\r\n0\r\n\r\n")
    await writer.drain()
    writer.close()


def limited(answer_over_limit: int | None, limit: int = 10):  # type: ignore[no-untyped-def]
    """A stream endpoint that holds ``limit`` streams; beyond that it answers the given status,
    or, with None, drops the connection without a word."""
    open_streams: set[web.StreamResponse] = set()
    done = asyncio.Event()

    async def handler(request: web.Request) -> web.StreamResponse:
        if len(open_streams) >= limit:
            if answer_over_limit is None:
                assert request.transport is not None
                request.transport.close()
                return web.Response()
            return web.Response(status=answer_over_limit, text="over capacity")
        response = web.StreamResponse(headers=SSE)
        open_streams.add(response)
        try:
            await response.prepare(request)
            await response.write(b"data: x\n\n")
            await asyncio.wait_for(done.wait(), 5)  # held open, as a real stream
        except (TimeoutError, ConnectionError):
            pass
        finally:
            open_streams.discard(response)
        return response

    return handler


async def lossy_contract(request: web.Request) -> web.StreamResponse:
    """A scripting contract over a careless stack: it writes each event as one ``data:`` line
    (no splitting of multi-line data), eats leading spaces, drops id, event and retry fields,
    encodes Latin-1, and holds every event until the script ends."""
    if request.path.endswith("/_contract"):
        return web.json_response({"contract": "sse-harness/1"})
    script = json.loads(await request.read())
    eol = script.get("eol", "\n").encode()
    body = b""
    for step in script["steps"]:
        if "delay_ms" in step:
            await asyncio.sleep(step["delay_ms"] / 1000)  # the script's own schedule
        data = step.get("event", {}).get("data")
        if data is not None:
            body += b"data:" + data.lstrip(" ").encode("latin-1", "replace") + eol + eol
    return await stream(request, body)


@pytest.fixture
async def base(serve_aiohttp: Callable[[web.Application], Awaitable[str]]) -> str:
    app = web.Application()
    for path, handler in {
        "/endless": endless,
        "/trickle": trickle,
        "/huge-retry": huge_retry,
        "/no-blank-lines": no_blank_lines,
        "/cors": cors_without_last_event_id,
        "/fragile": fragile,
        "/limited-reset": limited(None),
        "/limited-503": limited(503),
        "/held-head": held_head,
    }.items():
        app.router.add_route("*", path, handler)
    app.router.add_route("*", "/lossy/{tail:.*}", lossy_contract)
    return await serve_aiohttp(app)


async def outcomes(url: str, pattern: str, **target: object) -> dict[str, str]:
    run = await run_cases(
        Target(url, contract="", **target),  # type: ignore[arg-type]
        pattern=pattern,
        window=Window(max_events=20, max_seconds=3.0),
    )
    return {r.case.id: r.outcome.value for r in run.results}


async def test_endless_line_is_bounded_and_graded(base: str) -> None:
    start = time.monotonic()
    found = await outcomes(base + "/endless", "server.framing.*")
    assert time.monotonic() - start < 10
    assert found["server.framing.11"] == "NON-STRICT"
    assert found["server.framing.10"] == "FAILED"  # a data field that never ends (S-07)


async def test_trickle_at_one_byte_per_second_ends_with_the_window(base: str) -> None:
    start = time.monotonic()
    found = await outcomes(base + "/trickle", "server.framing.7,server.timing.*")
    assert time.monotonic() - start < 8
    assert found["server.framing.7"] == "INFORMATIONAL"  # still open when the window closed


async def test_a_million_digit_retry_is_valid_and_harmless(base: str) -> None:
    found = await outcomes(base + "/huge-retry", "server.framing.6,server.framing.10")
    assert found == {"server.framing.6": "OK", "server.framing.10": "OK"}


async def test_data_never_ended_by_a_blank_line_fails(base: str) -> None:
    found = await outcomes(base + "/no-blank-lines", "server.framing.10,server.framing.7")
    assert found == {"server.framing.10": "FAILED", "server.framing.7": "FAILED"}


async def test_cors_that_refuses_last_event_id_or_names_another_origin(base: str) -> None:
    found = await outcomes(base + "/cors", "server.cors.*")
    assert found == {"server.cors.1": "NON-STRICT", "server.cors.2": "NON-STRICT"}


async def test_head_and_bogus_last_event_id_answered_with_500(base: str) -> None:
    found = await outcomes(base + "/fragile", "server.http.1,server.resume.2")
    assert found == {"server.http.1": "NON-STRICT", "server.resume.2": "NON-STRICT"}


async def test_a_head_held_until_the_stream_ends_is_late_however_long_the_stream(
    base: str,
) -> None:
    run = await run_cases(
        Target(base + "/held-head", contract=""),
        pattern="server.http.1",
        window=Window(max_events=20, max_seconds=3.0),
    )
    (one_second,) = run.results
    assert one_second.outcome.value == "NON-STRICT"
    assert "held until the stream ends" in one_second.evidence["observed"]
    endless = await outcomes(base + "/held-head?endless=1", "server.http.1")
    assert endless == {"server.http.1": "NON-STRICT"}


async def test_body_bytes_after_a_head_response_are_flagged_with_what_arrived() -> None:
    server = await asyncio.start_server(stray_after_head, "127.0.0.1", 0)
    host, port = server.sockets[0].getsockname()[:2]
    async with server:
        run = await run_cases(
            Target(f"http://{host}:{port}/stream", contract=""),
            pattern="server.http.1",
            window=Window(max_events=20, max_seconds=3.0),
        )
    (head,) = run.results
    assert head.outcome.value == "NON-STRICT"
    assert "5 body bytes after the HEAD response" in head.evidence["observed"]
    assert head.evidence["excerpt"] == "0\\r\\n\\r\\n"


async def test_a_careless_stack_fails_every_script_it_breaks(base: str) -> None:
    run = await run_cases(
        Target(base + "/fragile", contract=base + "/lossy"),
        pattern="server.script.*",
        window=Window(max_events=20, max_seconds=5.0),
    )
    found = {r.case.id: r.outcome.value for r in run.results}
    assert found.pop("server.script.3") == "OK"  # colons survive this stack
    assert found.pop("server.script.10") == "NON-STRICT"  # all five held to the end (S-17)
    assert set(found.values()) == {"FAILED"}, found  # every MUST round trip breaks


async def test_unreachable_target_is_graded_not_raised() -> None:
    found = await outcomes("http://127.0.0.1:9/stream", "server.status.1,server.headers.1")
    assert found == {"server.status.1": "FAILED", "server.headers.1": "FAILED"}


async def test_capacity_refused_by_reset_is_non_strict_and_by_503_ok(base: str) -> None:
    reset = await outcomes(base + "/limited-reset", "server.capacity.1")
    unavailable = await outcomes(base + "/limited-503", "server.capacity.1")
    assert (reset, unavailable) == (
        {"server.capacity.1": "NON-STRICT"},
        {"server.capacity.1": "OK"},
    )
