"""The load reader against the real reference server: every integrity counter is proven by the
fault that must trip it and by the clean stream that must not, and every timing comes from the
right clock (the reader is gevent-based but needs no monkeypatching, so it runs in-process)."""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import gevent
import gevent.event
import pytest

from harness.connection import (
    SSEConnectionError,
    SSEContentTypeError,
    SSEError,
    SSEReconnectLimitError,
    SSEStatusError,
)
from harness.load.calibration import Calibration
from harness.load.chat import TokenMeter, chat_stamper
from harness.load.emitter import Emitter
from harness.load.metrics import Metrics
from harness.load.session import (
    StreamResult,
    StreamSpec,
    halt_reading,
    resume_reading,
    run_stream,
)
from harness.stream import Event
from reference_server.launch import free_port, serve_subprocess

pytestmark = pytest.mark.timeout(30)


def _run(url: str, **options: object) -> tuple[StreamResult, Metrics]:
    metrics = Metrics()
    spec = StreamSpec(url, **{"max_seconds": 10.0, "timeout_s": 5.0, **options})  # type: ignore[arg-type]
    return run_stream(spec, metrics), metrics


def _integrity(metrics: Metrics) -> tuple[int, int, int]:
    c = metrics.counters
    return c["lost"], c["duplicated"], c["out_of_order"]


def test_clean_counter_is_whole_and_bounded(reference_server_url: str) -> None:
    result, metrics = _run(reference_server_url + "/counter?count=20&interval_ms=5", max_events=20)
    assert (result.end, result.events) == ("bound", 20)
    assert _integrity(metrics) == (0, 0, 0)
    counts = {name: h.count for name, h in metrics.histograms.items()}
    assert counts == {
        "connect": 1,
        "ttfe": 1,
        "gap": 19,
        "latency": 20,
        "lateness": 20,
        "calibration": 0,
        "tls": 0,  # plain http: no handshake
        "gc_pause": 0,  # timed by the Locust plugin only
    }
    assert metrics.counters["bytes"] == result.bytes > 0
    assert metrics.active == 0


def test_skipped_ids_are_lost_and_the_stream_is_not_truncated(reference_server_url: str) -> None:
    # The fault drops ids 1, 4, 7: three holes, while the stream still reaches its last id.
    result, metrics = _run(
        reference_server_url + "/counter?count=10&interval_ms=2&fault=skip_ids", max_events=10
    )
    assert (result.end, result.events) == ("eof", 7)
    assert _integrity(metrics) == (3, 0, 0)


def test_duplicated_ids_are_counted(reference_server_url: str) -> None:
    result, metrics = _run(
        reference_server_url + "/counter?count=10&interval_ms=2&fault=duplicate_ids"
    )
    assert (result.end, result.events) == ("eof", 13)
    assert _integrity(metrics) == (0, 3, 0)


@pytest.mark.parametrize("fault", ["no_final_blank_line", "status_500_midstream"])
def test_a_stream_cut_inside_an_event_is_truncated(reference_server_url: str, fault: str) -> None:
    result, metrics = _run(reference_server_url + f"/counter?count=5&interval_ms=2&fault={fault}")
    assert result.end == "truncated"
    assert metrics.counters["truncated_streams"] == 1


def test_a_read_bound_is_no_promise(reference_server_url: str) -> None:
    """The client reads at most 8; the server sends 5 and ends cleanly: a clean end."""
    result, metrics = _run(reference_server_url + "/counter?count=5&interval_ms=2", max_events=8)
    assert (result.end, result.events, result.error) == ("eof", 5, None)
    assert metrics.counters["truncated_streams"] == 0


@pytest.mark.parametrize(
    ("promise", "words"),
    [
        ({"expect_events": 8}, "after 5 events; --sse-expect-events promised 8"),
        (
            {"expect_endless": True},
            "after 5 events; --sse-expect-endless promised it would not end",
        ),
    ],
)
def test_a_stream_ending_short_of_a_declared_promise_is_truncated(
    reference_server_url: str, promise: dict[str, Any], words: str
) -> None:
    result, metrics = _run(reference_server_url + "/counter?count=5&interval_ms=2", **promise)
    assert (result.end, result.events) == ("truncated", 5)
    assert result.error == f"the server ended the stream {words}"
    assert metrics.counters["truncated_streams"] == 1


