"""FastAPI's own SSE (``fastapi.sse``): a path operation that yields ``ServerSentEvent`` with
``response_class=EventSourceResponse``; the response pings an idle stream itself."""

from __future__ import annotations

from collections.abc import AsyncIterable
from typing import Annotated

from fastapi import FastAPI, Header
from fastapi.sse import EventSourceResponse, ServerSentEvent

from harness.servers.apps.stream import data, paced_ids, until_the_client_leaves

app = FastAPI()


@app.get("/stream", response_class=EventSourceResponse)
async def stream(
    last_event_id: Annotated[str | None, Header()] = None,
) -> AsyncIterable[ServerSentEvent]:
    async for n in paced_ids(last_event_id):
        yield ServerSentEvent(raw_data=data(n), id=str(n))


@app.get("/idle", response_class=EventSourceResponse)
async def idle() -> AsyncIterable[ServerSentEvent]:
    await until_the_client_leaves()  # the response sends the pings
    yield ServerSentEvent(raw_data="never sent")
