"""The ``client.llm.*`` cases: LLM token streams as the APIs, and the servers and proxies in front
of them, really send them.

Most SSE bytes today are chat-completion tokens. Each case is an OpenAI chat-completions stream
or an Anthropic messages stream carrying one legal SSE feature that real servers and proxies
emit: keep-alive comments, data-less ``ping`` events, ``retry``-only blocks, ids, a BOM, CRLF or
CR line ends, a chunk boundary inside a character or inside the ``[DONE]`` sentinel, ``data:``
without its space, an error event, a body that ends without ``[DONE]``. Bodies end after their
last event, as the APIs' do.

Both expectations of a case come from one logical stream (:class:`_Stream`):

* ``expect.events``: what a conforming EventSource dispatches. Every column sees the case this
  way except an SDK on its own API; the ``[DONE]`` sentinel and an error payload are ordinary
  events here.
* ``sdk`` (:class:`~harness.clients.model.SdkExpect`): what the user's code receives through the
  SDK's streaming call: the text deltas, in order (a role-only or finish chunk carries none). An
  error event is the one place an SDK is expected to raise: both SDKs document turning it into
  an API error (openai: a data payload holding an ``error`` object; anthropic: ``event:
  error``), which is how the user learns the answer is cut short. So the expectation is the
  deltas before it, then an error carrying the server's message; returning normally (a silently
  truncated answer) or raising anything else is FAILED.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from harness.clients.model import Api, ClientCase, Expect, Piece, SdkExpect
from harness.clients.script import GAP, Part, ev, stream
from harness.stream import Event, encode

__all__ = ["LLM"]

_BOM = b"\xef\xbb\xbf"
_TEXTS = ("Hel", "lo", " world")
_DONE = "[DONE]"
_OPENAI_ERROR = "The server had an error while processing your request."
_ANTHROPIC_ERROR = "Overloaded"


def _json(value: object) -> str:
    # Non-ASCII stays raw UTF-8 on the wire, as the APIs send it.
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


@dataclass(frozen=True, slots=True)
class _Stream:
    """A logical stream: its events in order, and the text deltas an SDK user receives."""

    api: Api
    events: tuple[Event, ...]
    deltas: tuple[str, ...]


def _chat_chunk(delta: dict[str, str], finish: str | None = None) -> Event:
    return ev(
        _json(
            {
                "id": "chatcmpl-1",
                "object": "chat.completion.chunk",
                "created": 1700000000,
                "model": "gpt-test",
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            }
        )
    )


def _openai(
    texts: Sequence[str] = _TEXTS, *, role_alone: bool = True, done: bool = True
) -> _Stream:
    """A chat completion: a role chunk (empty content, or the first text with ``role_alone``
    False), one chunk per text, a finish chunk and the ``[DONE]`` sentinel."""
    first, rest = ("", texts) if role_alone else (texts[0], texts[1:])
    events = [
        _chat_chunk({"role": "assistant", "content": first}),
        *(_chat_chunk({"content": text}) for text in rest),
        _chat_chunk({}, "stop"),
    ]
    if done:
        events.append(ev(_DONE))
    return _Stream("openai", tuple(events), tuple(texts))


def _anthropic_event(type_: str, **fields: object) -> Event:
    return ev(_json({"type": type_, **fields}), type_)


_TEXT_BLOCK = {"type": "text", "text": ""}


def _text_delta(text: str) -> dict[str, str]:
    return {"type": "text_delta", "text": text}


def _anthropic(texts: Sequence[str] = _TEXTS, *, ping: bool = True) -> _Stream:
    """A messages stream as the API sends it: message and content-block start, a ``ping`` (left
    out with ``ping`` False), one ``text_delta`` per text, then the block stop, the message
    delta and the message stop."""
    message: dict[str, object] = {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-test",
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": 5, "output_tokens": 1},
    }
    events = [
        _anthropic_event("message_start", message=message),
        _anthropic_event("content_block_start", index=0, content_block=_TEXT_BLOCK),
        *([_anthropic_event("ping")] if ping else []),
        *(_anthropic_event("content_block_delta", index=0, delta=_text_delta(t)) for t in texts),
        _anthropic_event("content_block_stop", index=0),
        _anthropic_event(
            "message_delta",
            delta={"stop_reason": "end_turn", "stop_sequence": None},
            usage={"output_tokens": 3},
        ),
        _anthropic_event("message_stop"),
    ]
    return _Stream("anthropic", tuple(events), tuple(texts))


def _block(event: Event, eol: str = "\n", id: str | None = None) -> bytes:
    return encode(event.data, None if event.type == "message" else event.type, id, eol=eol)


def _blocks(events: Iterable[Event], eol: str = "\n") -> list[bytes]:
    return [_block(event, eol) for event in events]


def _case(
    n: int,
    title: str,
    rules: str,
    logical: _Stream,
    parts: Sequence[Part],
    *,
    events: tuple[Event, ...] | None = None,
    deltas: tuple[str, ...] | None = None,
    raises: str | None = None,
) -> ClientCase:
    """``events`` and ``deltas`` default to the logical stream's."""
    return ClientCase(
        id=f"client.llm.{n}",
        title=title,
        rules=tuple(rules.split()),
        responses=(stream(*parts, end="close"),),
        expect=Expect(events=logical.events if events is None else events),
        sdk=SdkExpect(logical.api, logical.deltas if deltas is None else deltas, raises),
    )


def _between(extra: bytes, blocks: Sequence[bytes]) -> list[bytes]:
    """``extra`` as a chunk of its own before every block, as a keep-alive timer sends it."""
    return [part for block in blocks for part in (extra, block)]


