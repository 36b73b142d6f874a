"""Django's ``StreamingHttpResponse`` over an async generator, served as ASGI (an async
iterator needs the async handler); Django has no keep-alive for a stream."""

from __future__ import annotations

from django.conf import settings

settings.configure(
    DEBUG=False,
    ROOT_URLCONF=__name__,
    ALLOWED_HOSTS=["127.0.0.1", "localhost"],
    SECRET_KEY="sse-harness-matrix-example",  # an example app on loopback, no sessions
    MIDDLEWARE=[],
)

from django.core.asgi import get_asgi_application  # noqa: E402
from django.http import HttpRequest, StreamingHttpResponse  # noqa: E402
from django.urls import path  # noqa: E402

from harness.servers.apps.stream import framed_events, silence  # noqa: E402


async def stream(request: HttpRequest) -> StreamingHttpResponse:
    body = framed_events(request.headers.get("Last-Event-ID"))
    return StreamingHttpResponse(body, content_type="text/event-stream")


async def idle(request: HttpRequest) -> StreamingHttpResponse:
    return StreamingHttpResponse(silence(), content_type="text/event-stream")


urlpatterns = [path("stream", stream), path("idle", idle)]
app = get_asgi_application()
