"""What lets one Locust process hold tens of thousands of streams, each in the small: connections
to an IPv4 loopback target spread their source addresses (so the ephemeral port range is per
source address, not per process), other targets connect as the kernel routes them, and the
emitter serves many streams from one schedule, or from several processes on one port."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from typing import Any

import gevent
import gevent.event
import gevent.socket
import psutil
import pytest

from harness.load import transport
from harness.load.emitter import Emitter
from harness.load.metrics import Metrics
from harness.load.session import StreamSpec, run_stream
from harness.load.transport import Endpoint

pytestmark = pytest.mark.timeout(30)


def _source_addresses(url: str, n: int) -> list[str]:
    sockets = [transport._connect(Endpoint(url), 5.0) for _ in range(n)]
    try:
        return [sock.getsockname()[0] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


@pytest.mark.skipif(transport._BIND_ADDRESS_NO_PORT is None, reason="Linux only")
def test_connections_to_ipv4_loopback_take_their_source_addresses_in_turn() -> None:
    # Nobody accepts: the kernel completes the handshakes into the backlog.
    with socket.create_server(("127.0.0.1", 0), backlog=64) as listener:
        port = listener.getsockname()[1]
        sources = _source_addresses(f"http://127.0.0.1:{port}/", 8)
    assert len(set(sources)) == 8
    assert set(sources) <= set(transport._LOOPBACK_SOURCES)


def test_only_ipv4_loopback_literals_spread() -> None:
    spread = {
        url: Endpoint(url).ipv4_loopback
        for url in (
            "http://127.0.0.1:8000/",
            "http://127.9.9.9/",
            "http://10.1.2.3/",
            "http://[::1]:8000/",
            "http://localhost:8000/",
        )
    }
    assert spread == {
        "http://127.0.0.1:8000/": True,
        "http://127.9.9.9/": True,
        "http://10.1.2.3/": False,
        "http://[::1]:8000/": False,
        "http://localhost:8000/": False,
    }


def test_an_ipv6_loopback_connection_is_not_bound() -> None:
    try:
        listener = socket.create_server(("::1", 0), family=socket.AF_INET6, backlog=64)
    except OSError:
        pytest.skip("no IPv6 loopback here")
    with listener:
        port = listener.getsockname()[1]
        assert _source_addresses(f"http://[::1]:{port}/", 2) == ["::1", "::1"]


def test_the_emitters_schedule_serves_every_stream_whole_and_in_cadence() -> None:
    emitter = Emitter(interval_s=0.01, count=5)
    url = emitter.start()
    metrics = Metrics()
    try:
        spec = StreamSpec(url, max_seconds=10.0, timeout_s=5.0)
        streams = [gevent.spawn(run_stream, spec, metrics) for _ in range(50)]
        gevent.joinall(streams, timeout=20, raise_error=True)
    finally:
        emitter.stop()
    assert [(s.value.end, s.value.events) for s in streams] == [("eof", 5)] * 50
    counters = metrics.counters
    assert (counters["lost"], counters["duplicated"], counters["out_of_order"]) == (0, 0, 0)
    # Four 10 ms intervals between the five events of a stream, never less (never early).
    assert metrics.histograms["lateness"].count == 250
    assert min(s.value.duration_s for s in streams) >= 0.04


def test_an_emitter_of_two_processes_serves_and_ends_with_its_helper() -> None:
    command = [sys.executable, "-m", "harness.load.emitter", "--processes", "2", "--count", "3"]
    popen = subprocess.Popen([*command, "--interval-ms", "5"], stdout=subprocess.PIPE)
    try:
        assert popen.stdout is not None
        url = popen.stdout.readline().decode().strip()
        (helper,) = psutil.Process(popen.pid).children()
        metrics = Metrics()
        results = [run_stream(StreamSpec(url, timeout_s=5.0), metrics) for _ in range(6)]
        assert [(r.end, r.events) for r in results] == [("eof", 3)] * 6
    finally:
        popen.send_signal(signal.SIGTERM)
        try:
            ended = popen.wait(10)
        except subprocess.TimeoutExpired:
            popen.kill()
            raise
    assert ended == 0
    assert not helper.is_running()  # ended, and reaped by the emitter


def test_the_emitter_lets_go_of_a_reader_that_stopped_reading(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A scheduled connection never waits on its socket: what a full socket does not take is
    kept, up to a bound, and then the connection is closed (the schedule serves the rest)."""
    let_go = gevent.event.Event()
    write = Emitter._write

    def spied(emitter: Emitter, connection: Any) -> bool:
        kept = write(emitter, connection)
        if not kept:
            let_go.set()
        return kept

    monkeypatch.setattr(Emitter, "_write", spied)
    emitter = Emitter(interval_s=0.001, batch=1000)  # ~100 KB a millisecond
    host, port = emitter.start().removeprefix("http://").rstrip("/").split(":")
    reader = gevent.socket.socket()
    reader.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    try:
        reader.connect((host, int(port)))
        reader.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert let_go.wait(10)
        assert emitter._slots == {}
    finally:
        reader.close()
        emitter.stop()