def test_a_kept_promise_is_a_clean_end(reference_server_url: str) -> None:
    result, _ = _run(reference_server_url + "/counter?count=5&interval_ms=2", expect_events=5)
    assert (result.end, result.events) == ("eof", 5)


def test_a_promise_the_bound_could_never_check_is_refused(reference_server_url: str) -> None:
    with pytest.raises(ValueError, match="expecting 9 events per stream but reading at most 8"):
        StreamSpec(reference_server_url, max_events=8, expect_events=9)


@pytest.mark.parametrize(
    ("fault", "error", "detail"),
    [
        ("status_500", SSEStatusError, "HTTP status 500"),
        ("wrong_content_type", SSEContentTypeError, "Content-Type 'text/plain; charset=utf-8'"),
    ],
)
def test_streams_a_client_must_fail_are_errors(
    reference_server_url: str, fault: str, error: type[SSEError], detail: str
) -> None:
    # reconnect=True: a stream the client must fail is never retried (C-H3, C-H4, C-H7)
    result, metrics = _run(
        reference_server_url + f"/counter?fault={fault}", reconnect=True, reconnect_delay_s=0.001
    )
    assert (result.end, result.events, result.reconnects) == ("error", 0, 0)
    assert isinstance(result.failure, error)
    assert result.error == str(result.failure) and detail in result.error
    assert metrics.counters["errors"] == 1
    assert metrics.histograms["connect"].count == 1


def test_a_refused_connection_is_an_error() -> None:
    result, metrics = _run(f"http://127.0.0.1:{free_port()}/counter")
    assert result.end == "error"
    assert isinstance(result.failure, SSEConnectionError)
    assert isinstance(result.failure.__cause__, ConnectionRefusedError)
    assert metrics.histograms["connect"].count == 0


def test_small_events_are_not_held_back(reference_server_url: str) -> None:
    """Locust's iter_lines trap: 1 KiB reads hold a ~90-byte event until the block fills."""
    result, metrics = _run(reference_server_url + "/counter?count=3&interval_ms=400", max_events=3)
    assert result.events == 3 and result.bytes < 400
    assert metrics.histograms["latency"].summary()["max"] < 50
    gaps = metrics.histograms["gap"].summary()
    assert 380 < gaps["p50"] < 450


def test_slow_first_byte_shifts_ttfe_not_latency(reference_server_url: str) -> None:
    url = reference_server_url + "/counter?count=3&interval_ms=5"
    _, clean = _run(url, max_events=3)
    _, slow = _run(url + "&fault=slow_first_byte", max_events=3)  # held 0.3 s (FAST_SETTINGS)
    assert clean.histograms["ttfe"].summary()["max"] < 150
    assert slow.histograms["ttfe"].summary()["max"] >= 300
    assert slow.histograms["connect"].summary()["max"] >= 300
    assert slow.histograms["latency"].summary()["max"] < 50


def test_reconnects_resume_exactly_after_the_last_id(serve_reference: Callable[..., str]) -> None:
    base = serve_reference(max_events=4)  # every stream is closed after 4 events
    result, metrics = _run(
        base + "/counter?count=12&interval_ms=2&retry_ms=10", max_events=12, reconnect=True
    )
    assert (result.end, result.events, result.reconnects) == ("bound", 12, 2)
    assert _integrity(metrics) == (0, 0, 0)
    assert (metrics.counters["resume_exact"], metrics.counters["resume_inexact"]) == (2, 0)


@contextmanager
def _redirector(location: str) -> Iterator[tuple[str, list[str | None]]]:
    """A loopback server that answers every GET with 307 to ``location``; it records the
    Last-Event-ID of each request it saw."""
    seen: list[str | None] = []

    class Redirect(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.headers.get("Last-Event-ID"))
            self.send_response(307)
            self.send_header("Location", location)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Redirect)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/start", seen
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_redirects_are_followed_and_reconnects_start_at_the_original_url(
    serve_reference: Callable[..., str],
) -> None:
    base = serve_reference(max_events=4)  # every stream is closed after 4 events
    with _redirector(base + "/counter?count=8&interval_ms=2&retry_ms=10") as (url, seen):
        result, metrics = _run(url, max_events=8, reconnect=True)
    assert (result.end, result.events, result.reconnects) == ("bound", 8, 1)
    assert seen == [None, "3"]  # C-R5: the reconnect went to the original URL, with its id
    assert metrics.counters["resume_exact"] == 1 and _integrity(metrics) == (0, 0, 0)
    assert metrics.histograms["connect"].count == 2  # one per connection, redirects inside


