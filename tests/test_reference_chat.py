"""The LLM-style stream: OpenAI chunk shape, [DONE], token count and rate, and bad requests."""

from __future__ import annotations

import json

import pytest

from harness.client import EventSource

pytestmark = pytest.mark.timeout(30)

CHAT = "/v1/chat/completions"


def request(stream: bool = True, **extra: object) -> dict[str, object]:
    return {
        "model": "ref-1",
        "messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": "a b"}],
        "stream": stream,
        "temperature": 0.2,  # accepted and ignored, as OpenAI clients send it
        **extra,
    }


async def test_streams_chunks_then_done(reference_server_url: str) -> None:
    url = reference_server_url + CHAT
    async with EventSource(
        url, method="POST", body=request(max_tokens=5), reconnect=False, timeout=10
    ) as source:
        datas = [event.data async for event in source]
    assert datas[-1] == "[DONE]"
    chunks = [json.loads(d) for d in datas[:-1]]
    assert {c["object"] for c in chunks} == {"chat.completion.chunk"}
    assert len({c["id"] for c in chunks}) == 1 and chunks[0]["id"].startswith("chatcmpl-")
    assert {c["model"] for c in chunks} == {"ref-1"}
    deltas = [c["choices"][0]["delta"] for c in chunks]
    assert deltas[0] == {"role": "assistant", "content": ""}
    assert "".join(d["content"] for d in deltas[1:-1]) == "a b a b a"
    assert [c["choices"][0]["finish_reason"] for c in chunks][-2:] == [None, "stop"]
    assert deltas[-1] == {}


async def test_token_rate_is_configurable(reference_server_url: str, fetch) -> None:
    wire = await fetch(
        reference_server_url + CHAT + "?tokens_per_s=100",
        method="POST",
        json=request(max_tokens=6),
    )
    assert len(wire.events) == 6 + 3
    assert wire.chunks[-1][0] - wire.chunks[0][0] >= 0.06 * 0.9
    assert b"event:" not in wire.body and b"id:" not in wire.body  # data-only, like OpenAI


async def test_settings_give_the_default_token_count(reference_server_url: str, fetch) -> None:
    wire = await fetch(reference_server_url + CHAT, method="POST", json=request())
    assert len(wire.events) == 8 + 3  # FAST_SETTINGS.chat_tokens


async def test_without_stream_answers_one_completion(reference_server_url: str, fetch) -> None:
    wire = await fetch(
        reference_server_url + CHAT, method="POST", json=request(stream=False, max_tokens=3)
    )
    body = json.loads(wire.body)
    assert wire.headers["Content-Type"] == "application/json"
    assert body["object"] == "chat.completion"
    assert body["choices"][0]["message"] == {"role": "assistant", "content": "a b a"}


@pytest.mark.parametrize(
    ("body", "query"),
    [
        ({"messages": []}, ""),
        ({"messages": [{"role": "robot", "content": "x"}]}, ""),
        (request(max_tokens=0), ""),
        (request(max_tokens=4097), ""),
        (request(), "?tokens_per_s=0"),
        ({"stream": True}, ""),
    ],
)
async def test_bad_requests_get_422(reference_server_url: str, fetch, body, query) -> None:
    wire = await fetch(reference_server_url + CHAT + query, method="POST", json=body)
    assert wire.status == 422
