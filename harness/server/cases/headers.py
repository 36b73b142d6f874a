"""Status line and response headers of the stream (S-01, S-02, S-03, S-20, S-21, S-22)."""

from __future__ import annotations

from harness.outcome import Level
from harness.server.cases.context import Context
from harness.server.cases.hints import SLOW_ANSWER
from harness.server.cases.model import Finding, Need, case
from harness.server.h2transport import CONNECTION_SPECIFIC
from harness.server.probe import Capture
from harness.stream import EVENT_STREAM

COMPRESSIONS = ("gzip", "x-gzip", "deflate", "br", "zstd", "compress")


def header_excerpt(cap: Capture, *names: str) -> bytes:
    """The named response headers as they would appear on the wire (all of them if none named)."""
    wanted = {n.lower() for n in names}
    lines = [f"{k}: {v}\r\n" for k, v in cap.headers.items() if not wanted or k.lower() in wanted]
    status = f"HTTP/{cap.http_version} {cap.status} {cap.reason}\r\n" if cap.status else ""
    return (status + "".join(lines)).encode("utf-8", "replace")


def no_response(cap: Capture) -> Finding:
    return Finding(
        f"no response: {cap.end}: {cap.error}",
        False,
        next_step=SLOW_ANSWER
        if cap.end == "timeout"
        else "check that the target is running and answers at this URL",
    )


#: What usually turns a refused request into the stream, by status class.
_REFUSED = {
    401: "the app wants credentials: send them with --header 'Authorization: ...'"
    " (pytest: --sse-header)",
    403: "the app refused the credentials or origin: send the headers it needs with --header"
    " (pytest: --sse-header)",
    404: "no route at this URL: check the path (and --method if the stream is a POST)",
    405: "the route does not take this method: pass --method POST and --body if the stream is"
    " a POST (pytest: --sse-method, --sse-body)",
    400: "the app rejected the request: send the query parameters, --body and --header it needs"
    " (pytest: --sse-body, --sse-header)",
    422: "the app rejected the request: send the query parameters, --body and --header it needs"
    " (pytest: --sse-body, --sse-header)",
}


def media_parameters(content_type: str) -> dict[str, str]:
    """Parameters of a media type, names lowercased, quotes removed (RFC 9110 8.3.1)."""
    params = {}
    for part in content_type.split(";")[1:]:
        name, _, value = part.partition("=")
        if name.strip():
            params[name.strip().lower()] = value.strip().strip('"')
    return params


@case(
    "server.status.1",
    "The stream is answered with status 200",
    ["S-01"],
    fix="answer the stream's request with 200 and the stream itself, and send what the app needs"
    " to accept the request (--method, --body, --header; pytest: --sse-method, --sse-body,"
    " --sse-header)",
)
async def status_200(ctx: Context) -> Finding:
    cap = await ctx.stream()
    if cap.status is None:
        return no_response(cap)
    server_error = "the app failed while opening the stream: its log has the exception"
    return Finding(
        f"status {cap.status} {cap.reason}"
        + ("" if cap.status == 200 else ": a conforming client fails the connection"),
        cap.status == 200,
        header_excerpt(cap, "Content-Type"),
        next_step=server_error if cap.status >= 500 else _REFUSED.get(cap.status),
    )


@case(
    "server.headers.1",
    "Content-Type is text/event-stream",
    ["S-02"],
    fix="serve the stream as text/event-stream: sse-starlette's EventSourceResponse(gen()) does,"
    ' or StreamingResponse(gen(), media_type="text/event-stream")',
)
async def content_type(ctx: Context) -> Finding:
    cap = await ctx.stream()
    if cap.status is None:
        return no_response(cap)
    if not cap.content_type:
        return Finding("no Content-Type header: clients fail the connection", False)
    ok = cap.media_type == EVENT_STREAM
    return Finding(
        f"Content-Type essence is {cap.media_type!r}"
        + ("" if ok else ": clients fail the connection"),
        ok,
        header_excerpt(cap, "Content-Type"),
    )


@case(
    "server.headers.2",
    "A charset parameter, if any, is utf-8",
    ["S-03"],
    fix="send Content-Type: text/event-stream (or with charset=utf-8) and encode the body as UTF-8",
)
async def charset(ctx: Context) -> Finding:
    cap = await ctx.stream()
    if cap.status is None:
        return no_response(cap)
    found = media_parameters(cap.content_type).get("charset")
    if found is None:
        return Finding("no charset parameter (the body is UTF-8 by definition)")
    ok = found.lower() == "utf-8"
    return Finding(
        f"charset={found}" + ("" if ok else ": clients ignore it and decode UTF-8 anyway"),
        ok,
        header_excerpt(cap, "Content-Type"),
    )


