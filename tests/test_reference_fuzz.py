"""Fuzz every route of the reference server from its own OpenAPI schema: no answer is a 5xx
(unless the request chose the ``status_500`` fault) and every answer's headers come in time.

Values come from the schema (types, bounds, patterns, enums such as the fault names) mixed with
junk of every JSON type, so both the accepted and the refused paths are exercised. Requests go
over a real socket (http.client) to a real uvicorn; a streaming answer is dropped after its
headers, which also exercises the disconnect path of every producer.
"""

from __future__ import annotations

import base64
import http.client
import json
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reference_server.app import create_app
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
    chosen = query["fault"] if "fault" in query else headers.get(FAULT_HEADER)
    return {
        "target": path + ("?" + urlencode(query) if query else ""),
        "headers": headers,
        "body": body,
        "may_5xx": chosen in DELIBERATE_5XX,
    }


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
        assert status < 500 or request["may_5xx"], (status, request)

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