def _split_inside(block: bytes, char: str) -> list[Piece]:
    """``block`` as chunks cut between every two bytes of ``char``'s UTF-8 encoding."""
    encoded = char.encode()
    at = block.index(encoded)
    cuts = [at + i for i in range(1, len(encoded))]
    edges = [0, *cuts, len(block)]
    return [Piece(block[a:b], GAP) for a, b in itertools.pairwise(edges)]


def _with_ids(events: Sequence[Event]) -> tuple[list[bytes], tuple[Event, ...]]:
    """Each event with ``id: n`` (1, 2, ...): its blocks, and the events a client dispatches."""
    blocks = [_block(event, id=str(n)) for n, event in enumerate(events, 1)]
    return blocks, tuple(replace(event, last_event_id=str(n)) for n, event in enumerate(events, 1))


def _cases() -> list[ClientCase]:
    chat = _openai()
    messages = _anthropic()
    pingless = _anthropic(ping=False)
    pingless_blocks = _blocks(pingless.events)
    id_blocks, id_events = _with_ids(chat.events)
    first_text = _openai(role_alone=False)
    first_blocks = _blocks(first_text.events)
    accented = _openai(("Caf", "é ", "\U0001f600"))
    accented_blocks = _blocks(accented.events)
    done_block = _block(ev(_DONE))
    no_done = _openai(done=False)
    error_chat = _openai(("Hel", "lo"), done=False)
    openai_error = ev(_json({"error": {"message": _OPENAI_ERROR, "type": "server_error"}}))
    anthropic_error = _anthropic_event(
        "error", error={"type": "overloaded_error", "message": _ANTHROPIC_ERROR}
    )
    error_messages = _anthropic(("Hel", "lo")).events[:5]  # start, block, ping, Hel, lo
    return [
        _case(
            1,
            "an OpenAI chat completion stream as the API sends it",
            "C-P3 C-P9",
            chat,
            _blocks(chat.events),
        ),
        _case(
            2,
            "an Anthropic messages stream as the API sends it (named events, a ping with data)",
            "C-P9 C-D4",
            messages,
            _blocks(messages.events),
        ),
        _case(
            3,
            "': ping' comment keep-alives between chunks, as proxies send them",
            "C-P4 C-D2",
            chat,
            _between(b": ping\n\n", _blocks(chat.events)),
        ),
        _case(
            4,
            "'event: ping' blocks without data between chat chunks fire nothing",
            "C-D2 C-P9",
            chat,
            _between(b"event: ping\n\n", _blocks(chat.events)),
        ),
        _case(
            5,
            "'event: ping' without data in an Anthropic stream fires nothing",
            "C-D2",
            pingless,
            [*pingless_blocks[:2], b"event: ping\n\n", *pingless_blocks[2:]],
        ),
        _case(
            6,
            "a 'retry:'-only block before the first chunk fires nothing",
            "C-D2 C-P11",
            chat,
            [b"retry: 3000\n\n", *_blocks(chat.events)],
        ),
        _case(
            7,
            "an 'id:' on every chat chunk",
            "C-D1 C-P10",
            chat,
            id_blocks,
            events=id_events,
        ),
        _case(
            8,
            "ids on every chunk and ': ping' comment keep-alives between them",
            "C-D2 C-P4 C-D1",
            chat,
            _between(b": ping\n\n", id_blocks),
            events=id_events,
        ),
        _case(
            9,
            "an extra blank line after every chunk",
            "C-D2 C-P3",
            chat,
            [block + b"\n" for block in _blocks(chat.events)],
        ),
        _case(
            10,
            "a BOM before the first chunk, which carries text",
            "C-P1",
            first_text,
            [_BOM + first_blocks[0], *first_blocks[1:]],
        ),
        _case(
            11,
            "a BOM before an Anthropic stream's message_start",
            "C-P1",
            messages,
            [_BOM + _block(messages.events[0]), *_blocks(messages.events[1:])],
        ),
        _case(12, "CRLF line ends", "C-P2", chat, _blocks(chat.events, "\r\n")),
        _case(13, "CR line ends", "C-P2", messages, _blocks(messages.events, "\r")),
        _case(
            14,
            "chunk boundaries inside a 2-byte and a 4-byte character",
            "C-P1",
            accented,
            [
                *accented_blocks[:2],
                *_split_inside(accented_blocks[2], "é"),
                *_split_inside(accented_blocks[3], "\U0001f600"),
                *accented_blocks[4:],
            ],
        ),
        _case(
            15,
            "'data:' without the space after the colon",
            "C-P5",
            chat,
            [b"data:" + e.data.encode() + b"\n\n" for e in chat.events],
        ),
        _case(
            16,
            "the [DONE] sentinel split across chunks",
            "C-P9 C-P2",
            chat,
            [*_blocks(chat.events[:-1]), done_block[:9], done_block[9:]],
        ),
        _case(
            17,
            "an error payload mid-stream (OpenAI): the SDK raises it after the deltas before it",
            "C-P9 C-D4",
            error_chat,
            _blocks((*error_chat.events[:3], openai_error)),
            events=(*error_chat.events[:3], openai_error),
            raises=_OPENAI_ERROR,
        ),
        _case(
            18,
            "an error event mid-stream (Anthropic): the SDK raises it after the deltas before it",
            "C-D4 C-P9",
            messages,
            _blocks((*error_messages, anthropic_error)),
            events=(*error_messages, anthropic_error),
            deltas=("Hel", "lo"),
            raises=_ANTHROPIC_ERROR,
        ),
        _case(
            19,
            "the stream ends after the finish chunk, without [DONE]",
            "C-P7 C-P3",
            no_done,
            _blocks(no_done.events),
        ),
    ]


#: The group, in id order.
LLM: tuple[ClientCase, ...] = tuple(_cases())
