"""Fuzz every route of the reference server, first from its own OpenAPI schema, then beyond it:
no answer is a 5xx (unless the request chose the ``status_500`` fault), every answer's headers
come in time, and the client reads the very status the server sent (no reset instead).

Schema values (types, bounds, patterns, enums such as the fault names) are mixed with junk of
every JSON type, so both the accepted and the refused paths are exercised. Beyond the schema,
every route gets every method, media types real and broken, bodies in encodings JSON forbids,
odd header values, and bodies that lie about their length. Requests go over real sockets to a
real uvicorn; a streaming answer is dropped after its headers, which also exercises the
disconnect path of every producer.
"""

from __future__ import annotations

import base64
import http.client
import json
import logging
import socket
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from harness.request_guard import BODY_TIMEOUT_S, DRAIN_BYTES
from reference_server.app import create_app
from reference_server.faults import FAULTS, InjectedAbort
from reference_server.settings import Settings
from reference_server.streaming import FAULT_HEADER

pytestmark = pytest.mark.timeout(120)

SCHEMA = create_app().openapi()
DEFS: dict[str, Any] = SCHEMA["components"]["schemas"]
OPERATIONS = [
    (method.upper(), path, operation)
    for path, item in SCHEMA["paths"].items()
    for method, operation in item.items()
]
#: Faults whose whole point is a 5xx answer.
DELIBERATE_5XX = {"status_500"}

JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False),
    st.text(max_size=40),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
)


def as_text(item: Any) -> str:
    return item if isinstance(item, str) else json.dumps(item)


def header_safe(item: Any) -> str:
    """What a header value can carry: visible ASCII, space, and latin-1 obs-text."""
    return "".join(c for c in as_text(item) if " " <= c <= "~" or "\xa0" <= c <= "\xff")


