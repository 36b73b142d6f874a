"""harness.connection.SourceMachine driven directly, no sockets, no clock (SPEC.md C-R*, C-H*).

The property test plays whole source histories against the machine (responses with any status
and content type, redirect chains, bodies in any chunking with ids, resets and retry values valid
and not, network errors, eofs, deadlines, user closes) and checks every decision against a small
model written here from the rules, not from the machine. The example tests pin each rule id.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from urllib.parse import urljoin

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.connection import (
    DEFAULT_RETRY_MS,
    Fail,
    Finished,
    Open,
    Reconnect,
    Request,
    SourceMachine,
    SSEConnectionError,
    SSEContentTypeError,
    SSEError,
    SSELimitError,
    SSEReconnectLimitError,
    SSEStatusError,
    SSETimeoutError,
)
from harness.stream import Event

URL = "http://127.0.0.1:8000/events?topic=a"
OTHER = "http://127.0.0.1:8001/elsewhere"
STREAM = "text/event-stream"


def header(request: Request, name: str) -> str | None:
    """The value of ``name`` (case-insensitive); a header sent twice fails the test."""
    values = [v for n, v in request.headers if n.lower() == name.lower()]
    assert len(values) <= 1, request.headers
    return values[0] if values else None


def opened(machine: SourceMachine, content_type: str = STREAM) -> Request:
    request = machine.connect()
    assert isinstance(machine.response(200, content_type), Open)
    return request


# -- the model -------------------------------------------------------------------------------------

# (Content-Type, whether its essence is text/event-stream: C-H4 ignores parameters and case)
CONTENT_TYPES = [
    (STREAM, True),
    ("text/event-stream; charset=utf-8", True),
    ("Text/Event-Stream;", True),
    (" text/event-stream ;charset=windows-1252", True),
    ("text/plain", False),
    ("application/json", False),
    ("text/event-streams", False),
    ("text/event", False),
    (None, False),
]
EOLS = ["\n", "\r\n", "\r"]
VALID_RETRY = st.from_regex(r"[0-9]{1,7}", fullmatch=True)
INVALID_RETRY = st.sampled_from(["", " 5", "5 ", "+3", "-2", "1_000", "3.0", "\u0665", "7ms"])
IDS = st.text(st.sampled_from("ab7 é:\x00\x01"), max_size=4)
SEEDS = st.text(st.sampled_from("ab7 é:\x01"), max_size=4)  # a seed is an id already committed


@dataclass
class Block:
    """The lines of one block: id, retry, data, in this order, each optional."""

    id: str | None
    retry: str | None
    data: str | None

    def lines(self) -> list[str]:
        return [
            f"{name}: {value}"
            for name, value in (("id", self.id), ("retry", self.retry), ("data", self.data))
            if value is not None
        ]


blocks = st.builds(
    Block,
    id=st.none() | IDS,
    retry=st.none() | VALID_RETRY | INVALID_RETRY,
    data=st.none() | st.text(st.sampled_from("xy é☃:"), max_size=5),
)


@dataclass
class Body:
    """Complete blocks, then possibly an unfinished one (cut before its blank line, C-P7)."""

    blocks: list[Block]
    tail: Block | None
    tail_eol: bool  # whether the tail's last line is complete
    eol: str
    cuts: list[int] = field(default_factory=list)

    def encode(self) -> bytes:
        eol = self.eol
        text = "".join(eol.join(b.lines()) + eol * (2 if b.lines() else 1) for b in self.blocks)
        if self.tail is not None and self.tail.lines():
            text += eol.join(self.tail.lines()) + (eol if self.tail_eol else "")
        return text.encode("utf-8")

    def chunks(self) -> list[bytes]:
        data = self.encode()
        points = sorted({min(c, len(data)) for c in self.cuts})
        return [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]

    def apply(self, last_id: str, retry_ms: int) -> tuple[str, int]:
        """(committed last event ID, reconnection time) after this body: the reference model.

        An id is committed by the blank line that ends its block (C-D1), unless it holds NUL
        (C-P10); an unfinished block commits nothing (C-P7). A retry of ASCII digits takes
        effect as soon as its line is complete (C-P11), even inside an unfinished block.
        """
        for block in self.blocks:
            retry_ms = _retry(block.retry, retry_ms)
            if block.id is not None and "\x00" not in block.id:
                last_id = block.id
        if self.tail is not None:
            lines = self.tail.lines()
            complete = lines if self.tail_eol else lines[:-1]
            if self.tail.retry is not None and f"retry: {self.tail.retry}" in complete:
                retry_ms = _retry(self.tail.retry, retry_ms)
        return last_id, retry_ms


def _retry(value: str | None, retry_ms: int) -> int:
    if value and all("0" <= c <= "9" for c in value):
        return int(value)
    return retry_ms


bodies = st.builds(
    Body,
    blocks=st.lists(blocks, max_size=4),
    tail=st.none() | blocks,
    tail_eol=st.booleans(),
    eol=st.sampled_from(EOLS),
    cuts=st.lists(st.integers(0, 200), max_size=6),
)
REDIRECT_TARGETS = ["/moved", "moved/again?x=2", OTHER, "//127.0.0.1:8002/s"] * 2 + ["ftp://h/x"]
INF = st.just(math.inf)
REMAINING = st.one_of(*[INF] * 8, st.just(0.0), st.floats(0.0, 8.0))  # to the deadline
STREAM_TYPES = [pair for pair in CONTENT_TYPES if pair[1]]


@settings(max_examples=500, deadline=None)
@given(
    data=st.data(),
    reconnect=st.sampled_from([True, True, False]),
    max_reconnects=st.sampled_from([4, 3, 2, 1, 0]),
    max_redirects=st.sampled_from([2, 2, 1, 0]),
    default_retry_ms=st.integers(0, 5000),
    seed=SEEDS,
)
def test_any_history_keeps_the_invariants(
    data: st.DataObject,
    reconnect: bool,
    max_reconnects: int,
    max_redirects: int,
    default_retry_ms: int,
    seed: str,
) -> None:
    machine = SourceMachine(
        URL,
        reconnect=reconnect,
        max_reconnects=max_reconnects,
        max_redirects=max_redirects,
        default_retry_ms=default_retry_ms,
        last_event_id=seed,
    )
    last_id, retry_ms = seed, default_retry_ms  # what the model says the machine must carry
    for connection in range(8):
        request = machine.connect()
        # C-R1, C-R5: every connection starts at the source's own URL, with the source's request
        assert (request.method, request.url, request.body, request.redirects) == (
            "GET",
            URL,
            None,
            0,
        )
        assert (
            header(request, "Accept") == STREAM and header(request, "Cache-Control") == "no-cache"
        )
        assert header(request, "Last-Event-ID") == (last_id or None)  # C-R4: iff non-empty
        assert machine.reconnects == connection <= max_reconnects

        outcome: Reconnect | Fail | Finished
        remaining = data.draw(REMAINING, label="remaining_s")
        if data.draw(st.sampled_from([False] * 7 + [True]), label="refused"):  # C-H2: no response
            outcome = machine.network_error(ConnectionRefusedError(), remaining)
            expected = _expected(reconnect, None, remaining, retry_ms, connection >= max_reconnects)
            _check(outcome, expected, last_id, retry_ms)
            if not isinstance(outcome, Reconnect):
                break
            continue

        # a redirect chain, then the final head
        hops = data.draw(st.sampled_from([0, 0, 0, 1, 2]), label="redirects")
        decision: Request | Open | Fail = request
        futile = False
        for n in range(1, hops + 1):
            location = data.draw(st.sampled_from(REDIRECT_TARGETS), label="location")
            status = data.draw(st.sampled_from([301, 302, 303, 307, 308]), label="redirect")
            target = urljoin(request.url, location)
            decision = machine.response(status, None, location=location)
            futile = n > max_redirects or target.startswith("ftp:")
            if futile:
                assert isinstance(decision, Fail)
                assert isinstance(
                    decision.reason, SSEStatusError if n > max_redirects else SSEConnectionError
                )
                break
            assert isinstance(decision, Request)
            assert (decision.url, decision.redirects) == (target, n)
            assert header(decision, "Last-Event-ID") == (last_id or None)
            request = decision
        if not futile:
            status = data.draw(st.sampled_from([200] * 10 + [204, 201, 500, 404, 301]))
            content_type, is_stream = data.draw(st.sampled_from(STREAM_TYPES * 6 + CONTENT_TYPES))
            decision = machine.response(status, content_type)
            if status != 200:  # C-H3
                assert isinstance(decision, Fail) and isinstance(decision.reason, SSEStatusError)
                assert (decision.reason.status, decision.reason.url) == (status, request.url)
            elif not is_stream:  # C-H4
                assert isinstance(decision, Fail)
                assert isinstance(decision.reason, SSEContentTypeError)
                assert decision.reason.content_type == content_type
            else:  # C-H5
                assert decision == Open(request.url)
        if isinstance(decision, Fail):  # C-H7: never a reconnect, whatever the settings
            assert machine.state == "failed"
            break

        body = data.draw(bodies, label="body")
        for chunk in body.chunks():
            machine.feed(chunk)
        last_id, new_retry_ms = body.apply(last_id, retry_ms)
        assert machine.retry_ms == new_retry_ms  # live, before the connection ends
        retry_ms = new_retry_ms
        ending = data.draw(st.sampled_from(["eof"] * 3 + ["network"] * 3 + ["close"]))
        if ending == "close":  # C-H1
            machine.close()
            assert machine.state == "closed"
            break
        if ending == "eof":  # C-H6
            outcome = machine.eof(remaining)
            error = None
        else:  # C-H2
            error = ConnectionResetError()
            outcome = machine.network_error(error, remaining)
        expected = _expected(reconnect, ending, remaining, retry_ms, connection >= max_reconnects)
        _check(outcome, expected, last_id, retry_ms)
        if not isinstance(outcome, Reconnect):
            break
    if machine.state in ("failed", "closed", "finished"):  # C-H7, C-H1: no request ever again
        with pytest.raises(RuntimeError):
            machine.connect()
        assert machine.reconnects <= max_reconnects


def _expected(
    reconnect: bool, ending: str | None, remaining: float, retry_ms: int, used_up: bool
) -> type[Reconnect | Finished | SSEError]:
    """What a connection's end must lead to, per C-H2, C-H6, C-H8 and the driver's bounds."""
    if ending == "eof" and not reconnect:
        return Finished
    if remaining <= 0:
        return SSETimeoutError
    if not reconnect:
        return SSEConnectionError
    if used_up:  # max_reconnects reconnections already made
        return SSEReconnectLimitError
    if retry_ms / 1000 >= remaining:
        return SSETimeoutError
    return Reconnect


def _check(
    outcome: Reconnect | Fail | Finished,
    expected: type[Reconnect | Finished | SSEError],
    last_id: str,
    retry_ms: int,
) -> None:
    if isinstance(outcome, Fail):
        assert type(outcome.reason) is expected
        return
    assert type(outcome) is expected
    if isinstance(outcome, Reconnect):  # C-H8: the last valid retry (or the default), the last id
        assert outcome == Reconnect(retry_ms / 1000, last_id)


@settings(max_examples=100, deadline=None)
@given(body=bodies, seed=SEEDS)
def test_chunking_never_changes_what_is_carried_over(body: Body, seed: str) -> None:
    """The same body in one piece or in any chunks leaves the same id and retry behind."""
    results = []
    for chunks in ([body.encode()], body.chunks()):
        machine = SourceMachine(URL, last_event_id=seed, default_retry_ms=1)
        opened(machine)
        events: list[Event] = []
        for chunk in chunks:
            events += machine.feed(chunk)
        reconnect = machine.eof()
        assert isinstance(reconnect, Reconnect)
        results.append((events, reconnect))
    assert results[0] == results[1]
    last_id, retry_ms = body.apply(seed, 1)
    assert results[0][1] == Reconnect(retry_ms / 1000, last_id)


# -- C-R: the request ------------------------------------------------------------------------------


def test_c_r1_the_first_request_is_a_get_of_the_url() -> None:
    request = SourceMachine(URL).connect()
    assert request == Request(
        "GET", URL, (("Accept", STREAM), ("Cache-Control", "no-cache")), None, 0
    )


def test_c_r1_method_body_and_headers_are_resent_on_every_reconnect() -> None:
    machine = SourceMachine(
        URL, method="post", body=b'{"q": 1}', headers=[("Authorization", "Bearer t")]
    )
    for _ in range(3):
        request = opened(machine)
        assert (request.method, request.body) == ("POST", b'{"q": 1}')
        assert header(request, "Authorization") == "Bearer t"
        assert isinstance(machine.eof(), Reconnect)


def test_c_r2_c_r3_defaults_yield_to_user_headers_and_last_event_id_is_the_machines() -> None:
    machine = SourceMachine(
        URL,
        headers=[("accept", "text/event-stream, */*"), ("Last-Event-ID", "forged")],
        last_event_id="",
    )
    request = machine.connect()
    assert header(request, "Accept") == "text/event-stream, */*"  # overridden, sent once
    assert header(request, "Cache-Control") == "no-cache"
    assert header(request, "Last-Event-ID") is None


@pytest.mark.parametrize(
    ("seed", "body", "sent"),
    [
        ("", b"data: a\n\n", None),  # nothing to resume from: no header
        ("41", b"data: a\n\n", "41"),  # a seed persists across connections (C-D1)
        ("", b"id: 7\ndata: a\n\n", "7"),
        ("", b"id: 7\n\n", "7"),  # committed by a block that dispatches nothing (C-D2)
        ("5", b"id\ndata: a\n\n", None),  # an id reset sends no header at all
        ("", b"id: 7\ndata: a\n\nid: 8\ndata: cut", "7"),  # C-P7: 8 was never committed
        ("", b"id: 7\ndata: a\n\nid: 8\n", "7"),
        ("", b"id: 7\n\nid: 8\x009\ndata: a\n\n", "7"),  # C-P10: an id with NUL is ignored
        ("", "id: é☃\n\n".encode(), "é☃"),
    ],
)
def test_c_r4_last_event_id_is_the_committed_id_and_only_when_non_empty(
    seed: str, body: bytes, sent: str | None
) -> None:
    machine = SourceMachine(URL, last_event_id=seed)
    first = opened(machine)
    assert header(first, "Last-Event-ID") == (seed or None)
    machine.feed(body)
    reconnect = machine.eof()
    assert isinstance(reconnect, Reconnect) and reconnect.last_event_id == (sent or "")
    assert header(machine.connect(), "Last-Event-ID") == sent


def test_c_r5_redirects_are_followed_and_every_reconnect_starts_at_the_original_url() -> None:
    machine = SourceMachine(URL, headers=[("Authorization", "Bearer t")])
    for _ in range(2):
        request = machine.connect()
        assert request.url == URL
        moved = machine.response(307, None, location="/moved?n=1")
        assert isinstance(moved, Request)
        assert (moved.url, moved.redirects) == ("http://127.0.0.1:8000/moved?n=1", 1)
        assert header(moved, "Authorization") == "Bearer t"  # same origin: credentials kept
        assert machine.response(200, STREAM) == Open(moved.url)
        machine.feed(b"retry: 0\nid: 3\ndata: x\n\n")
        assert machine.eof() == Reconnect(0.0, "3")


@pytest.mark.parametrize(
    ("status", "method"), [(301, "GET"), (302, "GET"), (303, "GET"), (307, "POST"), (308, "POST")]
)
def test_c_r5_a_redirect_of_a_post_becomes_a_get_only_where_fetch_says(
    status: int, method: str
) -> None:
    machine = SourceMachine(
        URL, method="POST", body=b"{}", headers=[("Content-Type", "application/json")]
    )
    machine.connect()
    moved = machine.response(status, None, location=OTHER)
    assert isinstance(moved, Request) and moved.method == method
    assert (moved.body, header(moved, "Content-Type")) == (
        (b"{}", "application/json") if method == "POST" else (None, None)
    )


def test_c_r5_a_cross_origin_redirect_drops_credentials() -> None:
    machine = SourceMachine(URL, headers=[("Authorization", "Bearer t"), ("X-Trace", "1")])
    machine.connect()
    moved = machine.response(302, None, location=OTHER)
    assert isinstance(moved, Request)
    assert (header(moved, "Authorization"), header(moved, "X-Trace")) == (None, "1")


def test_c_r5_a_redirect_loop_fails_after_max_redirects_and_never_reconnects() -> None:
    machine = SourceMachine(URL, max_redirects=3)
    machine.connect()
    for n in range(1, 4):
        moved = machine.response(302, None, location="/loop")
        assert isinstance(moved, Request) and moved.redirects == n
    failed = machine.response(302, None, location="/loop")
    assert isinstance(failed, Fail) and isinstance(failed.reason, SSEStatusError)
    assert (failed.reason.status, failed.reason.reason) == (302, "too many redirects")
    with pytest.raises(RuntimeError):
        machine.connect()


@pytest.mark.parametrize("location", ["ftp://127.0.0.1/x", "https://127.0.0.1/x", "data:,x"])
def test_c_r5_a_redirect_the_driver_cannot_fetch_is_futile(location: str) -> None:
    machine = SourceMachine(URL, schemes=("http",))
    machine.connect()
    failed = machine.response(301, None, location=location)
    assert isinstance(failed, Fail) and isinstance(failed.reason, SSEConnectionError)
    assert machine.state == "failed"


def test_c_r5_a_3xx_without_location_is_a_status_failure() -> None:
    machine = SourceMachine(URL)
    machine.connect()
    failed = machine.response(302, STREAM)
    assert isinstance(failed, Fail) and isinstance(failed.reason, SSEStatusError)


# -- C-H: the response -----------------------------------------------------------------------------


@pytest.mark.parametrize("state", ["idle", "connecting", "open", "waiting"])
def test_c_h1_a_user_close_ends_the_source_in_any_state(state: str) -> None:
    machine = SourceMachine(URL, default_retry_ms=0)
    if state != "idle":
        machine.connect()
    if state in ("open", "waiting"):
        assert isinstance(machine.response(200, STREAM), Open)
        machine.feed(b"id: 1\ndata: a\n\n")
    if state == "waiting":
        assert isinstance(machine.eof(), Reconnect)
    assert machine.state == state
    machine.close()
    assert machine.state == "closed"
    with pytest.raises(RuntimeError):
        machine.connect()


def test_c_h1_close_after_a_failure_keeps_the_failure() -> None:
    machine = SourceMachine(URL)
    machine.connect()
    machine.response(500, STREAM)
    machine.close()
    assert machine.state == "failed"


@pytest.mark.parametrize("opened_first", [False, True])
def test_c_h2_a_network_error_reconnects(opened_first: bool) -> None:
    machine = SourceMachine(URL, default_retry_ms=250)
    machine.connect()
    if opened_first:
        machine.response(200, STREAM)
        machine.feed(b"id: 9\ndata: a\n\ndata: cut")
    decision = machine.network_error(ConnectionResetError())
    assert decision == Reconnect(0.25, "9" if opened_first else "")
    assert machine.state == "waiting"


@pytest.mark.parametrize("status", [201, 202, 204, 205, 206, 304, 400, 404, 500, 502, 503])
def test_c_h3_any_status_but_200_fails_and_never_reconnects(status: int) -> None:
    machine = SourceMachine(URL, reconnect=True, max_reconnects=100)
    machine.connect()
    decision = machine.response(status, STREAM, reason="Why")
    assert isinstance(decision, Fail) and isinstance(decision.reason, SSEStatusError)
    assert (decision.reason.status, decision.reason.reason, decision.reason.url) == (
        status,
        "Why",
        URL,
    )
    assert machine.state == "failed"


@pytest.mark.parametrize(("content_type", "is_stream"), CONTENT_TYPES)
def test_c_h4_only_the_event_stream_essence_is_accepted(
    content_type: str | None, is_stream: bool
) -> None:
    machine = SourceMachine(URL)
    machine.connect()
    decision = machine.response(200, content_type)
    if is_stream:
        assert decision == Open(URL)
    else:
        assert isinstance(decision, Fail) and isinstance(decision.reason, SSEContentTypeError)
        assert decision.reason.content_type == content_type


def test_c_h5_open_comes_before_any_body_is_accepted() -> None:
    machine = SourceMachine(URL)
    with pytest.raises(RuntimeError):
        machine.feed(b"data: too early\n\n")
    machine.connect()
    with pytest.raises(RuntimeError):
        machine.feed(b"data: too early\n\n")
    assert machine.response(200, STREAM) == Open(URL)
    assert machine.state == "open"
    assert machine.feed(b"data: a\n\n") == [Event("message", "a", "")]


def test_c_h6_c_h8_eof_reconnects_after_the_servers_retry() -> None:
    machine = SourceMachine(URL, default_retry_ms=3000)
    opened(machine)
    machine.feed(b"retry: 1500\nid: 2\ndata: a\n\nretry: x\n\n")
    assert machine.retry_ms == 1500  # live, and "x" is ignored (C-P11)
    assert machine.eof() == Reconnect(1.5, "2")
    request = machine.connect()
    assert (header(request, "Last-Event-ID"), machine.reconnects) == ("2", 1)
    machine.response(200, STREAM)
    assert machine.eof() == Reconnect(1.5, "2")  # the retry persists across connections


def test_c_h7_after_failing_nothing_more_is_accepted() -> None:
    machine = SourceMachine(URL)
    machine.connect()
    machine.response(200, "text/html")
    for report in (
        machine.connect,
        machine.eof,
        lambda: machine.network_error(OSError()),
        lambda: machine.response(200, STREAM),
        lambda: machine.fail(SSEError("again")),
    ):
        with pytest.raises(RuntimeError):
            report()


def test_c_h9_the_default_reconnection_time_is_a_few_seconds() -> None:
    machine = SourceMachine(URL)
    opened(machine)
    decision = machine.eof()
    assert decision == Reconnect(DEFAULT_RETRY_MS / 1000, "")
    assert 1.0 <= decision.delay_s <= 10.0


# -- bounds and driver reasons ---------------------------------------------------------------------


def test_max_reconnects_bounds_a_server_that_closes_at_once() -> None:
    machine = SourceMachine(URL, max_reconnects=2, default_retry_ms=0)
    for _ in range(2):
        opened(machine)
        assert isinstance(machine.eof(), Reconnect)
    opened(machine)
    failed = machine.eof()
    assert isinstance(failed, Fail) and isinstance(failed.reason, SSEReconnectLimitError)
    assert failed.reason.reconnects == machine.reconnects == 2


def test_without_reconnect_eof_finishes_and_a_network_error_fails_with_its_cause() -> None:
    machine = SourceMachine(URL, reconnect=False)
    opened(machine)
    assert machine.eof() == Finished()
    assert machine.state == "finished"
    machine = SourceMachine(URL, reconnect=False)
    machine.connect()
    cause = ConnectionResetError("reset")
    failed = machine.network_error(cause)
    assert isinstance(failed, Fail) and type(failed.reason) is SSEConnectionError
    assert failed.reason.__cause__ is cause


@pytest.mark.parametrize(
    ("remaining_s", "decision"), [(0.0, "timeout"), (0.5, "timeout"), (0.5001, "reconnect")]
)
def test_the_drivers_deadline_bounds_the_reconnect(remaining_s: float, decision: str) -> None:
    machine = SourceMachine(URL, default_retry_ms=500)
    opened(machine)
    outcome = machine.eof(remaining_s)
    if decision == "reconnect":
        assert outcome == Reconnect(0.5, "")
    else:
        assert isinstance(outcome, Fail) and isinstance(outcome.reason, SSETimeoutError)


def test_a_parser_bound_fails_after_delivering_what_arrived_intact() -> None:
    machine = SourceMachine(URL, max_line=32)
    opened(machine)
    with pytest.raises(SSELimitError) as info:
        machine.feed(b"id: 1\ndata: ok\n\ndata: " + b"x" * 64 + b"\n\n")
    assert info.value.events == [Event("message", "ok", "1")]
    assert info.value.limit == "max_line"
    assert machine.state == "failed"
    with pytest.raises(RuntimeError):
        machine.connect()


def test_a_driver_may_fail_the_source_for_its_own_reason() -> None:
    machine = SourceMachine(URL)
    machine.connect()
    cause = ValueError("unsendable")
    failed = machine.fail(SSEConnectionError("cannot send"), cause)
    assert failed.reason.__cause__ is cause
    assert machine.state == "failed"


@pytest.mark.parametrize(
    ("url", "options"),
    [
        ("ftp://127.0.0.1/x", {}),
        ("http:///no-host", {}),
        ("https://127.0.0.1/x", {"schemes": ("http",)}),
        (URL, {"max_reconnects": -1}),
        (URL, {"default_retry_ms": -1}),
    ],
)
def test_a_source_that_cannot_work_is_refused_up_front(
    url: str, options: dict[str, object]
) -> None:
    with pytest.raises(ValueError):
        SourceMachine(url, **options)  # type: ignore[arg-type]
