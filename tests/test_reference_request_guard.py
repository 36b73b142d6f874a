"""``harness.request_guard`` against the quirks it exists for, each shown first on a bare FastAPI
app under real uvicorn (so a test here fails, and says so, the day a dependency fixes its quirk),
then with the guard, then on the reference server.
"""

from __future__ import annotations

import json
import logging
import socket
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import ExitStack
from typing import Any
from urllib.parse import urlsplit

import anyio
import pytest
from fastapi import APIRouter, FastAPI
from pydantic import BaseModel
from sse_starlette import EventSourceResponse

from harness.request_guard import JsonSafeRoute, RequestBodyGuard
from reference_server.launch import serve_in_thread

pytestmark = pytest.mark.timeout(60)


class Order(BaseModel):
    steps: list[int]


def _bare_app(route_class: type[JsonSafeRoute] | None = None) -> FastAPI:
    router = APIRouter() if route_class is None else APIRouter(route_class=route_class)

    @router.post("/order")
    async def order(body: Order) -> dict[str, int]:
        return {"steps": len(body.steps)}

    @router.get("/only-get")
    async def only_get() -> dict[str, bool]:
        return {"ok": True}

    app = FastAPI()
    app.include_router(router)
    return app


Serve = Callable[[Any], tuple[str, int]]


@pytest.fixture
def serve() -> Iterator[Serve]:
    """``serve(asgi_app) -> (host, port)`` under real uvicorn, stopped after the test."""
    with ExitStack() as stack:

        def start(app: Any) -> tuple[str, int]:
            address = urlsplit(stack.enter_context(serve_in_thread(app)))
            assert address.hostname is not None and address.port is not None
            return address.hostname, address.port

        yield start


