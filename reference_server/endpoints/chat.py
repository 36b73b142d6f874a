"""An LLM-style stream: ``POST /v1/chat/completions`` in the shape OpenAI clients expect.

With ``"stream": true`` the answer is ``data:``-only events, each a ``chat.completion.chunk`` JSON
object (first the assistant role, then one token per chunk, then ``finish_reason: "stop"``), and a
final ``data: [DONE]``. The text echoes the words of the last user message, repeated to
``max_tokens`` tokens, at ``?tokens_per_s=`` (both default to the server's settings).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncGenerator
from itertools import cycle, islice
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import JSONResponse, Response

from harness.sse_guard import GuardedEventSourceResponse, StreamControl
from reference_server.frames import Frame
from reference_server.pacing import Schedule
from reference_server.streaming import Stream, open_stream

__all__ = ["router", "tokens"]

router = APIRouter(tags=["conformance"])

_FILLER = "Server-sent events stream text from server to client over plain HTTP."


class ChatMessage(BaseModel):
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str = Field(max_length=16_384)


class ChatRequest(BaseModel):
    # OpenAI clients send more (temperature, top_p ...); they do not change this stream.
    model_config = ConfigDict(extra="ignore")

    model: str = Field(default="reference", max_length=128)
    messages: list[ChatMessage] = Field(min_length=1, max_length=256)
    stream: bool = False
    max_tokens: int | None = Field(default=None, ge=1, le=4096)


def tokens(request: ChatRequest, count: int) -> list[str]:
    """``count`` tokens: the last user message's words (or filler), repeated."""
    user = [m.content for m in request.messages if m.role == "user"]
    words = (user[-1] if user else "").split() or _FILLER.split()
    return [(" " if i else "") + w for i, w in enumerate(islice(cycle(words), count))]


@router.post(
    "/v1/chat/completions",
    response_class=GuardedEventSourceResponse,
    responses={200: {"content": {"application/json": {}}}},
)
async def completions(
    body: ChatRequest,
    stream: Annotated[Stream, Depends(open_stream)],
    tokens_per_s: Annotated[float | None, Query(gt=0, le=100_000)] = None,
) -> Response:
    """A chat completion: streamed as chunks when ``stream`` is true, else one JSON object."""
    settings = stream.runtime.settings
    words = tokens(body, body.max_tokens or settings.chat_tokens)
    rate = tokens_per_s or settings.chat_tokens_per_s
    completion_id = f"chatcmpl-{uuid.uuid4().hex}"
    created = int(time.time())
    if not body.stream:
        return JSONResponse(_completion(completion_id, created, body.model, words))

    def chunk(delta: dict[str, str], finish: str | None = None) -> Frame:
        data = {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": body.model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }
        return Frame(data=json.dumps(data, ensure_ascii=False, separators=(",", ":")))

    async def produce(control: StreamControl) -> AsyncGenerator[Frame, None]:
        schedule = Schedule(control, 1 / rate)
        yield chunk({"role": "assistant", "content": ""})
        for k, word in enumerate(words, start=1):
            await schedule.tick(k)
            yield chunk({"content": word})
        yield chunk({}, finish="stop")
        yield Frame(data="[DONE]")

    return await stream.respond(produce)


def _completion(completion_id: str, created: int, model: str, words: list[str]) -> dict[str, Any]:
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "".join(words)},
                "finish_reason": "stop",
            }
        ],
        "usage": {"completion_tokens": len(words)},
    }