def test_a_refused_connection_is_retried_up_to_max_reconnects() -> None:
    result, metrics = _run(
        f"http://127.0.0.1:{free_port()}/counter",
        reconnect=True,
        reconnect_delay_s=0.001,
        max_reconnects=2,
    )
    assert (result.end, result.reconnects) == ("error", 2)
    assert isinstance(result.failure, SSEReconnectLimitError)
    assert isinstance(result.failure.__cause__, ConnectionRefusedError)
    assert metrics.counters["reconnects"] == 2


def test_204_after_the_last_id_ends_a_resumed_stream_exactly(reference_server_url: str) -> None:
    result, metrics = _run(
        reference_server_url + "/counter?count=4&interval_ms=2&retry_ms=10", reconnect=True
    )
    assert (result.end, result.events, result.reconnects) == ("done", 4, 1)
    assert metrics.counters["resume_exact"] == 1


def test_an_ignored_last_event_id_is_an_inexact_resume(serve_reference: Callable[..., str]) -> None:
    base = serve_reference(max_events=4)
    result, metrics = _run(
        base + "/counter?count=12&interval_ms=2&retry_ms=10&fault=ignore_last_event_id",
        max_events=8,
        reconnect=True,
    )
    assert (result.events, result.reconnects) == (8, 1)
    assert metrics.counters["resume_inexact"] == 1
    assert metrics.counters["duplicated"] == 4  # ids 0..3 again


def test_chat_stream_tokens_ttft_and_pace(reference_server_url: str) -> None:
    metrics = Metrics()
    spec = StreamSpec(
        reference_server_url + "/v1/chat/completions?tokens_per_s=20",
        method="POST",
        body=b'{"stream": true, "max_tokens": 6, "messages": [{"role": "user", "content": "a b"}]}',
        done_data="[DONE]",
        track_ids=False,
        stamps=chat_stamper(20),
        max_seconds=10,
    )
    meter = TokenMeter(metrics, time.perf_counter())
    result = run_stream(spec, metrics, observer=meter)
    assert (result.end, result.events) == ("done", 9)  # role, 6 tokens, finish, [DONE]
    assert metrics.counters["tokens"] == 6
    assert metrics.histograms["ttft"].count == 1
    assert metrics.histograms["itl"].count == 5
    # 50 ms a token: the server never sends early; a busy machine may only make it later
    assert 45 < metrics.histograms["tpot"].summary()["p50"] < 500
    assert metrics.histograms["lateness"].count == 6


def test_a_chat_stream_without_done_is_truncated(reference_server_url: str) -> None:
    result, _ = _run(reference_server_url + "/counter?count=2&interval_ms=2", done_data="[DONE]")
    assert result.end == "truncated"
    assert (
        result.error == "the server ended the stream after 2 events without the done event '[DONE]'"
    )


def test_calibration_measures_a_small_known_latency() -> None:
    histogram = Calibration(interval_s=0.005).measure(0.5)
    assert 10 <= histogram.count <= 101  # bounded by the run's length; fewer on a busy machine
    # Latency, not the 5 ms cadence and not a clock mix-up (which would read seconds or years).
    assert histogram.summary()["p99"] < 500


@contextmanager
def _emitting(interval_s: float, count: int = 10**9) -> Iterator[str]:
    emitter = Emitter(interval_s=interval_s, count=count)
    try:
        yield emitter.start()
    finally:
        emitter.stop()


def test_silence_longer_than_the_timeout_fails_the_stream() -> None:
    # The first event comes at once, the second a minute later: the stream goes silent.
    with _emitting(60.0) as url:
        started = time.perf_counter()
        result, _ = _run(url, timeout_s=0.3)
    assert (result.end, result.events) == ("error", 1)
    assert result.error is not None and "no bytes for 0.3 s" in result.error
    assert 0.3 <= time.perf_counter() - started < 5


def test_a_steady_stream_outlives_its_silence_timeout_and_ends_at_its_time_bound() -> None:
    # Events every 50 ms: the 0.2 s silence timer must be re-armed, never fire, and the
    # 1 s bound end the stream as a bound, not an error.
    with _emitting(0.05) as url:
        result, _ = _run(url, timeout_s=0.2, max_seconds=1.0)
    assert result.end == "bound", result.error
    assert 1.0 <= result.duration_s < 5
    assert result.events >= 3