def valid(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Values of the JSON Schema subset FastAPI emits, within the schema's bounds."""
    if "$ref" in schema:
        return valid(DEFS[schema["$ref"].rsplit("/", 1)[1]])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    if "anyOf" in schema:
        return st.one_of([valid(s) for s in schema["anyOf"]])
    kind = schema.get("type")
    if kind == "string":
        if schema.get("format") == "base64":
            return st.binary(max_size=30).map(lambda b: base64.b64encode(b).decode())
        if "pattern" in schema:
            return st.from_regex(schema["pattern"], fullmatch=True).filter(lambda s: len(s) < 80)
        low, high = schema.get("minLength", 0), min(schema.get("maxLength", 40), 40)
        return st.text(min_size=low, max_size=max(low, high))
    if kind == "integer":
        return st.integers(schema.get("minimum"), schema.get("maximum"))
    if kind == "number":
        low = schema.get("minimum", schema.get("exclusiveMinimum"))
        return st.floats(low, schema.get("maximum"), allow_nan=False, allow_infinity=False)
    if kind == "boolean":
        return st.booleans()
    if kind == "null":
        return st.none()
    if kind == "array":
        low = schema.get("minItems", 0)
        items = valid(schema.get("items", {}))
        return st.lists(items, min_size=low, max_size=max(low, min(schema.get("maxItems", 4), 4)))
    if kind == "object" and "properties" in schema:
        required = set(schema.get("required", ()))
        props = schema["properties"]
        return st.fixed_dictionaries(
            {k: valid(v) for k, v in props.items() if k in required},
            optional={k: valid(v) for k, v in props.items() if k not in required},
        )
    return JUNK


def value(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Mostly valid (so requests get past validation), sometimes junk."""
    good = valid(schema)
    return st.one_of(good, good, good, JUNK)


@st.composite
def requests(draw: st.DrawFn, operation: dict[str, Any], path: str) -> dict[str, Any]:
    query: dict[str, str] = {}
    headers: dict[str, str] = {}
    for param in operation.get("parameters", []):
        name, where = param["name"], param["in"]
        if where == "path":
            path = path.replace(
                "{" + name + "}", quote(as_text(draw(value(param["schema"]))), safe="")
            )
        elif draw(st.booleans()) or param.get("required"):
            drawn = draw(value(param["schema"]))
            if drawn is None and not param.get("required"):
                continue  # an optional parameter's null: leave it out
            if where == "query":
                query[name] = as_text(drawn)
            elif where == "header":
                headers[name] = header_safe(drawn)
    body: bytes | None = None
    if "requestBody" in operation:
        schema = operation["requestBody"]["content"]["application/json"]["schema"]
        as_json = value(schema).map(lambda v: json.dumps(v).encode())
        body = draw(st.one_of(as_json, as_json, st.binary(max_size=60)))
        headers["Content-Type"] = "application/json"
    return {
        "target": path + ("?" + urlencode(query) if query else ""),
        "headers": headers,
        "body": body,
        "query_fault": query.get("fault"),
    }


def chosen_fault(query_fault: str | None, headers: dict[str, str]) -> str | None:
    """The fault a request asks for: the query wins over the header."""
    return query_fault if query_fault is not None else headers.get(FAULT_HEADER)


@pytest.mark.parametrize(
    ("method", "path", "operation"), OPERATIONS, ids=[f"{m} {p}" for m, p, _ in OPERATIONS]
)
def test_no_route_answers_5xx(
    reference_server_url: str, method: str, path: str, operation: dict[str, Any]
) -> None:
    address = urlsplit(reference_server_url)

    @settings(
        max_examples=60,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    @given(request=requests(operation, path))
    def check(request: dict[str, Any]) -> None:
        connection = http.client.HTTPConnection(address.hostname, address.port, timeout=5)
        try:
            connection.request(method, request["target"], request["body"], request["headers"])
            status = connection.getresponse().status  # headers in time, or a timeout error
        finally:
            connection.close()
        deliberate = chosen_fault(request["query_fault"], request["headers"]) in DELIBERATE_5XX
        assert status < 500 or deliberate, (status, request)

    check()


POSTS = [path for method, path, _ in OPERATIONS if method == "POST"]
BIG = b'{"pad": "' + b"x" * (64 * 1024) + b'"}'


@pytest.mark.parametrize("path", POSTS)
@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_every_body_over_64_kib_gets_413(
    reference_server_url: str, path: str, chunked: bool
) -> None:
    address = urlsplit(reference_server_url)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=5)
    target = path.replace("{channel}", "big")
    try:
        body = iter([BIG[:1000], BIG[1000:]]) if chunked else BIG
        headers = {"Content-Type": "application/json"}
        connection.request("POST", target, body, headers, encode_chunked=chunked)
        assert connection.getresponse().status == 413
    finally:
        connection.close()


@pytest.mark.parametrize("literal", [b"Infinity", b"-Infinity", b"NaN", b"1e999"])
def test_non_finite_numbers_get_422_not_500(reference_server_url: str, literal: bytes) -> None:
    # Python's JSON parser accepts these; FastAPI's own 422 handler would then fail to render.
    address = urlsplit(reference_server_url)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=5)
    body = b'{"steps": [{"delay_ms": ' + literal + b"}]}"
    try:
        connection.request("POST", "/_script", body, {"Content-Type": "application/json"})
        response = connection.getresponse()
        assert response.status == 422
        json.loads(response.read(), parse_constant=pytest.fail)  # strict JSON: no Infinity
    finally:
        connection.close()


# -- beyond the schema ----------------------------------------------------------------------------

LIMIT = Settings().max_body_bytes
METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"]
PATHS = sorted({path for _, path, _ in OPERATIONS})
#: (method, path) pairs whose handler reads the body: only they can wait for it.
READS_BODY = {
    (method, path) for method, path, operation in OPERATIONS if "requestBody" in operation
}
ANSWER_S = 5.0

CONTENT_TYPES = [
    *[None, "application/json", "application/json; charset=utf-8", "application/problem+json"],
    *['application/json; charset="latin-1"', "application/json;charset=UTF-16", "text/plain"],
    *["text/plain; charset=utf-16", "text/event-stream", "application/x-www-form-urlencoded"],
    *["multipart/form-data; boundary=b0", "multipart/form-data", "", "application/", "/json"],
    *[";;;", "application/json; charset", "t\xebxt/plain; charset=\xff", "*/*"],
]
ENCODINGS = ["utf-8", "utf-8-sig", "utf-16", "utf-16-be", "utf-32", "latin-1", "cp1252"]
RAW_BODIES = [
    *[b"\xff\xfe{}", b"\x80", b"\xc0\xaf", b"\xed\xa0\x80", b"\xf4\x90\x80\x80"],  # not UTF-8
    *[b'{"message": "\\ud800"}', b'{"steps": "\\udfff"}', b'{"\\ud800": 1}', b'{"data": NaN}'],
    *[
        b"message=caf%E9&x=%ff",
        b'--b0\r\nContent-Disposition: form-data; name="m"\r\n\r\n\xff\r\n--b0--',
    ],
]
#: Faults whose point is to leave the client without an answer (a dropped connection, a HEAD
#: held until its stream ends): their own tests cover them.
UNANSWERED = {name for name, fault in FAULTS.items() if {"capacity", "head"} & set(fault.layers)}
#: What a header value may hold (visible ASCII, inner spaces, obs-text), edges trimmed as the
#: server trims them, so the fault the server sees is the one ``chosen_fault`` reads.
HEADER_TEXT = st.text(
    st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"), max_size=300
).map(lambda text: text.strip(" "))
ODD_HEADERS = {
    "Last-Event-ID": st.one_of(
        st.sampled_from(["-1", "0", "1e3", "18446744073709551616", "abc", "\xe9", "9" * 300]),
        HEADER_TEXT,
    ),
    "Accept": st.one_of(
        st.sampled_from(["text/event-stream", "*/*", "text/event-stream;q=0", "text/html"]),
        HEADER_TEXT,
    ),
    FAULT_HEADER: st.one_of(
        st.sampled_from([*sorted(set(FAULTS) - UNANSWERED), "STATUS_500", "status_5000"]),
        HEADER_TEXT,
    ),
    # With keep-alive off, uvicorn closes right after the answer: an unread body then resets.
    "Connection": st.sampled_from(["close", "keep-alive"]),
}
#: How the body goes on the wire (by Content-Length or chunked): not at all, whole, over the
#: size limit, or cut short, after which the client half-closes.
FRAMINGS = ["none", "whole", "oversized", "truncated"]


def bodies(schema_body: bytes | None) -> st.SearchStrategy[bytes]:
    """Bodies in every encoding: the schema's own (as sent and re-encoded), text, known traps."""
    texts = st.text(max_size=60)
    if schema_body is not None:
        texts = st.one_of(st.just(schema_body.decode("utf-8", "replace")), texts)
    encoded = st.builds(
        lambda text, codec: text.encode(codec, "replace"), texts, st.sampled_from(ENCODINGS)
    )
    sent = [st.just(schema_body)] if schema_body is not None else []
    return st.one_of(*sent, encoded, st.sampled_from(RAW_BODIES), st.binary(max_size=100))


def chunks(body: bytes, *, last: bool) -> list[bytes]:
    """``body`` in chunked transfer coding, in two chunks; ``last`` adds the terminator."""
    parts = [body[: len(body) // 2], body[len(body) // 2 :]]
    coded = [b"%x\r\n%s\r\n" % (len(part), part) for part in parts if part]
    return [*coded, b"0\r\n\r\n"] if last else coded


@st.composite
def wild_requests(draw: st.DrawFn, path: str) -> dict[str, Any]:
    """A request to ``path`` built from one of its schema requests, then taken off the map."""
    own_method, _, operation = draw(st.sampled_from([o for o in OPERATIONS if o[1] == path]))
    base = draw(requests(operation, path))
    method = draw(st.one_of(st.just(own_method), st.sampled_from(METHODS)))
    headers: dict[str, str] = {k: v for k, v in base["headers"].items() if k != "Content-Type"}
    content_type = draw(st.sampled_from(CONTENT_TYPES))
    if content_type is not None:
        headers["Content-Type"] = content_type
    for name, values in ODD_HEADERS.items():
        if draw(st.booleans()):
            headers[name] = draw(values)
    fault = chosen_fault(base["query_fault"], headers)
    assume(fault not in UNANSWERED)
    body = draw(bodies(base["body"]))
    framing = draw(st.sampled_from(FRAMINGS))
    chunked = framing != "none" and draw(st.booleans())
    if framing == "oversized":
        # At most what the server drains: beyond it, a reset is the bound working, not a bug.
        body = body.ljust(LIMIT + draw(st.integers(1, min(3 * LIMIT, DRAIN_BYTES - LIMIT))), b" ")
    parts: list[bytes] = []
    if chunked:
        headers["Transfer-Encoding"] = "chunked"
        parts = chunks(body, last=framing != "truncated")
    elif framing != "none":
        promised = len(body) + (draw(st.integers(1, LIMIT)) if framing == "truncated" else 0)
        headers["Content-Length"] = str(promised)
        parts = [body]
    head = f"{method} {base['target']} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    head += "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    return {
        "method": method,
        "parts": [(head + "\r\n").encode("latin-1"), *parts],
        "half_close": framing == "truncated",
        "framing": framing,
        "chunked": chunked,
        "deliberate_5xx": fault in DELIBERATE_5XX,
    }


def converse(
    address: tuple[str, int], parts: list[bytes], *, half_close: bool, timeout_s: float = ANSWER_S
) -> tuple[int | None, int]:
    """Send ``parts`` (then half-close if asked), read the response head: (status, or None if the
    server closed without one; the client's port). A reset or a timeout raises."""
    with socket.create_connection(address, timeout=timeout_s) as sock:
        port: int = sock.getsockname()[1]
        for part in parts:
            sock.sendall(part)
        if half_close:
            sock.shutdown(socket.SHUT_WR)
        head = b""
        while b"\r\n\r\n" not in head and len(head) < 65536:
            chunk = sock.recv(65536)
            if not chunk:
                break
            head += chunk
        return (int(head.split(b" ", 2)[1]) if head else None), port


def served(caplog: pytest.LogCaptureFixture, port: int) -> int | None:
    """The status uvicorn logged for the connection from ``port``, if it sent one."""
    logged = [
        record.args[-1]
        for record in caplog.records
        if record.name == "uvicorn.access"
        and isinstance(record.args, tuple)
        and record.args[0] == f"127.0.0.1:{port}"
    ]
    return int(logged[-1]) if logged else None


def server_errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    """Exceptions the server logged, but for the one a fault raises on purpose."""
    return [
        record.getMessage()
        for record in caplog.records
        if record.levelno >= logging.ERROR
        and record.name.startswith("uvicorn")
        and not _deliberate(record.exc_info[1] if record.exc_info else None)
    ]


def _deliberate(error: BaseException | None) -> bool:
    if isinstance(error, BaseExceptionGroup):
        return error.subgroup(InjectedAbort) is not None
    return isinstance(error, InjectedAbort)


def loopback(url: str) -> tuple[str, int]:
    address = urlsplit(url)
    assert address.hostname is not None and address.port is not None
    return address.hostname, address.port


@pytest.mark.parametrize("path", PATHS)
def test_every_route_answers_what_no_schema_allows_with_a_4xx_the_client_reads(
    reference_server_url: str, caplog: pytest.LogCaptureFixture, path: str
) -> None:
    caplog.set_level(logging.INFO, logger="uvicorn.access")
    address = loopback(reference_server_url)

    @settings(
        max_examples=25,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    @given(request=wild_requests(path))
    def check(request: dict[str, Any]) -> None:
        status, port = converse(address, request["parts"], half_close=request["half_close"])
        if status is None:
            # Only a client that gave up on its own body may go without an answer: uvicorn
            # takes the half-close for a disconnect, even after it logged a status.
            assert request["half_close"], f"no answer; the server logged {served(caplog, port)}"
        else:
            assert status == served(caplog, port), "the client read another status than sent"
            assert status < 500 or request["deliberate_5xx"]
        if request["framing"] == "oversized":
            # A chunked body is only measured by a handler that reads it (404: no handler).
            reads = (request["method"], path) in READS_BODY and status != 404
            assert status == 413 or (request["chunked"] and not reads)

    check()
    assert not server_errors(caplog)


def test_a_body_that_stops_arriving_gets_an_answer_in_time(
    reference_server_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Every method on every route, each promising 100 bytes, sending 10 and waiting, at once."""
    caplog.set_level(logging.INFO, logger="uvicorn.access")
    address = loopback(reference_server_url)
    cases = [(method, path) for path in PATHS for method in METHODS]

    def stall(case: tuple[str, str]) -> tuple[int | None, int]:
        method, path = case
        target = path.replace("{channel}", "stall").replace("{stream_id}", "1")
        head = f"{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        head += "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n"
        parts = [head.encode(), b'{"message"']
        return converse(address, parts, half_close=False, timeout_s=BODY_TIMEOUT_S + ANSWER_S)

    with ThreadPoolExecutor(len(cases)) as pool:
        answers = list(pool.map(stall, cases))
    for case, (status, port) in zip(cases, answers, strict=True):
        assert status == served(caplog, port), case
        assert status is not None and status < 500, (case, status)
        assert (status == 408) == (case in READS_BODY), (case, status)
