"""OpenAI-style chat completion streams: time to first token, inter-token latency, tokens/s.

    locust -f locustfiles/llm.py --host http://127.0.0.1:8000 --headless -u 50 -r 10 -t 1m

Each user POSTs a chat completion with ``"stream": true`` (``--sse-body`` to change it; add
``--sse-header "Authorization: Bearer ..."`` for a real API) and reads chunks up to ``[DONE]``;
a stream without ``[DONE]`` is truncated. The report adds ``ttft_ms`` (time to first token),
``itl_ms`` (inter-token latency), ``tpot_ms`` (time per output token of each stream: its
tokens/s is 1000 / tpot_ms) and ``throughput.tokens_per_s`` over all streams. Lateness is
measured against the pace in the path's ``tokens_per_s`` (the reference server's knob).
"""

import json
import time

from harness.load.chat import TokenMeter
from harness.load.options import Defaults
from harness.load.plugin import install
from harness.load.session import StreamObserver
from harness.load.user import SSEUser

install(
    Defaults(
        profile="llm",
        path="/v1/chat/completions?tokens_per_s=20",
        method="POST",
        body=json.dumps(
            {
                "model": "reference",
                "stream": True,
                "max_tokens": 32,
                "messages": [{"role": "user", "content": "Say something about streams."}],
            }
        ),
        max_events=0,
        max_seconds=120.0,
        stamps="chat",
        ids="none",
        done_data="[DONE]",
    )
)


class ChatUser(SSEUser):
    """One streamed chat completion after another, with token metrics."""

    def observer(self) -> StreamObserver:
        return TokenMeter(self.metrics, time.perf_counter())
