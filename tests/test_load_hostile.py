"""Hostile targets against the load users: each is a failed stream with its reason in load.json,
while the Locust process stays within its memory bound, the other streams go on and the report
is written.

The target is a raw socket server on loopback whose connections to ``/`` alternate between one
hostile behaviour and a healthy stream (an event every 50 ms), so every run also shows that the
healthy streams kept flowing next to the hostile ones. Each run is a real, short Locust process
(the shipped stream locustfile, ``--sse-timeout 1``); its peak RSS is the kernel's high-water
mark for that process (``VmHWM``), which it records in load.json, not a sample. Not ``wait4``'s
rusage: on Linux a child's ``ru_maxrss`` carries its parent's high-water mark across ``exec``, so
inside a big test run it measured pytest, not Locust.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import socket
import socketserver
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from harness.load.metrics import Metrics
from harness.load.run import locustfile
from harness.load.session import FAILURES, StreamSpec, run_stream
from harness.report.load import load_verdict_line

STREAM = str(locustfile("stream"))
#: The bound the Locust process must stay under, hostile target or not (two users, a Python
#: process with Locust, gevent and matplotlib loaded; measured 100-130 MiB for every target).
PEAK_RSS_BOUND_MIB = 200
#: The run: long enough for several streams of each kind, short enough for a test.
RUN_TIME_S = 3

SSE_HEAD = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
    b"Connection: close\r\n\r\n"
)
Behaviour = Callable[[socket.socket], None]
#: The gate judges streams only: timings on a busy test machine are not what is tested here.
_ONLY_STREAMS_GATED = """[load]
ttfe_p99_ms = false
gap_p99_ms = false
latency_p99_ms = false
lateness_p99_ms = false
calibration_p99_ms = false
cpu_warning = false
"""


def healthy(sock: socket.socket) -> None:
    sock.sendall(SSE_HEAD)
    for n in itertools.count(1):
        sock.sendall(b'id: %d\ndata: {"n": %d, "sent": %f}\n\n' % (n, n, time.time()))
        time.sleep(0.05)  # the producer's pace, not synchronisation


def endless_line(sock: socket.socket) -> None:
    sock.sendall(SSE_HEAD + b"data: ")
    block = b"x" * 65536
    while True:
        sock.sendall(block)


def huge_event(sock: socket.socket) -> None:
    """One event of 100 MiB of short data lines (the costliest shape for a parser that kept
    each line as its own string), never dispatched: no blank line."""
    sock.sendall(SSE_HEAD)
    block = b"data: xy\n" * 7282  # 64 KiB
    for _ in range(100 * 2**20 // len(block)):
        sock.sendall(block)


def trickle(sock: socket.socket) -> None:
    sock.sendall(SSE_HEAD)
    for byte in itertools.cycle(b"data: slow\n\n"):
        sock.sendall(bytes([byte]))
        time.sleep(1.0)  # the producer's pace: one byte a second


def header_flood(sock: socket.socket) -> None:
    sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n")
    for n in itertools.count():
        sock.sendall(b"".join(b"X-Flood-%d: %d\r\n" % (n * 1000 + i, i) for i in range(1000)))


def huge_retry(sock: socket.socket) -> None:
    """A 10^6-digit reconnection time, then the end of the stream (read until close)."""
    sock.sendall(SSE_HEAD + b"retry: " + b"7" * 1_000_000 + b'\n\nid: 1\ndata: {"n": 1}\n\n')


def redirect_loop(sock: socket.socket) -> None:
    sock.sendall(b"HTTP/1.1 302 Found\r\nLocation: /loop\r\nContent-Length: 0\r\n\r\n")


def never_answers(sock: socket.socket) -> None:
    while sock.recv(65536):  # until the client gives up and closes
        pass


class _Handler(socketserver.BaseRequestHandler):
    server: _HostileServer

    def handle(self) -> None:
        head = b""
        while b"\r\n\r\n" not in head and len(head) < 65536:
            data = self.request.recv(65536)
            if not data:
                return
            head += data
        path = head.split(b" ", 2)[1]
        behaviour = redirect_loop if path == b"/loop" else self.server.next_behaviour()
        with contextlib.suppress(OSError):  # the client closed the stream: the behaviour is over
            behaviour(self.request)


class _HostileServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, hostile: Behaviour | None) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self._cycle = itertools.cycle([healthy] if hostile is None else [hostile, healthy])
        self._lock = threading.Lock()

    def next_behaviour(self) -> Behaviour:
        with self._lock:
            return next(self._cycle)


@contextmanager
def _serving(hostile: Behaviour | None) -> Iterator[str]:
    server = _HostileServer(hostile)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def _locust_run(url: str, tmp_path: Path, *extra: str) -> tuple[int, str]:
    """Run Locust to its end: its exit code and its output."""
    output = tmp_path / "locust.log"
    thresholds = tmp_path / "thresholds.toml"
    thresholds.write_text(_ONLY_STREAMS_GATED)
    with output.open("w") as log:
        done = subprocess.run(
            [sys.executable, "-m", "locust", "-f", STREAM, "--headless", "--host", url,
             "--sse-path", "/", "-u", "2", "-r", "2", "-t", f"{RUN_TIME_S}s",
             "--sse-timeout", "1", "--sse-max-events", "0", "--sse-max-seconds", "2",
             "--sse-report-dir", str(tmp_path), "--sse-thresholds", str(thresholds), *extra],
            cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT, timeout=90,
        )  # fmt: skip
    return done.returncode, output.read_text()


def _peak_mib(report: dict[str, Any]) -> float:
    """The Locust process's own high-water mark (VmHWM), as it recorded it in load.json."""
    peak: float = report["process"]["peak_rss_mib"]
    return peak


