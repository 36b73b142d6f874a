"""The ``client.mcp.*`` cases: a tools/call answered over MCP's Streamable HTTP transport, with
the SSE features real MCP servers send, or that the transport lets them send.

MCP rides on SSE: a POST carrying a request may be answered with an event stream holding the
server's notifications and requests about it, then the response; a server may close that stream
before the response and let the client resume it with a GET carrying ``Last-Event-ID``
(2025-11-25, SEP-1699: a priming event of an id and empty data first, a ``retry`` before the
close). Each case is one such answer: ``responses[0]`` is the tools/call's stream, and
``responses[k]`` what the k-th resume GET gets.

Both expectations of a case come from one builder (:class:`_Wire`), which writes the bytes and
notes what a conforming EventSource dispatches from them:

* ``expect.events``: every column but an MCP SDK reads the case as a plain event stream (GET,
  reconnect after the end, as :mod:`.catalog`'s reconnect cases), and is graded on the events;
* ``mcp`` (:class:`~harness.clients.model.McpExpect`): an MCP SDK runs its own tools/call with a
  progress callback against the fuzzing server's MCP endpoint (:mod:`.mcp_endpoint`), and is
  graded on what its user's code receives (the progress notifications, the result or an
  exception) and on the requests it makes: each resume's ``Last-Event-ID``, its wait against
  ``retry`` (the MCP conformance suite's tolerance, :mod:`.mcp_grader`), the answer to a
  server's ``ping``.

The server writes the call's JSON-RPC id and progress token where the bytes say ``"@id"`` and
``"@token"`` (:data:`CALL_ID`, :data:`TOKEN`); a non-MCP column gets the bytes as written, which
are still valid JSON-RPC. Chunks are one block each, :data:`~.script.GAP` apart, unless a case
says otherwise.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from dataclasses import dataclass, field

from harness.clients.model import (
    ClientCase,
    End,
    Expect,
    HeaderExpect,
    McpExpect,
    McpProgress,
    Piece,
    Response,
)
from harness.clients.script import GAP, Part, stream
from harness.outcome import Level
from harness.stream import Event

__all__ = ["CALL_ID", "MCP", "PING_ID", "TOKEN", "TOOL"]

#: Where the server writes the tools/call request's id and progress token (JSON strings, so the
#: bytes are valid JSON-RPC as written).
CALL_ID = "@id"
TOKEN = "@token"
#: The tool every case calls (the only one tools/list offers).
TOOL = "fuzz"
#: The id of the ping request the server sends in client.mcp.11.
PING_ID = "srv-ping-1"
#: The reconnection time of the resume cases: the MCP conformance suite's sse-retry value.
RETRY_MS = 500
_TEXT = "done"
_BOM = "\ufeff".encode()
#: A result delivered this long after its chunk has waited for something else.
_PROMPT_S = 0.5


def _json(value: object) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _progress(n: int, message: str | None = None) -> str:
    params = {"progressToken": TOKEN, "progress": n, "total": 3, "message": message or f"step {n}"}
    return _json({"jsonrpc": "2.0", "method": "notifications/progress", "params": params})


def _result(text: str = _TEXT) -> str:
    result = {"content": [{"type": "text", "text": text}], "isError": False}
    return _json({"jsonrpc": "2.0", "id": CALL_ID, "result": result})


_PING = _json({"jsonrpc": "2.0", "id": PING_ID, "method": "ping"})


def _steps(*ns: int, message: str | None = None) -> tuple[McpProgress, ...]:
    return tuple(McpProgress(n, 3, message or f"step {n}") for n in ns)


@dataclass
class _Wire:
    """Writes blocks and notes the events a conforming EventSource dispatches from them, the
    last event ID carried from block to block and over reconnects (C-D1)."""

    eol: str = "\n"
    events: list[Event] = field(default_factory=list)
    last_id: str = ""

    def block(
        self,
        data: str | None = None,
        *,
        id: str | None = None,
        event: str | None = None,
        retry: int | None = None,
        empty: str = "data:",
        order: str = "ierd",
    ) -> bytes:
        """One block: its fields in ``order`` (i id, e event, r retry, d data), each data line
        its own ``data:`` line, empty data spelled ``empty`` (``data:`` or ``data: ``)."""
        lines: dict[str, list[str]] = {
            "i": [] if id is None else [f"id: {id}"],
            "e": [] if event is None else [f"event: {event}"],
            "r": [] if retry is None else [f"retry: {retry}"],
            "d": [] if data is None else [f"data: {d}" if d else empty for d in data.split("\n")],
        }
        if id is not None:
            self.last_id = id
        if data is not None:
            self.events.append(Event(event or "message", data, self.last_id))
        text = "".join(line + self.eol for key in order for line in lines[key])
        return (text + self.eol).encode()

    def comment(self, text: str) -> bytes:
        """A comment line and a blank line: a keep-alive, which dispatches nothing."""
        return f":{text}{self.eol}{self.eol}".encode()


def _messages(
    wire: _Wire,
    messages: Sequence[str],
    *,
    first_id: int | None = None,
    event: str | None = "message",
    order: str = "ierd",
) -> list[bytes]:
    """One block per message, numbered ids from ``first_id`` (None: no ids)."""
    return [
        wire.block(m, id=None if first_id is None else str(first_id + i), event=event, order=order)
        for i, m in enumerate(messages)
    ]


_ALL = [_progress(1), _progress(2), _progress(3), _result()]


def _case(
    n: int,
    title: str,
    rules: str,
    wire: _Wire,
    streams: Sequence[tuple[Sequence[Part], End]],
    mcp: McpExpect,
    *,
    level: Level = Level.MUST,
    bound: float = 4.0,
    reconnect_ids: Sequence[str] = (),
    dispatch_within: float | None = None,
) -> ClientCase:
    """``streams``: each response's parts and how it ends. ``reconnect_ids``: the
    Last-Event-ID a reconnecting EventSource sends on each request after the first;
    ``dispatch_within``: the EventSource view's limit on dispatch latency."""
    responses = tuple(stream(*parts, end=end) for parts, end in streams)
    for response in responses:
        _check_slots(response)
    headers = tuple(
        HeaderExpect(i, "Last-Event-ID", value) for i, value in enumerate(reconnect_ids, 1)
    )
    expect = Expect(
        events=tuple(wire.events),
        min_requests=len(responses) if len(responses) > 1 else None,
        headers=headers,
        dispatch_within=dispatch_within,
    )
    return ClientCase(
        id=f"client.mcp.{n}",
        title=title,
        rules=tuple(rules.split()),
        responses=responses,
        expect=expect,
        level=level,
        bound=bound,
        mcp=mcp,
    )


