"""anthropic (PyPI), the Anthropic Python SDK.

Generic cases: the SDK's SSE decoder through its public ``Stream.raw_events(response)``
(``anthropic._streaming.SSEDecoder.iter_bytes``, what ``Stream`` reads with) on a response body
(:mod:`.llm_sdk`). ``client.llm.*`` Anthropic cases: ``client.messages.stream(...)`` with
``base_url`` at the case, the user's code reading ``stream.text_stream``, as the README shows.
"""

from __future__ import annotations

import anthropic

from harness.clients.adapters.llm_sdk import decode_events
from harness.clients.protocol import Emit

DIST = "anthropic"
_KEY = "test"
# Built once in the worker, so that every forked cell starts with the SDK's lazily imported
# parts (the client, the messages resource) already loaded rather than spending its time on them.
anthropic.Anthropic(api_key=_KEY).messages.stream  # noqa: B018


def run(url: str, types: list[str], emit: Emit) -> None:
    decode_events(anthropic.DefaultHttpxClient(), url, anthropic.Stream.raw_events, emit)


def run_sdk(url: str, emit: Emit) -> None:
    client = anthropic.Anthropic(api_key=_KEY, base_url=url)
    with client.messages.stream(
        model="claude-test", max_tokens=64, messages=[{"role": "user", "content": "Hi"}]
    ) as stream:
        for text in stream.text_stream:
            emit("delta", text=text)
