"""The emitter takes a reader that resets mid-request or mid-stream as a normal end: nothing on
stderr, nothing raised in its handler (which reads the request and hands the stream to the
schedule) or in the schedule's writes, and the next reader gets a whole stream."""

from __future__ import annotations

import json
import logging
import socket
import struct
from collections.abc import Callable, Iterator

import gevent
import gevent.event
import gevent.socket
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.load.emitter import Emitter, block
from harness.load.metrics import Metrics
from harness.load.session import StreamSpec, run_stream
from harness.stream import encode

pytestmark = pytest.mark.timeout(30)

_REQUEST = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


class Handlers:
    """What the emitter's per-connection handlers did: whether one started, ended, raised."""

    def __init__(self) -> None:
        self.started = gevent.event.Event()
        self.ended = gevent.event.Event()
        self.raised: list[BaseException] = []

    def reset(self) -> None:
        self.started.clear()
        self.ended.clear()


@pytest.fixture
def handlers(monkeypatch: pytest.MonkeyPatch) -> Handlers:
    spy, serve = Handlers(), Emitter._serve

    def spied(emitter: Emitter, sock: gevent.socket.socket, address: object) -> None:
        spy.started.set()
        try:
            serve(emitter, sock, address)
        except BaseException as exc:
            spy.raised.append(exc)
            raise
        finally:
            spy.ended.set()

    monkeypatch.setattr(Emitter, "_serve", spied)
    return spy


@pytest.fixture
def emitter_url(handlers: Handlers) -> Iterator[str]:
    emitter = Emitter(interval_s=0.001, batch=50)  # a write every ms: a reset hits a send
    url = emitter.start()
    yield url
    emitter.stop()


def _connect(url: str) -> gevent.socket.socket:
    host, port = url.removeprefix("http://").rstrip("/").split(":")
    return gevent.socket.create_connection((host, int(port)))


def _reset(sock: gevent.socket.socket) -> None:
    """Close with SO_LINGER 0: the kernel sends RST instead of FIN."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def _partial_request(sock: gevent.socket.socket) -> None:
    sock.sendall(_REQUEST[:20])  # the handler is left waiting in recv for the rest


def _read_a_bit(sock: gevent.socket.socket) -> None:
    sock.sendall(_REQUEST)
    assert sock.recv(4096).startswith(b"HTTP/1.1 200 OK")  # the handler is now sending


@pytest.mark.parametrize("before_reset", [_partial_request, _read_a_bit])
def test_a_reset_reader_is_a_normal_end_and_the_emitter_serves_on(
    emitter_url: str,
    handlers: Handlers,
    before_reset: Callable[[gevent.socket.socket], None],
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    sock = _connect(emitter_url)
    before_reset(sock)
    assert handlers.started.wait(timeout=10)
    _reset(sock)
    assert handlers.ended.wait(timeout=10)
    assert handlers.raised == []

    handlers.reset()
    metrics = Metrics()
    result = run_stream(StreamSpec(emitter_url, max_events=120, timeout_s=10.0), metrics)
    assert (result.end, result.events, metrics.counters["lost"]) == ("bound", 120, 0)
    assert handlers.ended.wait(timeout=10)  # its handler handed the stream to the schedule
    assert handlers.raised == []

    assert capfd.readouterr().err == ""
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []


def test_a_burst_of_connections_waits_in_the_backlog_not_in_resets() -> None:
    """Readers connecting faster than the emitter accepts (10,000 of them at 1,000 a second)
    wait in the kernel's backlog. Here nothing is accepted at all (plain sockets, so gevent's
    hub never runs): gevent's default backlog, 128, left the 130th connect unanswered."""
    emitter = Emitter(interval_s=1.0)
    host, port = emitter.start().removeprefix("http://").rstrip("/").split(":")
    held: list[socket.socket] = []
    try:
        for _ in range(1000):
            held.append(socket.create_connection((host, int(port)), timeout=5))
    finally:
        for sock in held:
            sock.close()
        emitter.stop()
    assert len(held) == 1000


@settings(max_examples=300, deadline=None)
@given(
    st.integers(0, 10**20),
    st.floats(allow_nan=False, allow_infinity=False),
    st.floats(allow_nan=False, allow_infinity=False),
)
def test_the_emitters_block_is_what_the_encoder_writes(
    seq: int, intended: float, sent: float
) -> None:
    payload = json.dumps({"seq": seq, "intended": intended, "sent": sent}, separators=(",", ":"))
    assert block(seq, intended, sent).encode() == encode(data=payload, id=str(seq))