def _check_slots(response: Response) -> None:
    """The id and token slots are written in chunk by chunk: none may straddle two chunks."""
    whole = b"".join(piece.data for piece in response.body)
    for slot in (CALL_ID, TOKEN):
        quoted = json.dumps(slot).encode()
        if whole.count(quoted) != sum(piece.data.count(quoted) for piece in response.body):
            raise ValueError(f"the {slot} slot straddles a chunk boundary")


def _cases() -> list[ClientCase]:
    done = McpExpect(_steps(1, 2, 3), _TEXT)
    cases: list[ClientCase] = []

    wire = _Wire()
    cases.append(
        _case(
            1,
            "progress notifications then the result, as 'event: message' blocks (the SDK servers'"
            " shape)",
            "C-P9 C-D4 M-05",
            wire,
            [(_messages(wire, _ALL), "close")],
            done,
        )
    )

    wire = _Wire()
    priming = wire.block("", id="0")
    cases.append(
        _case(
            2,
            "an empty-data priming event first (id: 0, data:), then an id on every message",
            "C-P9 C-D3 M-04",
            wire,
            [([priming, *_messages(wire, _ALL, first_id=1)], "close")],
            done,
        )
    )

    wire = _Wire()
    first = [wire.block("", id="1", retry=RETRY_MS, order="ird")]
    rest = _messages(wire, _ALL, first_id=2)
    cases.append(
        _case(
            3,
            f"priming with retry: {RETRY_MS}, then the server closes: the client waits the retry"
            " and resumes with a GET carrying Last-Event-ID: 1 (the conformance suite's sse-retry)",
            "C-H8 C-R4 M-04 M-11 M-09",
            wire,
            [(first, "close"), (rest, "close")],
            McpExpect(_steps(1, 2, 3), _TEXT, resumes=("1",), retry=RETRY_MS / 1000),
            reconnect_ids=("1",),
        )
    )

    wire = _Wire()
    first = [wire.block("", id="1", retry=RETRY_MS, order="ird")]
    first += _messages(wire, _ALL[:1], first_id=2)
    rest = _messages(wire, _ALL[1:], first_id=3)
    cases.append(
        _case(
            4,
            "a progress message with id 2 after the priming event, then the server closes: the"
            " resume sends Last-Event-ID: 2, the last id received, not the priming one",
            "C-R4 C-H8 M-09 M-11",
            wire,
            [(first, "close"), (rest, "close")],
            McpExpect(_steps(1, 2, 3), _TEXT, resumes=("2",), retry=RETRY_MS / 1000),
            reconnect_ids=("2",),
        )
    )

    wire = _Wire()
    blocks = _messages(wire, _ALL)
    alive = [wire.comment(" keepalive"), wire.comment(" ping - 2026-01-01 00:00:00.000000+00:00")]
    cases.append(
        _case(
            5,
            "keep-alive comments before, between and after the messages (': keepalive', ': ping"
            " - <time>', ':')",
            "C-P4 C-D2",
            wire,
            [([alive[0], *(p for b in blocks for p in (b, alive[1])), wire.comment("")], "close")],
            done,
        )
    )

    wire = _Wire(eol="\r\n")
    priming = wire.block("", id="1", retry=1000, empty="data: ", order="idr")
    cases.append(
        _case(
            6,
            "CRLF line ends, 'data: ' with nothing after the space for the priming event, fields in"
            " the order id, event, data (the Python SDK server's shape)",
            "C-P2 C-P5 M-04",
            wire,
            [([priming, *_messages(wire, _ALL, first_id=2, order="ied")], "close")],
            done,
        )
    )

    wire = _Wire(eol="\r")
    blocks = _messages(wire, _ALL)
    later = Piece(wire.comment(" keepalive"), 1.0)
    cases.append(
        _case(
            7,
            "CR line ends; the stream stays open a second after the result (the server closes it"
            " later): the result is the user's when its chunk arrives",
            "C-P2 C-P3",
            wire,
            [([*blocks, later], "close")],
            McpExpect(_steps(1, 2, 3), _TEXT, result_within=_PROMPT_S),
            dispatch_within=_PROMPT_S,
        )
    )

    wire = _Wire()
    pretty = [json.dumps(json.loads(m), indent=1, ensure_ascii=False) for m in _ALL]
    cases.append(
        _case(
            8,
            "each JSON-RPC message pretty-printed over several data: lines (joined with LF, still"
            " one JSON value)",
            "C-P9 C-D3 M-05",
            wire,
            [(_messages(wire, pretty, event=None), "close")],
            done,
        )
    )

    wire = _Wire()
    note = "café ✓ 😀"
    text_all = [_progress(1, note), _progress(2, note), _progress(3, note), _result()]
    blocks = _messages(wire, text_all)
    parts: list[Part] = [blocks[0]]
    for block in blocks[1:3]:  # cut inside the JSON, and inside é and 😀
        inside_json = block.index(b'"progress":') + 5
        cuts = sorted({inside_json, *_inside(block, "é"), *_inside(block, "😀")})
        edges = [0, *cuts, len(block)]
        parts += [Piece(block[a:b], GAP) for a, b in itertools.pairwise(edges)]
    parts.append(blocks[3])
    cases.append(
        _case(
            9,
            "chunk boundaries inside the JSON and inside 2- and 4-byte characters of a progress"
            " message",
            "C-P1 C-P9",
            wire,
            [(parts, "close")],
            McpExpect(_steps(1, 2, 3, message=note), _TEXT),
        )
    )

    wire = _Wire()
    head = _messages(wire, _ALL[:1])
    other = wire.block(_json({"ts": 1}), event="heartbeat")
    tail = _messages(wire, _ALL[1:])
    cases.append(
        _case(
            10,
            "an event of another type (event: heartbeat, data that is no JSON-RPC message) between"
            " the messages: not a message, and no reason to fail",
            "C-D4 C-P9",
            wire,
            [([*head, other, *tail], "close")],
            done,
        )
    )

    wire = _Wire()
    blocks = _messages(wire, [_progress(1), _PING])
    after = [Piece(b, 0.3 if i == 0 else GAP) for i, b in enumerate(_messages(wire, _ALL[1:]))]
    cases.append(
        _case(
            11,
            "a ping request from the server between the progress notifications: the client"
            " answers it (an empty result, POSTed) and reads on",
            "C-P3 M-05",
            wire,
            [([*blocks, *after], "close")],
            McpExpect(_steps(1, 2, 3), _TEXT, answers=(PING_ID,)),
        )
    )

    wire = _Wire()
    cases.append(
        _case(
            12,
            "events without ids; the stream ends before the response: nothing to resume, so the"
            " call fails by itself, promptly, without a GET",
            "C-R4 M-12",
            wire,
            [(_messages(wire, _ALL[:2]), "close")],
            McpExpect(_steps(1, 2), None),
            level=Level.SHOULD,
        )
    )

    wire = _Wire()
    first = [wire.block("", id="1", retry=RETRY_MS, order="ird")]
    first += _messages(wire, _ALL[:1], first_id=2)
    empty_resume = [wire.comment(" resumed")]
    rest = _messages(wire, _ALL[1:], first_id=3)
    cases.append(
        _case(
            13,
            "the connection drops after id 2, and the first resume drops before any event: the"
            " second resume still sends Last-Event-ID: 2",
            "C-R4 C-H2 M-09",
            wire,
            [(first, "abort"), (empty_resume, "abort"), (rest, "close")],
            McpExpect(_steps(1, 2, 3), _TEXT, resumes=("2", "2"), retry=RETRY_MS / 1000),
            level=Level.SHOULD,
            bound=5.0,
            reconnect_ids=("2", "2"),
        )
    )

    wire = _Wire()
    first = [wire.block("", id="1", retry=RETRY_MS, order="ird")]
    first += _messages(wire, _ALL[:1], first_id=2)
    middle = _messages(wire, _ALL[1:2], first_id=3)
    rest = _messages(wire, _ALL[2:], first_id=4)
    cases.append(
        _case(
            14,
            "the connection drops after id 2, and the first resume drops after id 3: the second"
            " resume sends Last-Event-ID: 3",
            "C-R4 C-H2 M-09",
            wire,
            [(first, "abort"), (middle, "abort"), (rest, "close")],
            McpExpect(_steps(1, 2, 3), _TEXT, resumes=("2", "3"), retry=RETRY_MS / 1000),
            level=Level.SHOULD,
            bound=5.0,
            reconnect_ids=("2", "3"),
        )
    )

    wire = _Wire()
    blocks = _messages(wire, _ALL, event=None)
    cases.append(
        _case(
            15,
            "a UTF-8 BOM before the first event, a data: line: the decoder strips it, so the first"
            " progress notification is not lost",
            "C-P1 M-05",
            wire,
            [([_BOM + blocks[0], *blocks[1:]], "close")],
            done,
        )
    )
    return cases


def _inside(block: bytes, char: str) -> list[int]:
    """Offsets in ``block`` between the bytes of ``char``'s first UTF-8 encoding."""
    encoded = char.encode()
    at = block.index(encoded)
    return [at + i for i in range(1, len(encoded))]


#: The group, in id order.
MCP: tuple[ClientCase, ...] = tuple(_cases())
