"""How every reference-server stream is put together, in one place.

An endpoint supplies a producer (a function from :class:`StreamControl` to an async generator of
:class:`Frame`) and calls :meth:`Stream.respond`, which builds::

    producer -> observation (harness.contract registry) -> frame faults -> encode (+ line faults)
             -> chunk faults -> [detached producer] -> GuardedEventSourceResponse (+ header faults)

Fault selection (``?fault=`` or ``X-SSE-Fault``) and the resume point (``Last-Event-ID`` or
``?last_event_id=``) are FastAPI dependencies, so they appear in the OpenAPI schema of every
streaming endpoint and bad values get 422 with the reason. They are ``async def`` although
they never await: FastAPI runs a plain ``def`` dependency in a worker thread, a costly hop for
every request.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncGenerator, Callable
from contextlib import aclosing
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request
from starlette.responses import HTMLResponse, Response
from starlette.types import Message, Receive, Scope, Send

from harness.contract import STREAM_ID_HEADER
from harness.sse_guard import GuardedEventSourceResponse, StreamControl
from reference_server.faults import FAULTS, HTML_PAGE, Fault, FrameRule, LineEdit
from reference_server.frames import Frame
from reference_server.runtime import Runtime, runtime

__all__ = [
    "FAULT_HEADER",
    "Produce",
    "Stream",
    "open_stream",
    "resume_id",
    "resume_seq",
    "selected_fault",
    "stream_route",
]

FAULT_HEADER = "X-SSE-Fault"
MAX_ID_LENGTH = 256

#: A stream's producer: frames, paced through the control it is given.
Produce = Callable[[StreamControl], AsyncGenerator[Frame, None]]


async def selected_fault(
    fault: Annotated[
        str | None,
        Query(
            description="a fault mode to inject (see GET /faults)",
            json_schema_extra={"enum": list(FAULTS)},
        ),
    ] = None,
    header: Annotated[
        str | None,
        Header(
            alias=FAULT_HEADER,
            description="the same, as a header; the query wins",
            json_schema_extra={"enum": list(FAULTS)},
        ),
    ] = None,
) -> Fault | None:
    name = fault if fault is not None else header
    if not name:
        return None
    found = FAULTS.get(name)
    if found is None:
        raise HTTPException(422, {"msg": f"unknown fault {name!r}", "valid": list(FAULTS)})
    return found


class Stream:
    """One streaming request: its fault (if any), and the assembly of its response."""

    def __init__(self, request: Request, fault: Fault | None) -> None:
        self.request = request
        self.fault = fault
        self.runtime: Runtime = runtime(request)

    async def respond(
        self, produce: Produce, *, eol: str = "\n", keepalive_s: float | None = None
    ) -> Response:
        """Stream what ``produce`` yields, with this request's fault applied.

        ``keepalive_s`` overrides the settings' keep-alive interval for this stream.
        """
        settings = self.runtime.settings
        fault = self.fault or _CLEAN
        if fault.html_page:
            return HTMLResponse(HTML_PAGE)
        live = _live_streams(self.request)
        if fault.capacity is not None and live[fault.name] >= fault.capacity:
            return _DroppedConnection()
        if fault.slow_start:
            await asyncio.sleep(settings.slow_first_byte_s)
        registry = self.runtime.registry
        stream_id = registry.new_id()
        control = StreamControl(settings.max_stream_s, shutdown_grace_s=settings.shutdown_grace_s)
        frames = registry.observe(
            produce(control),
            stream_id=stream_id,
            endpoint=self.request.url.path,
            max_blocks=settings.max_events,
        )
        if fault.frames is not None:
            frames = _refit(frames, fault.frames)
        body = _encode(frames, eol, fault.lines)
        if fault.chunks is not None:
            body = fault.chunks(body, eol.encode())
        if fault.detach:
            body = self.runtime.detach(body, settings.leak_linger_s)
        if fault.retains:
            body = self.runtime.retain_after(body, settings.leak_kib_per_stream)
        keepalive = settings.keepalive_s if keepalive_s is None else keepalive_s
        response = GuardedEventSourceResponse(
            body,
            status_code=fault.status or 200,
            headers={STREAM_ID_HEADER: str(stream_id)},
            keepalive_s=keepalive if fault.keepalive else 0,
            control=control,
            shutdown_grace_s=settings.shutdown_grace_s,
            send_timeout_s=settings.send_timeout_s,
            on_disconnect=lambda: registry.mark_disconnected(stream_id),
        )
        for name in fault.drop_headers:
            del response.headers[name]
        for name, value in fault.set_headers.items():
            response.headers[name] = value
        if fault.hold_head and self.request.method == "HEAD":
            return _HeldHead(response)
        if fault.capacity is not None:
            return _Counted(response, live, fault.name)
        return response


_CLEAN = Fault("none", "S-01", "no fault: every hook is off")


def _live_streams(request: Request) -> Counter[str]:
    """Live streams per fault name, kept by the app (the ``capacity`` fault counts its own)."""
    state = request.app.state
    if not hasattr(state, "fault_streams"):
        state.fault_streams = Counter()
    found: Counter[str] = state.fault_streams
    return found


class _Counted(Response):
    """A response that holds one of its fault's stream slots from its creation to its end.

    Counted from creation, not from the first byte: concurrent requests are refused as they
    arrive, as a server with a connection limit refuses them.
    """

    def __init__(self, inner: Response, live: Counter[str], name: str) -> None:
        super().__init__()  # FastAPI sets ``background`` on what an endpoint returns
        self.inner, self.live, self.name = inner, live, name
        live[name] += 1

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await self.inner(scope, receive, send)
        finally:
            self.live[self.name] -= 1


class _DroppedConnection(Response):
    """Refuse by dropping the connection without a byte (``capacity_reset``).

    ASGI has no way to say "reset"; but an app that fails after starting its response makes
    uvicorn close the connection. The status 0 makes uvicorn mark the response started and then
    fail before it writes anything (it knows no phrase for 0), so the client sees a connection
    closed without an answer, which it takes for a network error and reconnects at once.
    """

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 0, "headers": []})


class _HeldHead(Response):
    """Answer HEAD as Node answers a HEAD routed to a GET handler (``head_held``): the stream
    runs as for GET, its body is thrown away, and the headers go out only when it ends."""

    def __init__(self, inner: Response) -> None:
        super().__init__()  # FastAPI sets ``background`` on what an endpoint returns
        self.inner = inner

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        held: list[Message] = []

        async def hold(message: Message) -> None:
            if message["type"] == "http.response.start":
                held.append(message)
            elif message["type"] == "http.response.body" and not message.get("more_body"):
                await send(held.pop())
                await send({"type": "http.response.body", "body": b""})

        await self.inner({**scope, "method": "GET"}, receive, hold)


async def open_stream(
    request: Request, fault: Annotated[Fault | None, Depends(selected_fault)]
) -> Stream:
    return Stream(request, fault)


async def resume_id(
    stream: Annotated[Stream, Depends(open_stream)],
    header: Annotated[
        str | None,
        Header(alias="Last-Event-ID", max_length=MAX_ID_LENGTH, description="resume after this id"),
    ] = None,
    last_event_id: Annotated[
        str | None,
        Query(max_length=MAX_ID_LENGTH, description="the same, for clients that cannot set it"),
    ] = None,
) -> str | None:
    """The id to resume after (the header wins), or None; ``ignore_last_event_id`` drops it."""
    if stream.fault is not None and not stream.fault.honours_resume:
        return None
    return (header if header is not None else last_event_id) or None


async def resume_seq(raw: Annotated[str | None, Depends(resume_id)]) -> int | None:
    """:func:`resume_id` for streams whose ids are sequence numbers."""
    if raw is None:
        return None
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 18:
        raise HTTPException(
            422, f"Last-Event-ID {raw!r} is not an id this stream sends (0, 1, 2, ...)"
        )
    return int(raw)


async def _refit(
    frames: AsyncGenerator[Frame, None], rule: FrameRule
) -> AsyncGenerator[Frame, None]:
    index = 0
    async with aclosing(frames) as source:
        async for frame in source:
            if frame.id is None:
                yield frame
                continue
            for out in rule(index, frame):
                yield out
            index += 1


async def _encode(
    frames: AsyncGenerator[Frame, None], eol: str, edit: LineEdit | None
) -> AsyncGenerator[bytes, None]:
    eol_bytes = eol.encode()
    index = 0
    async with aclosing(frames) as source:
        async for frame in source:
            block = frame.encode(eol)
            if frame.data is not None:
                if edit is not None:
                    lines = block[: -2 * len(eol_bytes)].split(eol_bytes)
                    block = eol_bytes.join(edit(index, lines)) + eol_bytes * 2
                index += 1
            yield block


_Endpoint = TypeVar("_Endpoint", bound=Callable[..., Any])


def stream_route(router: APIRouter, path: str, **options: Any) -> Callable[[_Endpoint], _Endpoint]:
    """Register a GET stream, plus HEAD outside the schema.

    FastAPI answers HEAD on a GET route with 405; a stream should answer it with its headers, and
    sse-starlette does so without starting the producer.
    """

    def register(endpoint: _Endpoint) -> _Endpoint:
        for method, in_schema in (("GET", True), ("HEAD", False)):
            router.add_api_route(
                path,
                endpoint,
                methods=[method],
                response_class=GuardedEventSourceResponse,
                include_in_schema=in_schema,
                **options,
            )
        return endpoint

    return register