def _report(tmp_path: Path) -> dict[str, Any]:
    path = tmp_path / "load.json"
    assert path.is_file(), "no load.json written"
    report: dict[str, Any] = json.loads(path.read_text())
    return report


HOSTILE = [
    pytest.param(endless_line, (), "line_too_long", id="endless-line"),
    pytest.param(huge_event, (), "event_too_large", id="100-MiB-event"),
    pytest.param(trickle, (), "stalled", id="1-byte-per-s-trickle"),
    pytest.param(header_flood, (), "head_too_large", id="header-flood"),
    pytest.param(huge_retry, ("--sse-reconnect",), "retry_too_long", id="10^6-digit-retry"),
    pytest.param(redirect_loop, (), "redirect_loop", id="redirect-loop"),
    pytest.param(never_answers, (), "no_head", id="never-answers"),
]


@pytest.mark.timeout(120)
@pytest.mark.parametrize(("hostile", "extra", "reason"), HOSTILE)
def test_a_hostile_target_is_a_failed_stream_with_its_reason(
    hostile: Behaviour, extra: tuple[str, ...], reason: str, tmp_path: Path
) -> None:
    with _serving(hostile) as url:
        code, output = _locust_run(url, tmp_path, *extra)
    report = _report(tmp_path)
    peak_mib = _peak_mib(report)
    streams, failures = report["streams"], report["streams"]["failures"]
    print(f"{hostile.__name__}: {failures}, peak RSS {peak_mib} MiB")  # the report's table
    assert code == 1, output[-3000:]
    assert [b["check"] for b in report["gate"]["breaches"]] == ["error_rate"], report["gate"]
    assert list(failures) == [reason], failures  # every failed stream, for this one reason
    count = failures[reason]["count"]
    assert count == streams["errors"] + report["integrity"]["truncated_streams"] >= 1
    assert failures[reason]["example"] and "\n" not in failures[reason]["example"]
    assert f" failed ({reason} {count}); " in load_verdict_line(report)
    page = (tmp_path / "load.html").read_text()
    assert 'id="failures"' in page and f"<code>{reason}</code>" in page
    assert peak_mib < PEAK_RSS_BOUND_MIB, f"peak RSS {peak_mib} MiB"
    _healthy_streams_went_on(report)