def _read_response(sock: socket.socket) -> tuple[int, bytes]:
    """Status and body of one Content-Length response, read to its last byte."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"connection closed before the response head: {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    headers = dict(line.lower().split(b": ", 1) for line in lines[1:])
    while len(body) < int(headers[b"content-length"]):
        chunk = sock.recv(65536)
        assert chunk, "connection closed inside the response body"
        body += chunk
    return int(lines[0].split()[1]), body


def _post(address: tuple[str, int], body: bytes, content_type: str) -> tuple[int, bytes]:
    with socket.create_connection(address, timeout=5) as sock:
        head = f"POST /order HTTP/1.1\r\nHost: t\r\nContent-Type: {content_type}\r\n"
        sock.sendall(f"{head}Content-Length: {len(body)}\r\n\r\n".encode() + body)
        return _read_response(sock)


#: (Content-Type, body, error type, the input as the 422 shows it): bodies whose 422 echoes
#: what a JSON response cannot hold.
UNRENDERABLE = [
    pytest.param("text/plain", b"\xff\xfe{", "model_attributes_type", "\\xff\\xfe{", id="bytes"),
    pytest.param(
        "application/json", b'{"steps": "\\ud800"}', "list_type", "\\ud800", id="lone-surrogate"
    ),
    pytest.param("application/json", b'{"steps": [Infinity]}', "finite_number", "inf", id="inf"),
]
ROW = ("content_type", "body", "kind", "shown")


@pytest.mark.parametrize(ROW, UNRENDERABLE)
def test_fastapi_still_answers_500_when_its_422_echoes_unrenderable_input(
    serve: Serve, content_type: str, body: bytes, kind: str, shown: str
) -> None:
    # If this fails, FastAPI (bytes: fastapi#13111) or Starlette (JSONResponse) fixed the quirk:
    # drop its row from harness.request_guard's table and this case.
    assert _post(serve(_bare_app()), body, content_type)[0] == 500


@pytest.mark.parametrize(ROW, UNRENDERABLE)
def test_the_guarded_route_answers_422_with_the_reason_and_the_input_escaped(
    serve: Serve, content_type: str, body: bytes, kind: str, shown: str
) -> None:
    status, answer = _post(serve(_bare_app(JsonSafeRoute)), body, content_type)
    assert status == 422
    (error,) = json.loads(answer, parse_constant=pytest.fail)["detail"]
    assert (error["type"], error["input"]) == (kind, shown)


@pytest.mark.parametrize("path", ["/sse", "/_script", "/v1/chat/completions", "/broadcast/x"])
@pytest.mark.parametrize(ROW, UNRENDERABLE)
def test_the_reference_server_answers_422_on_every_body_route(
    reference_server_url: str, path: str, content_type: str, body: bytes, kind: str, shown: str
) -> None:
    address = urlsplit(reference_server_url)
    assert address.hostname is not None and address.port is not None
    with socket.create_connection((address.hostname, address.port), timeout=5) as sock:
        head = f"POST {path} HTTP/1.1\r\nHost: t\r\nContent-Type: {content_type}\r\n"
        sock.sendall(f"{head}Content-Length: {len(body)}\r\n\r\n".encode() + body)
        status, answer = _read_response(sock)
    assert status == 422, answer
    assert json.loads(answer, parse_constant=pytest.fail)["detail"]


def _refuse_then_send_body(address: tuple[str, int], size: int) -> tuple[int, str]:
    """POST a GET-only route with ``Connection: close``, read the whole 405, then send the body.

    The order makes the race deterministic: by the time the body leaves, the server has written
    its last byte and (unguarded) closed; every byte of the body arrives unread.
    Returns the status and how the connection ended: ``eof`` or ``reset``.
    """
    with socket.create_connection(address, timeout=5) as sock:
        sock.sendall(
            b"POST /only-get HTTP/1.1\r\nHost: t\r\nConnection: close\r\n"
            b"Content-Length: %d\r\n\r\n" % size
        )
        status, _ = _read_response(sock)
        try:
            for _ in range(size // 1024):
                sock.sendall(b"x" * 1024)
            while sock.recv(65536):
                pass
        except (ConnectionResetError, BrokenPipeError):
            return status, "reset"
        return status, "eof"


def test_uvicorn_resets_a_connection_whose_body_was_not_read(serve: Serve) -> None:
    # The cause behind "Connection reset by peer" instead of a 4xx: with keep-alive off, uvicorn
    # closes right after the response, and the kernel answers the unread body with a reset. A
    # client still writing its body fails there, before it reads the response. If this fails,
    # uvicorn drains (lingering close) by itself: RequestBodyGuard's drain can go.
    assert _refuse_then_send_body(serve(_bare_app()), 60 * 1024) == (405, "reset")


def test_the_guard_drains_the_body_then_closes_cleanly(serve: Serve) -> None:
    address = serve(RequestBodyGuard(_bare_app()))
    assert _refuse_then_send_body(address, 60 * 1024) == (405, "eof")


def test_the_drain_is_bounded_against_a_body_that_never_ends(serve: Serve) -> None:
    address = serve(RequestBodyGuard(_bare_app(), drain_bytes=64 * 1024, drain_s=5.0))
    with socket.create_connection(address, timeout=5) as sock:
        sock.sendall(b"POST /only-get HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n")
        assert _read_response(sock)[0] == 405
        sent = 0
        with pytest.raises((ConnectionResetError, BrokenPipeError)):
            while sent < 64 * 1024 * 1024:  # the server stops reading long before
                sock.sendall(b"400\r\n" + b"x" * 1024 + b"\r\n")
                sent += 1024
    assert sent < 16 * 1024 * 1024


def _stalled_body(address: tuple[str, int], wait_s: float) -> tuple[int | None, float]:
    """POST a JSON route, promise 100 bytes, send 10, wait up to ``wait_s`` for the answer:
    (status, or None if none came, seconds)."""
    with socket.create_connection(address, timeout=wait_s) as sock:
        started = time.monotonic()
        sock.sendall(
            b"POST /order HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
            b'Content-Length: 100\r\n\r\n{"steps": '
        )
        try:
            return _read_response(sock)[0], time.monotonic() - started
        except TimeoutError:
            return None, time.monotonic() - started


def test_uvicorn_waits_for_a_stalled_body_without_bound(serve: Serve) -> None:
    # uvicorn has no request-body timeout; 1 s is three times the guard's bound below.
    assert _stalled_body(serve(_bare_app()), wait_s=1.0)[0] is None


def test_the_guard_answers_a_stalled_body_with_408_in_time(serve: Serve) -> None:
    guarded = RequestBodyGuard(_bare_app(), body_timeout_s=0.3)
    status, took = _stalled_body(serve(guarded), wait_s=5.0)
    assert status == 408
    assert 0.3 <= took < 3


def _stream_app(**limit: int) -> FastAPI:
    app = FastAPI(**limit)

    @app.get("/stream")
    async def stream() -> EventSourceResponse:
        async def paced() -> AsyncIterator[str]:
            for n in range(20):
                await anyio.sleep(0.01)
                yield str(n)

        return EventSourceResponse(paced())

    return app


def _stream_with_big_body(address: tuple[str, int]) -> tuple[int, bytes]:
    """GET the stream with a 64 KiB chunked body; the status and all the stream sent."""
    with socket.create_connection(address, timeout=5) as sock:
        head = b"GET /stream HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
        sock.sendall(head + b"10000\r\n" + b"x" * 0x10000 + b"\r\n0\r\n\r\n")
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    return int(received.split(b" ", 2)[1]), received


def _logged_errors(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "uvicorn.error" and r.levelno >= logging.ERROR]


def test_starlettes_body_limit_raises_in_a_running_streams_disconnect_listener(
    serve: Serve, caplog: pytest.LogCaptureFixture
) -> None:
    # FastAPI(max_body_size=) counts what sse-starlette's listener reads, and raises once the
    # stream runs: uvicorn logs the exception and cuts the stream. If this fails, the limit
    # need not live in RequestBodyGuard.
    status, received = _stream_with_big_body(serve(_stream_app(max_body_size=1024)))
    assert status == 200
    assert b"data: 19" not in received
    assert _logged_errors(caplog)


def test_the_guard_holds_the_limit_without_cutting_a_running_stream(
    serve: Serve, caplog: pytest.LogCaptureFixture
) -> None:
    status, received = _stream_with_big_body(
        serve(RequestBodyGuard(_stream_app(), max_body_bytes=1024))
    )
    assert status == 200
    assert b"data: 19" in received
    assert not _logged_errors(caplog)