@case(
    "server.headers.3",
    "Cache-Control forbids caching the stream",
    ["S-20"],
    fix="set the response header Cache-Control: no-cache (sse-starlette sends no-store; with"
    ' StreamingResponse pass headers={"Cache-Control": "no-cache"})',
)
async def cache_control(ctx: Context) -> Finding:
    cap = await ctx.stream()
    if cap.status is None:
        return no_response(cap)
    value = ", ".join(cap.headers.getall("Cache-Control", []))
    directives = {d.strip().split("=")[0].lower() for d in value.split(",")}
    ok = bool(directives & {"no-cache", "no-store"})
    if ok:
        observed = f"Cache-Control: {value}"
    elif value:
        observed = f"Cache-Control: {value}: neither no-cache nor no-store"
    else:
        observed = "no Cache-Control header: a cache or CDN may replay a recording of the stream"
    return Finding(observed, ok, header_excerpt(cap, "Cache-Control"))


@case(
    "server.headers.4",
    "X-Accel-Buffering: no tells proxies not to buffer",
    ["S-21"],
    fix="set the response header X-Accel-Buffering: no (sse-starlette does; with"
    ' StreamingResponse pass headers={"X-Accel-Buffering": "no"}), or proxy_buffering off;'
    " in the nginx location",
)
async def accel_buffering(ctx: Context) -> Finding:
    cap = await ctx.stream()
    if cap.status is None:
        return no_response(cap)
    value = cap.headers.get("X-Accel-Buffering")
    ok = value is not None and value.strip().lower() == "no"
    return Finding(
        f"X-Accel-Buffering: {value}"
        if value is not None
        else "no X-Accel-Buffering header: nginx buffers the stream unless told otherwise",
        ok,
        header_excerpt(cap, "X-Accel-Buffering"),
    )


@case(
    "server.headers.5",
    "The stream is not compressed",
    ["S-21"],
    fix="leave the stream out of compression: exclude text/event-stream from the compression"
    " middleware (Starlette's GZipMiddleware does in recent versions) and the proxy"
    " (nginx: gzip off; in the stream's location)",
)
async def compression(ctx: Context) -> Finding:
    cap = await ctx.stream()
    if cap.status is None:
        return no_response(cap)
    encoding = cap.content_encoding
    ok = encoding in ("", "identity")
    return Finding(
        "no Content-Encoding (the request offered gzip, deflate)"
        if ok
        else f"Content-Encoding: {encoding}: compressors hold events back until a block fills",
        ok,
        header_excerpt(cap, "Content-Encoding", "Vary"),
    )


@case(
    "server.headers.6",
    "No Connection header from the application (forbidden over HTTP/2)",
    ["S-22"],
    level=Level.PRACTICE,
    fix="do not set a Connection header in the app; sse-starlette's EventSourceResponse always"
    ' adds Connection: keep-alive: del response.headers["connection"] after creating it',
)
async def connection_header(ctx: Context) -> Finding:
    """Over HTTP/1.1 the header is legal, so a breach there is latent: PRACTICE, not MUST.

    Over HTTP/2 the same header is a protocol error for strict clients; the grade then is MUST.
    """
    cap = await ctx.stream()
    if cap.status is None:
        return no_response(cap)
    value = cap.headers.get("Connection")
    if value is None:
        return Finding(f"no Connection header over HTTP/{cap.http_version}")
    if cap.http_version.startswith("2"):
        return Finding(f"Connection: {value} over HTTP/2 (RFC 9113 8.2.2)", False)
    keep_alive = value.strip().lower() == "keep-alive"
    return Finding(
        f"Connection: {value} over HTTP/{cap.http_version}"
        + (
            ": redundant in HTTP/1.1, and a protocol error if the app is served over HTTP/2."
            " Over HTTP/1.1 the header may come from the HTTP server rather than the app"
            " (some add it themselves): only a run over HTTP/2 tells (S-22)"
            if keep_alive
            else ""
        ),
        not keep_alive,
        header_excerpt(cap, "Connection"),
    )


@case(
    "server.headers.7",
    "No connection-specific header over HTTP/2",
    ["S-22"],
    needs=Need.HTTP2,
    fix="send none of Connection, Keep-Alive, Proxy-Connection, Transfer-Encoding, Upgrade from"
    ' the app (sse-starlette adds Connection: keep-alive: del response.headers["connection"])',
)
async def connection_specific_h2(ctx: Context) -> Finding:
    """RFC 9113 8.2.2: a response carrying Connection, Keep-Alive, Proxy-Connection,
    Transfer-Encoding or Upgrade is malformed, and strict clients (h2, nghttp2, Go, browsers)
    reset the stream or the connection. Unlike server.headers.6, which grades the app's
    Connection header on whatever protocol the run speaks, this one runs only over HTTP/2, where
    the breach is real, and grades every connection-specific field as a MUST."""
    cap = await ctx.stream()
    if cap.status is None:
        return no_response(cap)
    found = [name for name in cap.headers if name.lower() in CONNECTION_SPECIFIC]
    if not found:
        return Finding("no connection-specific header field over HTTP/2")
    return Finding(
        f"over HTTP/2: {', '.join(f'{n}: {cap.headers[n]}' for n in found)}"
        " (RFC 9113 8.2.2: the response is malformed; strict clients reset the stream)",
        False,
        header_excerpt(cap, *found),
    )
