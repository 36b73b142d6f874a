"""OpenAI-style chat completion streams: tokens, time to first token, inter-token latency.

A chunk is a ``chat.completion.chunk`` JSON object; its token is ``choices[0].delta.content``
when that is a non-empty string (the first chunk carries only the role, the last only a
``finish_reason``, and ``[DONE]`` is not JSON). Per stream, :class:`TokenMeter` records:

``ttft``  time to first token: request start to the first chunk with content;
``itl``   inter-token latency: between consecutive content chunks;
``tpot``  time per output token over the stream, ``(last - first) / (tokens - 1)``: the
          inverse of the stream's decode rate (tokens/s per stream is ``1000 / tpot_ms``);

and counts ``tokens`` (total tokens/s is that over the run's duration).
"""

from __future__ import annotations

import json
from typing import Any

from harness.load.metrics import Metrics
from harness.load.stamps import Stamper, StamperFactory, Stamps
from harness.stream import Event

__all__ = ["HISTOGRAMS", "TokenMeter", "chat_content", "chat_stamper"]

#: The histograms a chat run adds (see the module docstring).
HISTOGRAMS = ("ttft", "itl", "tpot")


def chat_content(event: Event) -> str | None:
    """The token a chat chunk carries, or None (role-only, finish, ``[DONE]``, not a chunk)."""
    if not event.data.startswith("{"):
        return None
    try:
        chunk: Any = json.loads(event.data)
        content = chunk["choices"][0]["delta"].get("content")
    except (ValueError, LookupError, TypeError, AttributeError):
        return None
    return content if isinstance(content, str) and content else None


def chat_stamper(tokens_per_s: float) -> StamperFactory:
    """Intended times of tokens paced at ``tokens_per_s``, anchored at the first chunk.

    The reference server sends the role chunk at once and token ``k`` (from 1) ``k / rate``
    later; chunks carry no send stamp. Lateness is then a stream falling behind its pace (a delay
    before the first chunk is TTFE's, not lateness).
    """
    if tokens_per_s <= 0:
        raise ValueError(f"tokens_per_s must be positive, got {tokens_per_s}")
    interval = 1 / tokens_per_s

    def factory() -> Stamper:
        anchor: float | None = None
        token = 0

        def stamps(events: list[Event], at: float) -> Stamps:
            nonlocal anchor, token
            intendeds: list[float] = []
            for event in events:
                if anchor is None:
                    anchor = at
                elif chat_content(event) is not None:
                    token += 1
                    intendeds.append(anchor + token * interval)
            return [], intendeds

        return stamps

    return factory


class TokenMeter:
    """The token metrics of one chat stream (a ``StreamObserver``)."""

    def __init__(self, metrics: Metrics, started: float) -> None:
        self.metrics = metrics
        self.started = started
        self.tokens = 0
        self.first: float | None = None
        self.last = 0.0

    def on_event(self, event: Event, at: float) -> None:
        if chat_content(event) is None:
            return
        self.tokens += 1
        if self.first is None:
            self.first = at
            self.metrics.histogram("ttft").record(at - self.started)
        else:
            self.metrics.histogram("itl").record(at - self.last)
        self.last = at

    def on_end(self) -> None:
        self.metrics.counters["tokens"] += self.tokens
        if self.first is not None and self.tokens > 1:
            self.metrics.histogram("tpot").record((self.last - self.first) / (self.tokens - 1))
