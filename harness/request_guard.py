"""The one place where a refused request is kept a refusal: a 4xx that reaches the client.

A conformance target must answer a bad request with a 4xx, and the client must be able to read
it. Left to themselves, the parts under the reference server fail both ways. Each quirk is shown
raw and guarded in ``tests/test_reference_request_guard.py`` (FastAPI 0.165, Starlette 1.10,
uvicorn 0.54 on h11):

- **500 instead of 422.** A failed validation echoes its input, and three inputs break the 422's
  own rendering: a body sent without a JSON Content-Type reaches validation as raw bytes, which
  ``jsonable_encoder`` decodes as strict UTF-8 (fastapi#13111); a JSON string with a lone
  surrogate (``"\\ud800"``), which Starlette's ``JSONResponse`` encodes as strict UTF-8; and
  ``Infinity``/``NaN``, which it refuses (``allow_nan=False``). Guard: :func:`json_safe`, used by
  the reference server's 422 handler and by :class:`JsonSafeRoute`, the route class for routers
  mounted in apps whose handlers are not ours (``harness.contract``).
- **A reset instead of the 4xx.** When the app answers (405, 413, 422...) before reading the
  body and keep-alive is off (``Connection: close``, HTTP/1.0), uvicorn closes at once; the
  kernel answers the unread body with a TCP reset, and a client still writing its body fails
  before it reads the answer. With keep-alive on, uvicorn instead reads and discards the rest
  without any bound. Guard: :class:`RequestBodyGuard` drains, bounded, then closes.
- **No answer at all.** A body that stops arriving (Content-Length larger than what is sent) is
  waited for without end. Guard: :class:`RequestBodyGuard` answers 408 after a bound.
- **An exception instead of the 413.** Starlette's body limit raises in any reader of
  ``receive``; in a stream's disconnect listener that is after the response started (uvicorn
  logs an exception and closes). Guard: :class:`RequestBodyGuard` holds the limit itself.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Coroutine
from typing import Any

import anyio
from fastapi import HTTPException, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "BODY_TIMEOUT_S",
    "DRAIN_BYTES",
    "DRAIN_S",
    "JsonSafeRoute",
    "RequestBodyGuard",
    "json_safe",
]

#: Defaults of :class:`RequestBodyGuard`: a whole request body arrives within this time...
BODY_TIMEOUT_S = 5.0
#: ...and an unread one is drained up to this size and time before the connection closes.
DRAIN_BYTES = 1024 * 1024
DRAIN_S = 1.0


def json_safe(value: Any) -> Any:
    """``jsonable_encoder(value)`` that any JSON response can render, losing nothing it shows.

    Undecodable bytes and lone surrogates are written as backslash escapes (``\\xff``,
    ``\\ud800``), so the client still sees what it sent; non-finite floats become strings.
    """
    return _renderable(jsonable_encoder(value, custom_encoder={bytes: _escaped_bytes}))


def _escaped_bytes(raw: bytes) -> str:
    return raw.decode("utf-8", "backslashreplace")


def _renderable(value: Any) -> Any:
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, list):
        return [_renderable(item) for item in value]
    if isinstance(value, dict):
        return {_renderable(key): _renderable(item) for key, item in value.items()}
    return value


class JsonSafeRoute(APIRoute):
    """A route whose validation errors any 422 handler can render, FastAPI's default included.

    For routers mounted in other people's apps (``APIRouter(route_class=JsonSafeRoute)``): the
    app's exception handlers are theirs, so the errors are made safe before they reach one.
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError as error:
                raise RequestValidationError(
                    json_safe(error.errors()),
                    body=json_safe(error.body),
                    endpoint_ctx=error.endpoint_ctx,
                ) from error

        return guarded


def _declared_body(scope: Scope) -> int | None:
    """The body size the request declares: None if it has none (RFC 9112 section 6), -1 if it
    is chunked (size unknown until it ends)."""
    for name, value in scope["headers"]:
        if name == b"transfer-encoding":
            return -1
        if name == b"content-length" and int(value) > 0:
            return int(value)
    return None


class RequestBodyGuard:
    """ASGI middleware: every request body is bounded in size (413) and time (408), and a
    response sent before the body was read is followed by a bounded drain, then a close.

    Draining (reading and discarding up to ``drain_bytes`` for at most ``drain_s``) is what
    RFC 9112 section 9.6 asks of a server that closes: unread input makes the kernel answer with a
    reset, and a client still writing its body then fails before it reads the 4xx. The response
    says ``Connection: close`` so that the server never goes on reading past those bounds.

    The size limit lives here rather than in Starlette's ``RequestBodyLimitMiddleware`` (or
    FastAPI's ``max_body_size``, which installs it outside every user middleware): that one counts
    whatever passes through ``receive``, so it raises in sse-starlette's disconnect listener while
    a stream is running, where no 413 can be sent, and it would stop the drain.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int | None = None,
        body_timeout_s: float = BODY_TIMEOUT_S,
        drain_bytes: int = DRAIN_BYTES,
        drain_s: float = DRAIN_S,
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.body_timeout_s = body_timeout_s
        self.drain_bytes = drain_bytes
        self.drain_s = drain_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        declared = _declared_body(scope) if scope["type"] == "http" else None
        if declared is None:
            await self.app(scope, receive, send)
            return
        exchange = _Exchange(self, receive, send, anyio.current_time() + self.body_timeout_s)
        if self.max_body_bytes is not None and declared > self.max_body_bytes:
            answer = JSONResponse({"detail": "Content Too Large"}, status_code=413)
            await answer(scope, exchange.receive, exchange.send)
        else:
            await self.app(scope, exchange.receive, exchange.send)


class _Exchange:
    """One request's body and response, as far as the guard needs to know them."""

    def __init__(self, guard: RequestBodyGuard, receive: Receive, send: Send, due: float) -> None:
        self._guard = guard
        self._receive = receive
        self._send = send
        self._due = due
        self.received = 0
        self.body_done = False
        self.started = False

    async def receive(self) -> Message:
        if self.started or self.body_done:
            # Once the answer is out, neither bound applies: no 408 or 413 can be sent any more,
            # and what is left of the body is the drain's to bound.
            return self._track(await self._receive())
        with anyio.move_on_after(self._due - anyio.current_time()) as waiting:
            message = self._track(await self._receive())
        if waiting.cancelled_caught:
            raise HTTPException(408, f"body not received within {self._guard.body_timeout_s} s")
        limit = self._guard.max_body_bytes
        if limit is not None and self.received > limit:
            raise HTTPException(413, "Content Too Large")
        return message

    def _track(self, message: Message) -> Message:
        self.received += len(message.get("body", b""))
        if message["type"] == "http.disconnect" or not message.get("more_body", False):
            self.body_done = True
        return message

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.started = True
            if not self.body_done:
                message = {**message, "headers": [*message.get("headers", ()), _CLOSE]}
        elif message["type"] == "http.response.body" and self._ends_unread(message):
            # The response is whole on the wire before the drain, so the client reads it now.
            await self._send({**message, "more_body": True})
            await self._drain()
            message = {"type": "http.response.body", "body": b"", "more_body": False}
        await self._send(message)

    def _ends_unread(self, body: Message) -> bool:
        """``body`` ends the response while the request's body is still arriving."""
        return not body.get("more_body", False) and not self.body_done

    async def _drain(self) -> None:
        drained = 0
        with anyio.move_on_after(self._guard.drain_s):
            while not self.body_done and drained <= self._guard.drain_bytes:
                drained += len(self._track(await self._receive()).get("body", b""))


_CLOSE = (b"connection", b"close")
