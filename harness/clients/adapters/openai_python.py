"""openai (PyPI), the OpenAI Python SDK.

Generic cases: the SDK's SSE decoder, as ``OpenAI._make_sse_decoder()`` makes it for ``Stream``
(``openai._streaming.SSEDecoder.iter_bytes``), on a response body (:mod:`.llm_sdk`).
``client.llm.*`` OpenAI cases: ``client.chat.completions.create(..., stream=True)`` with
``base_url`` at the case, the user's code taking each chunk's ``choices[0].delta.content``.
"""

from __future__ import annotations

from typing import Any

import openai

from harness.clients.adapters.llm_sdk import decode_events
from harness.clients.protocol import Emit

DIST = "openai"
_KEY = "sk-test"
# Built once in the worker, so that every forked cell starts with the SDK's lazily imported
# parts (the client, the chat resources) already loaded rather than spending its time on them.
openai.OpenAI(api_key=_KEY).chat.completions.create  # noqa: B018


def run(url: str, types: list[str], emit: Emit) -> None:
    decoder = openai.OpenAI(api_key=_KEY, base_url=url)._make_sse_decoder()

    def decode(response: Any) -> Any:
        return decoder.iter_bytes(response.iter_bytes())

    decode_events(openai.DefaultHttpxClient(), url, decode, emit)


def run_sdk(url: str, emit: Emit) -> None:
    client = openai.OpenAI(api_key=_KEY, base_url=url)
    stream = client.chat.completions.create(
        model="gpt-test", messages=[{"role": "user", "content": "Hi"}], stream=True
    )
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            emit("delta", text=chunk.choices[0].delta.content)