class FirstEvent:
    """An observer that says when its stream's first event arrived."""

    def __init__(self) -> None:
        self.seen = gevent.event.Event()

    def on_event(self, event: Event, at: float) -> None:
        self.seen.set()

    def on_end(self) -> None:
        pass


def _let_the_loop_run(seconds: float) -> None:
    """Give the event loop ``seconds`` (a source keeps writing; a stream that reads would
    record it), waiting on the loop's own timer."""
    passed = gevent.event.Event()
    gevent.get_hub().loop.timer(seconds).start(passed.set)
    assert passed.wait(5)


def test_a_killed_stream_is_recorded_as_stopped_and_stops_reading() -> None:
    metrics = Metrics()
    first = FirstEvent()
    with _emitting(0.01) as url:
        spec = StreamSpec(url, max_seconds=10.0, timeout_s=5.0)
        reader = gevent.spawn(run_stream, spec, metrics, observer=first)
        assert first.seen.wait(5)
        reader.kill()
        events = metrics.counters["events"]
        assert metrics.counters["ended_stopped"] == 1 and events >= 1
        # The emitter keeps writing, but nothing reads the socket any more.
        _let_the_loop_run(0.1)
    assert metrics.counters["events"] == events


_ENDINGS: dict[str, tuple[str | None, dict[str, Any]]] = {
    "bound": ("/counter?count=5&interval_ms=1", {"max_events": 3}),
    "eof": ("/counter?count=3&interval_ms=1", {}),
    "truncated": ("/counter?count=5&interval_ms=1&fault=status_500_midstream", {"max_events": 5}),
    "status error": ("/counter?fault=status_500", {}),
    "silence": ("/counter?count=2&interval_ms=5000", {"timeout_s": 0.05}),
    "refused": (None, {}),
    "refused, reconnecting": (None, {"reconnect": True, "reconnect_delay_s": 0.001}),
}


@pytest.fixture(scope="module")
def server_process() -> Iterator[str]:
    """A reference server in its own process: one in a thread here makes garbage of its own."""
    with serve_subprocess(["--no-access-log", "--log-level", "warning"]) as server:
        yield server.url


@pytest.mark.parametrize("ending", list(_ENDINGS))
def test_no_ending_leaves_a_reference_cycle(server_process: str, ending: str) -> None:
    """What a stream leaves is freed by reference counting alone: the Locust plugin keeps the
    collector's full passes out of a run (harness.load.plugin), so a cycle would stay until the
    run ends. An error kept with its traceback was one (frames -> reader -> result -> error)."""
    path, options = _ENDINGS[ending]
    url = server_process + path if path else f"http://127.0.0.1:{free_port()}/counter"
    spec = StreamSpec(url, **{"max_seconds": 10.0, "timeout_s": 5.0, **options})
    metrics = Metrics()  # one per process, as in a load run (an HDR histogram is a cycle)
    run_stream(spec, metrics)  # first-use caches (imports, the resolver) are not garbage
    gc.collect()
    gc.disable()
    try:
        for _ in range(3):
            run_stream(spec, metrics)
        found = gc.collect()
    finally:
        gc.enable()
    assert found == 0


def test_halted_streams_read_nothing_more_until_resumed() -> None:
    """When a test begins to stop, streams stop reading at once (harness.load.plugin): events
    read while Locust stops thousands of users would carry that stall as their latency."""
    metrics = Metrics()
    first = FirstEvent()
    with _emitting(0.01) as url:
        spec = StreamSpec(url, max_seconds=10.0, timeout_s=0.2)
        reader = gevent.spawn(run_stream, spec, metrics, observer=first)
        try:
            assert first.seen.wait(5)
            halt_reading()
            events = metrics.counters["events"]
            late = gevent.spawn(run_stream, spec, metrics)  # connects, then reads nothing
            _let_the_loop_run(0.5)  # past the silence timeout too
            assert metrics.counters["events"] == events
            assert not reader.dead and not late.dead  # waiting to be stopped, not timed out
            gevent.killall([reader, late])
        finally:
            resume_reading()
        assert metrics.counters["ended_stopped"] == 2 and metrics.counters["errors"] == 0
        result, _ = _run(url, max_events=3)  # resumed: a new stream reads again
    assert (result.end, result.events) == ("bound", 3)