def _healthy_streams_went_on(report: dict[str, Any]) -> None:
    """The run lasted its run time and the healthy streams got events up to its last seconds."""
    assert report["duration_s"] >= RUN_TIME_S - 1  # Locust's clock starts before test_start
    assert report["integrity"]["events"] >= 10, report["integrity"]
    series = report["series"]
    last = series["start"] + max(i for i, n in enumerate(series["events_per_s"]) if n)
    ended = datetime.fromisoformat(report["started"]).timestamp() + report["duration_s"]
    assert ended - last < 2.5, series  # a second's bucket, and a margin for a busy machine


@pytest.mark.timeout(120)
def test_a_healthy_target_passes_with_no_failures(tmp_path: Path) -> None:
    """The same run against healthy streams only: the checks above can pass."""
    with _serving(None) as url:
        code, output = _locust_run(url, tmp_path)
    report = _report(tmp_path)
    peak_mib = _peak_mib(report)
    print(f"healthy only: peak RSS {peak_mib} MiB")  # the report's table
    assert code == 0, output[-3000:]
    assert report["streams"]["failures"] == {}
    assert 'id="failures"' not in (tmp_path / "load.html").read_text()
    assert peak_mib < PEAK_RSS_BOUND_MIB
    _healthy_streams_went_on(report)


# -- without Locust: the reader's bounds, and how the breakdown merges -------------------------


@pytest.mark.timeout(30)
def test_a_trickle_of_whole_lines_is_not_a_stall() -> None:
    """Only a line end is progress: a keep-alive comment every 0.2 s keeps a stream with a 0.5 s
    timeout open to its time bound, while bytes without a line end (above) stall it."""

    def keep_alive(sock: socket.socket) -> None:
        sock.sendall(SSE_HEAD + b'id: 1\ndata: {"n": 1}\n\n')
        while True:
            sock.sendall(b":\n")
            time.sleep(0.2)  # the producer's pace, not synchronisation

    with _serving(keep_alive) as url:
        metrics = Metrics()
        result = run_stream(StreamSpec(url + "/", timeout_s=0.5, max_seconds=1.5), metrics)
    assert result.end == "bound", result.error
    assert metrics.failures == {}


@pytest.mark.timeout(30)
def test_a_trickled_head_meets_one_deadline_not_one_per_byte() -> None:
    """A head a byte every 0.1 s never lets a single ``recv`` wait 0.5 s: only a deadline for
    the whole head ends it, at 0.5 s, not when the head would have been whole (some 9 s)."""

    def trickled_head(sock: socket.socket) -> None:
        for byte in SSE_HEAD:
            sock.sendall(bytes([byte]))
            time.sleep(0.1)  # the producer's pace: ten bytes a second

    with _serving(trickled_head) as url:
        metrics = Metrics()
        result = run_stream(StreamSpec(url + "/", timeout_s=0.5, max_seconds=20), metrics)
    assert result.end == "error" and result.duration_s < 5, result
    assert dict(metrics.failures) == {"no_head": 1}, metrics.failure_examples


def test_failures_merge_across_workers_by_key_keeping_one_example() -> None:
    one, two, master = Metrics(), Metrics(), Metrics()
    one.stream_failed("no_head", "no response head from a within 1 s")
    one.stream_failed("no_head", "no response head from b within 1 s")
    two.stream_failed("no_head", "no response head from c within 1 s")
    two.stream_failed("stalled", "no bytes for 1 s")
    master.absorb(one.drain())
    master.absorb(two.drain())
    assert master.failures == {"no_head": 3, "stalled": 1}
    assert master.failure_examples == {
        "no_head": "no response head from a within 1 s",
        "stalled": "no bytes for 1 s",
    }
    assert one.drain()["failures"] == {}  # a drain forgets what it sent


def test_every_failure_key_is_described() -> None:
    assert all(key.isidentifier() and words for key, words in FAILURES.items())
