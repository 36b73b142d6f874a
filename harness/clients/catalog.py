"""The client case catalog: tricky streams, each with the verdict a conforming client reaches.

Expected events are written by hand from SPEC.md (the spec's verdict, reviewed rule by rule); a
test feeds every case's bytes to :class:`harness.stream.Parser` and requires the same events, so
the catalog and the parser check each other. Ids are stable: a changed case gets a new id.
Scripts are written with :mod:`.script` (chunks after the first arrive :data:`~.script.GAP`
seconds apart); the ``client.llm.*`` group lives in :mod:`.llm_cases`, the ``client.mcp.*`` group
in :mod:`.mcp_cases`.
"""

from __future__ import annotations

from typing import Any

from harness.clients.llm_cases import LLM
from harness.clients.mcp_cases import MCP
from harness.clients.model import ClientCase, End, Expect, Piece, Response
from harness.clients.model import HeaderExpect as Header
from harness.clients.script import Part, ev, redirect, refused, stream
from harness.outcome import Level
from harness.selection import select_by_id
from harness.stream import Event

__all__ = ["CASES", "select"]

#: A reconnection time short enough to keep cases quick, long enough to be told from "at once".
RETRY = b"retry: 100\n"
#: Request 1 of a reconnect case arrives this soon after response 0 ends: the 100 ms
#: reconnection time, plus room for backoff; a client that ignores ``retry`` and waits its own
#: default (2 s or more for every client measured) misses it.
PROMPT_RECONNECT = (0.1, 1.5)


def _case(
    id: str,
    title: str,
    rules: str,
    *responses: Response,
    level: Level = Level.MUST,
    informational: bool = False,
    bound: float = 3.0,
    **expect: Any,
) -> ClientCase:
    return ClientCase(
        id=id,
        title=title,
        rules=tuple(rules.split()),
        responses=responses,
        expect=Expect(**expect),
        level=level,
        informational=informational,
        bound=bound,
    )


def _one(id: str, title: str, rules: str, *parts: Part, events: tuple[Event, ...]) -> ClientCase:
    """The common shape: one stream held open, and the events it must produce."""
    return _case(id, title, rules, stream(*parts), events=events)


A = (ev("a"),)
REFUSED_BODY = b"data: a\n\n"


def _status(code: int, title: str, rules: str = "C-H3 C-H7") -> ClientCase:
    body = () if code in (204, 205) else (REFUSED_BODY,)
    return _case(
        f"client.status.{code}",
        title,
        rules,
        refused(code, *body),
        fails=True,
        requests=1,
    )


def _content_type(n: int, value: str | None, title: str) -> ClientCase:
    headers = () if value is None else (("Content-Type", value),)
    return _case(
        f"client.ctype.{n}",
        title,
        "C-H4 C-H7",
        refused(200, REFUSED_BODY, headers=headers),
        fails=True,
        requests=1,
    )


def _accepted_type(n: int, value: str, title: str) -> ClientCase:
    return _case(
        f"client.ctype.{n}", title, "C-H4", stream(b"data: a\n\n", content_type=value), events=A
    )


def _redirect(code: int) -> ClientCase:
    return _case(
        f"client.redirect.{code}",
        f"{code} redirect is followed to the stream",
        "C-R5",
        redirect(code),
        stream(b"data: a\n\n"),
        events=A,
        paths=("", "/redirected"),
    )


def _retry(n: int, lines: bytes, title: str, rules: str = "C-P11 C-H8") -> ClientCase:
    """A reconnection time set by ``lines`` (after a valid ``retry: 100``) shows in how soon the
    client reconnects once the body ends."""
    return _case(
        f"client.retry.{n}",
        title,
        rules,
        stream(RETRY + lines + b"data: a\n\n", end="close"),
        stream(b"data: b\n\n"),
        events=(ev("a"), ev("b")),
        reconnect_after=PROMPT_RECONNECT,
    )


def _reconnect(
    n: int,
    title: str,
    rules: str,
    first: bytes,
    second: bytes,
    events: tuple[Event, ...],
    *,
    end: End = "close",
    level: Level = Level.MUST,
    **expect: Any,
) -> ClientCase:
    return _case(
        f"client.reconnect.{n}",
        title,
        rules,
        stream(RETRY + first, end=end),
        stream(second),
        level=level,
        events=events,
        min_requests=2,
        **expect,
    )


LINES = [
    _one("client.lines.1", "LF ends lines", "C-P2 C-P3", b"data: a\n\n", events=A),
    _one("client.lines.2", "CRLF ends lines", "C-P2 C-P3", b"data: a\r\n\r\n", events=A),
    _one("client.lines.3", "CR alone ends lines", "C-P2 C-P3", b"data: a\r\r", events=A),
    _one(
        "client.lines.4",
        "CRLF, CR and LF mixed in one event; LF CR is two terminators",
        "C-P2 C-P3",
        b"data: a\r\ndata: b\rdata: c\n\r",
        events=(ev("a\nb\nc"),),
    ),
    _one(
        "client.lines.5",
        "LF then CR is two line ends: the CR ends a blank line and dispatches",
        "C-P2 C-P3",
        b"data: a\n\rdata: b\n\n",
        events=(ev("a"), ev("b")),
    ),
    _one(
        "client.lines.6",
        "CR then CRLF: the CRLF ends a blank line",
        "C-P2 C-P3",
        b"data: a\r\r\ndata: b\r\n\r\n",
        events=(ev("a"), ev("b")),
    ),
    _one(
        "client.lines.7",
        "U+2028 LINE SEPARATOR does not end a line",
        "C-P2",
        "data: a\u2028b\n\n".encode(),
        events=(ev("a\u2028b"),),
    ),
    _one(
        "client.lines.8",
        "U+0085 NEXT LINE does not end a line",
        "C-P2",
        "data: a\x85b\n\n".encode(),
        events=(ev("a\x85b"),),
    ),
    _one(
        "client.lines.9",
        "VT and FF do not end a line",
        "C-P2",
        b"data: a\x0bb\x0cc\n\n",
        events=(ev("a\x0bb\x0cc"),),
    ),
    _one(
        "client.lines.10",
        "U+001C..U+001E (str.splitlines separators) do not end a line",
        "C-P2",
        b"data: a\x1cb\x1dc\x1ed\n\n",
        events=(ev("a\x1cb\x1dc\x1ed"),),
    ),
]

CHUNKS = [
    _one(
        "client.chunks.1",
        "CR ending one chunk and LF starting the next are one line end",
        "C-P2",
        b"data: a\r",
        b"\ndata: b\r\n\r\n",
        events=(ev("a\nb"),),
    ),
    _case(
        "client.chunks.2",
        "a CR ending a chunk dispatches at once, not when the next chunk comes",
        "C-P2 C-P3",
        stream(b"data: a\r\r", Piece(b"data: b\r\r", delay=1.0)),
        events=(ev("a"), ev("b")),
        dispatch_within=0.5,
    ),
    _case(
        "client.chunks.3",
        "a blank line ending in CR at a chunk end dispatches at once; the LF after it is swallowed",
        "C-P2 C-P3",
        stream(b"data: a\r\n\r", Piece(b"\ndata: b\r\n\r\n", delay=1.0)),
        events=(ev("a"), ev("b")),
        dispatch_within=0.5,
    ),
    _one(
        "client.chunks.4",
        "a field name split across chunks",
        "C-P2 C-P5",
        b"da",
        b"ta: a\n",
        b"\n",
        events=A,
    ),
    _case(
        "client.chunks.5",
        "one byte per chunk",
        "C-P2 C-P9",
        stream(
            *(
                Piece(bytes([b]), 0.0 if i == 0 else 0.01)
                for i, b in enumerate(b"event: x\ndata: a\n\n")
            )
        ),
        events=(ev("a", "x"),),
    ),
    _one(
        "client.chunks.6",
        "three events in one chunk",
        "C-P3",
        b"data: 1\n\ndata: 2\n\ndata: 3\n\n",
        events=(ev("1"), ev("2"), ev("3")),
    ),
    _one(
        "client.chunks.7",
        "the blank line arrives in its own chunk",
        "C-P3",
        b"data: a\n",
        b"\n",
        events=A,
    ),
    _one(
        "client.chunks.8",
        "64 KiB of data on one line, over 16 chunks",
        "C-P9",
        *[b"data: " + b"x" * 4090] + [b"x" * 4096] * 14 + [b"x" * 4102 + b"\n\n"],
        events=(ev("x" * 65536),),
    ),
]

UTF8 = [
    _one(
        "client.utf8.1",
        "a 2-byte character split across chunks",
        "C-P1",
        b"data: caf\xc3",
        b"\xa9\n\n",
        events=(ev("café"),),
    ),
    _one(
        "client.utf8.2",
        "a 4-byte character split over three chunks",
        "C-P1",
        b"data: \xf0",
        b"\x9f\x98",
        b"\x80\n\n",
        events=(ev("\U0001f600"),),
    ),
    _one(
        "client.utf8.3",
        "an invalid byte becomes U+FFFD",
        "C-P1",
        b"data: a\xffb\n\n",
        events=(ev("a\ufffdb"),),
    ),
    _one(
        "client.utf8.4",
        "a truncated sequence before the line end becomes one U+FFFD",
        "C-P1",
        b"data: a\xe2\x82\n\n",
        events=(ev("a\ufffd"),),
    ),
    _one(
        "client.utf8.5",
        "an encoded surrogate (CESU-8) becomes three U+FFFD",
        "C-P1",
        b"data: \xed\xa0\x80\n\n",
        events=(ev("\ufffd\ufffd\ufffd"),),
    ),
    _one(
        "client.utf8.6",
        "an invalid byte in a field name: the line is an unknown field",
        "C-P1 C-P8",
        b"dat\xff: x\ndata: a\n\n",
        events=A,
    ),
]

BOM = [
    _one(
        "client.bom.1", "one leading BOM is stripped", "C-P1", b"\xef\xbb\xbfdata: a\n\n", events=A
    ),
    _one(
        "client.bom.2",
        "a second BOM is part of the first field name, which is then unknown",
        "C-P1 C-P8",
        b"\xef\xbb\xbf\xef\xbb\xbfdata: a\n\ndata: b\n\n",
        events=(ev("b"),),
    ),
    _one(
        "client.bom.3",
        "a BOM split across chunks is still stripped",
        "C-P1",
        b"\xef\xbb",
        b"\xbfdata: a\n\n",
        events=A,
    ),
    _one(
        "client.bom.4",
        "a BOM at the start of a later line is not stripped",
        "C-P1 C-P8",
        b"data: a\n\n\xef\xbb\xbfdata: b\n\ndata: c\n\n",
        events=(ev("a"), ev("c")),
    ),
]

FIELDS = [
    _one(
        "client.fields.1",
        "one space after the colon is stripped, not two",
        "C-P5",
        b"data:  a\n\n",
        events=(ev(" a"),),
    ),
    _one("client.fields.2", "no space after the colon", "C-P5", b"data:a\n\n", events=A),
    _one(
        "client.fields.3",
        "a TAB after the colon is kept",
        "C-P5",
        b"data:\ta\n\n",
        events=(ev("\ta"),),
    ),
    _one(
        "client.fields.4",
        "the first colon splits name and value",
        "C-P5",
        b"data: a:b: c\n\n",
        events=(ev("a:b: c"),),
    ),
    _one(
        "client.fields.5",
        "a bare 'data' line appends an empty line",
        "C-P6 C-D3",
        b"data\n\n",
        events=(ev(""),),
    ),
    _one(
        "client.fields.6",
        "two bare 'data' lines give one LF",
        "C-P6 C-D3",
        b"data\ndata\n\n",
        events=(ev("\n"),),
    ),
    _one(
        "client.fields.7", "an unknown field is ignored", "C-P8", b"foo: bar\ndata: a\n\n", events=A
    ),
    _one(
        "client.fields.8",
        "field names are case-sensitive: Data, Event and ID are unknown",
        "C-P8",
        b"Data: x\nEvent: y\nID: 7\ndata: a\n\n",
        events=A,
    ),
    _one(
        "client.fields.9",
        "event sets the type",
        "C-P9 C-D4",
        b"event: update\ndata: a\n\n",
        events=(ev("a", "update"),),
    ),
    _one(
        "client.fields.10",
        "the type is reset after each dispatch",
        "C-D5",
        b"event: x\ndata: a\n\ndata: b\n\n",
        events=(ev("a", "x"), ev("b")),
    ),
    _one(
        "client.fields.11",
        "an empty event field means message",
        "C-D4",
        b"event:\ndata: a\n\n",
        events=A,
    ),
    _one(
        "client.fields.12",
        "an event block without data fires nothing and its type does not leak",
        "C-D2",
        b"event: x\n\ndata: a\n\n",
        events=A,
    ),
    _one(
        "client.fields.13",
        "a space before the colon makes an unknown field",
        "C-P5 C-P8",
        b"data : x\ndata: a\n\n",
        events=A,
    ),
    _one(
        "client.fields.14",
        "a bare 'event' line resets the type",
        "C-P6 C-D4",
        b"event: x\nevent\ndata: a\n\n",
        events=A,
    ),
    _one(
        "client.fields.15",
        "the last event field of a block wins",
        "C-P9",
        b"event: x\nevent: y\ndata: a\n\n",
        events=(ev("a", "y"),),
    ),
]

COMMENTS = [
    _one(
        "client.comments.1", "a comment line is ignored", "C-P4", b": hello\ndata: a\n\n", events=A
    ),
    _one(
        "client.comments.2",
        "a comment holding NUL is ignored",
        "C-P4",
        b": a\x00b\ndata: a\n\n",
        events=A,
    ),
    _one(
        "client.comments.3",
        "a 2 KiB comment is ignored",
        "C-P4",
        b":" + b"x" * 2048 + b"\ndata: a\n\n",
        events=A,
    ),
    _one(
        "client.comments.4",
        "a comment between data lines does not end the event",
        "C-P4",
        b"data: a\n: c\ndata: b\n\n",
        events=(ev("a\nb"),),
    ),
    _one(
        "client.comments.5",
        "comment-only blocks fire nothing",
        "C-P4 C-D2",
        b":\n\n: ping\n\ndata: a\n\n",
        events=A,
    ),
]

DATA = [
    _one(
        "client.data.1",
        "data lines are joined with LF",
        "C-P9 C-D3",
        b"data: a\ndata: b\n\n",
        events=(ev("a\nb"),),
    ),
    _one(
        "client.data.2",
        "an empty data field dispatches an empty message",
        "C-P9 C-D3",
        b"data:\n\n",
        events=(ev(""),),
    ),
    _one(
        "client.data.3",
        "two empty data fields give one LF",
        "C-P9 C-D3",
        b"data:\ndata:\n\n",
        events=(ev("\n"),),
    ),
    _one(
        "client.data.4",
        "an empty first data line is kept",
        "C-P9 C-D3",
        b"data:\ndata: a\n\n",
        events=(ev("\na"),),
    ),
    _one(
        "client.data.5",
        "only one trailing LF is removed",
        "C-D3",
        b"data: a\ndata:\n\n",
        events=(ev("a\n"),),
    ),
    _one(
        "client.data.6",
        "NUL in data is delivered",
        "C-P9",
        b"data: a\x00b\n\n",
        events=(ev("a\x00b"),),
    ),
    _one(
        "client.data.7",
        "extra blank lines fire nothing",
        "C-P3 C-D2",
        b"\n\n\ndata: a\n\n\n\n",
        events=A,
    ),
    _one(
        "client.data.8",
        "a block with only an id or retry fires nothing",
        "C-D2",
        b"retry: 5000\n\ndata: a\n\n",
        events=A,
    ),
]

IDS = [
    _one(
        "client.id.1",
        "id sets the last event ID",
        "C-P10 C-D1",
        b"id: 1\ndata: a\n\n",
        events=(ev("a", id="1"),),
    ),
    _one(
        "client.id.2",
        "the last event ID persists to later events",
        "C-D1",
        b"id: 1\ndata: a\n\ndata: b\n\n",
        events=(ev("a", id="1"), ev("b", id="1")),
    ),
    _one(
        "client.id.3",
        "an empty 'id:' resets the last event ID",
        "C-P10 C-D1",
        b"id: 1\ndata: a\n\nid:\ndata: b\n\n",
        events=(ev("a", id="1"), ev("b")),
    ),
    _one(
        "client.id.4",
        "a bare 'id' line resets the last event ID",
        "C-P6 C-P10",
        b"id: 1\ndata: a\n\nid\ndata: b\n\n",
        events=(ev("a", id="1"), ev("b")),
    ),
    _one(
        "client.id.5",
        "an id holding NUL is ignored",
        "C-P10",
        b"id: 1\ndata: a\n\nid: 2\x003\ndata: b\n\n",
        events=(ev("a", id="1"), ev("b", id="1")),
    ),
    _one(
        "client.id.6",
        "an id in a block without data is committed",
        "C-D1 C-D2",
        b"id: 7\n\ndata: a\n\n",
        events=(ev("a", id="7"),),
    ),
    _one(
        "client.id.7",
        "an id after the data line of its block applies to it",
        "C-D1",
        b"data: a\nid: 2\n\n",
        events=(ev("a", id="2"),),
    ),
    _one(
        "client.id.8",
        "an id keeps spaces, colons and non-ASCII",
        "C-P5 C-P10",
        "id: a:b c é\ndata: a\n\n".encode(),
        events=(ev("a", id="a:b c é"),),
    ),
]

EOF = [
    _case(
        "client.eof.1",
        "an event not ended by a blank line before the body ends is discarded",
        "C-P7",
        stream(b"data: a\n\ndata: b\n", end="close"),
        events=A,
    ),
    _case(
        "client.eof.2",
        "an unterminated last line is discarded",
        "C-P7",
        stream(b"data: a\n\ndata: b", end="close"),
        events=A,
    ),
]

RETRIES = [
    _retry(1, b"", "retry: 100 sets the reconnection time"),
    _retry(2, b"retry: 0000100\n", "leading zeros: retry: 0000100 is 100 ms"),
    _retry(3, b"retry: abc\n", "a non-numeric retry is ignored"),
    _retry(4, b"retry: 1_0000\n", "retry: 1_0000 is ignored (Python int() reads 10000)"),
    _retry(5, b"retry: +9000\n", "a signed retry is ignored"),
    _retry(6, b"retry:  9000\n", "a retry with a second leading space is ignored"),
    _retry(7, b"retry: 9000.5\n", "a decimal retry is ignored (parseInt reads 9000)"),
    _retry(
        8,
        "retry: \u0669\u0660\u0660\u0660\n".encode(),
        "Arabic-Indic digits are ignored (Python int() reads 9000)",
    ),
    _case(
        "client.retry.9",
        "an empty retry is not 0 ms (the standard's wording leaves ignore or reset open)",
        "C-P11 C-H8",
        stream(RETRY + b"retry:\ndata: a\n\n", end="close"),
        stream(b"data: b\n\n"),
        events=None,
        reconnect_after=(0.1, None),
    ),
    _retry(10, b"retry: -1\n", "a negative retry is ignored"),
    _retry(11, b"retry: 9000ms\n", "a retry with a unit is ignored"),
    _case(
        "client.retry.12",
        "an 18-digit retry (30 million years, within 64 bits) is honoured, not wrapped to 0",
        "C-P11 C-H8",
        stream(b"retry: 999999999999999999\ndata: a\n\n", end="close"),
        events=A,
        requests=1,
        bound=4.0,  # past the 2 to 3 s defaults, so a client that falls back to one is seen
    ),
    _one(
        "client.retry.13",
        "a 5000-digit retry does not crash the client",
        "C-P11",
        b"retry: " + b"9" * 5000 + b"\ndata: a\n\ndata: b\n\n",
        events=(ev("a"), ev("b")),
    ),
]

REQUESTS = [
    _case(
        "client.request.1",
        "the request is a GET",
        "C-R1",
        stream(b"data: a\n\n"),
        events=A,
        method="GET",
    ),
    _case(
        "client.request.2",
        "the request carries Accept: text/event-stream",
        "C-R2",
        stream(b"data: a\n\n"),
        events=A,
        headers=(Header(0, "Accept", "text/event-stream"),),
        level=Level.PRACTICE,
    ),
    _case(
        "client.request.3",
        "the request carries Cache-Control: no-cache",
        "C-R3",
        stream(b"data: a\n\n"),
        events=A,
        headers=(Header(0, "Cache-Control", "no-cache", token=True),),
        level=Level.SHOULD,
    ),
    _case(
        "client.request.4",
        "the first request carries no Last-Event-ID",
        "C-R4",
        stream(b"data: a\n\n"),
        events=A,
        headers=(Header(0, "Last-Event-ID", None),),
    ),
]

RECONNECTS = [
    _reconnect(
        1,
        "the client reconnects after the body ends normally",
        "C-H6 C-H8",
        b"data: a\n\n",
        b"data: b\n\n",
        (ev("a"), ev("b")),
        reconnect_after=PROMPT_RECONNECT,
    ),
    _reconnect(
        2,
        "Last-Event-ID is sent on reconnect, and the ID carries over to later events",
        "C-R4 C-H8 C-D1",
        b"id: 42\ndata: a\n\n",
        b"data: b\n\n",
        (ev("a", id="42"), ev("b", id="42")),
        headers=(Header(1, "Last-Event-ID", "42"),),
    ),
    _reconnect(
        3,
        "no Last-Event-ID after the ID was reset",
        "C-R4 C-P10",
        b"id: 1\ndata: a\n\nid\ndata: b\n\n",
        b"data: c\n\n",
        (ev("a", id="1"), ev("b"), ev("c")),
        headers=(Header(1, "Last-Event-ID", None),),
    ),
    _reconnect(
        4,
        "a non-ASCII Last-Event-ID is sent as UTF-8",
        "C-R4",
        "id: café€\ndata: a\n\n".encode(),
        b"data: b\n\n",
        (ev("a", id="café€"), ev("b", id="café€")),
        headers=(Header(1, "Last-Event-ID", "café€"),),
    ),
    _reconnect(
        5,
        "an ID from a block without data is sent on reconnect",
        "C-R4 C-D1",
        b"data: a\n\nid: 9\n\n",
        b"data: b\n\n",
        (ev("a"), ev("b", id="9")),
        headers=(Header(1, "Last-Event-ID", "9"),),
    ),
    _reconnect(
        6,
        "an ID inside an unterminated block is not committed",
        "C-P7 C-R4",
        b"id: 1\ndata: a\n\nid: 2\ndata: b\n",
        b"data: c\n\n",
        (ev("a", id="1"), ev("c", id="1")),
        headers=(Header(1, "Last-Event-ID", "1"),),
    ),
    _reconnect(
        7,
        "a pending event is dropped at the end of the body, not joined to the next connection's",
        "C-P7",
        b"data: a\n\ndata: p\n",
        b"data: b\n\n",
        (ev("a"), ev("b")),
    ),
    _reconnect(
        8,
        "a pending event type does not carry over to the next connection",
        "C-P7 C-D5",
        b"data: a\n\nevent: x\n",
        b"data: b\n\n",
        (ev("a"), ev("b")),
    ),
    _reconnect(
        9,
        "a BOM at the start of the new connection's body is stripped",
        "C-P1",
        b"data: a\n\n",
        b"\xef\xbb\xbfdata: b\n\n",
        (ev("a"), ev("b")),
    ),
    _reconnect(
        10,
        "the client reconnects after the connection breaks mid-body",
        "C-H2",
        b"data: a\n\n",
        b"data: b\n\n",
        (ev("a"), ev("b")),
        end="abort",
        level=Level.SHOULD,
    ),
    _reconnect(
        11,
        "Accept and Cache-Control are sent on the reconnect too",
        "C-H8 C-R2 C-R3",
        b"data: a\n\n",
        b"data: b\n\n",
        (ev("a"), ev("b")),
        headers=(
            Header(1, "Accept", "text/event-stream"),
            Header(1, "Cache-Control", "no-cache", token=True),
        ),
        level=Level.SHOULD,
    ),
    _case(
        "client.reconnect.12",
        "after a redirect, the reconnect goes to the original URL (SPEC C-R5; browsers differ)",
        "C-R5 C-H8",
        redirect(307),
        stream(RETRY + b"data: a\n\n", end="close"),
        stream(b"data: b\n\n"),
        events=(ev("a"), ev("b")),
        informational=True,
        paths=("", "/redirected", ""),
    ),
    _case(
        "client.reconnect.13",
        "default reconnection time without retry (implementation-defined)",
        "C-H9",
        stream(b"data: a\n\n", end="close"),
        stream(b"data: b\n\n"),
        informational=True,
        bound=11.0,
        events=None,
        fails=None,
    ),
]

REDIRECTS = [
    *(_redirect(code) for code in (301, 302, 303, 307, 308)),
    _case(
        "client.redirect.6",
        "a 302 without Location is a non-200 response: fail",
        "C-H3 C-R5",
        redirect(302, location=None),
        fails=True,
        requests=1,
    ),
]

STATUSES = [
    _status(201, "201 Created: fail, no reconnect"),
    _status(204, "204 No Content: fail, no reconnect", "C-H3 C-H7 S-13"),
    _status(205, "205 Reset Content: fail, no reconnect"),
    _status(401, "401 Unauthorized: fail, no reconnect"),
    _status(404, "404 Not Found: fail, no reconnect"),
    _status(429, "429 Too Many Requests: fail, no reconnect"),
    _status(500, "500 Internal Server Error: fail, no reconnect"),
    _status(502, "502 Bad Gateway: fail, no reconnect"),
    _status(503, "503 Service Unavailable: fail, no reconnect", "C-H3 C-H7 S-14"),
]

CONTENT_TYPES = [
    _accepted_type(1, "text/event-stream;", "an empty parameter list is accepted"),
    _accepted_type(2, "text/event-stream; charset=utf-8", "charset=utf-8 is accepted"),
    _accepted_type(3, "Text/Event-Stream", "the MIME type is case-insensitive"),
    _accepted_type(4, "text/event-stream ; x=y", "whitespace before the parameters is allowed"),
    _case(
        "client.ctype.5",
        "charset=windows-1252 is ignored: the body is still decoded as UTF-8",
        "C-H4 C-P1",
        stream("data: café\n\n".encode(), content_type="text/event-stream; charset=windows-1252"),
        events=(ev("café"),),
    ),
    _content_type(6, "text/plain", "text/plain: fail, no reconnect"),
    _content_type(7, "application/json", "application/json: fail, no reconnect"),
    _content_type(8, None, "no Content-Type: fail, no reconnect"),
    _content_type(9, "text/event-stream-bogus", "a type that only starts with text/event-stream"),
    _content_type(10, "xtext/event-stream", "a type that only contains text/event-stream"),
    _content_type(11, "event-stream", "an unparseable type: fail, no reconnect"),
]

TIMING = [
    _case(
        "client.timing.1",
        "the open is announced when the headers arrive, before any body",
        "C-H5",
        stream(Piece(b"data: a\n\n", delay=1.0)),
        events=A,
        open_within=0.5,
    ),
    _case(
        "client.timing.2",
        "the first event is dispatched as soon as it arrives",
        "C-P3",
        stream(b"data: a\n\n"),
        events=A,
        dispatch_within=0.3,
        level=Level.SHOULD,
    ),
    _case(
        "client.timing.3",
        "each event is dispatched as its chunk arrives, not when a buffer fills",
        "C-P3",
        stream(b"data: 1\n\n", Piece(b"data: 2\n\n", delay=0.4), Piece(b"data: 3\n\n", delay=0.4)),
        events=(ev("1"), ev("2"), ev("3")),
        dispatch_within=0.3,
        level=Level.SHOULD,
    ),
]

CASES: tuple[ClientCase, ...] = (
    *LINES,
    *CHUNKS,
    *UTF8,
    *BOM,
    *FIELDS,
    *COMMENTS,
    *DATA,
    *IDS,
    *EOF,
    *RETRIES,
    *REQUESTS,
    *RECONNECTS,
    *REDIRECTS,
    *STATUSES,
    *CONTENT_TYPES,
    *TIMING,
    *LLM,
    *MCP,
)


def select(pattern: str | None = None) -> list[ClientCase]:
    """Cases whose id ``pattern`` selects (globs or prefixes, comma-separated; None: every case);
    :class:`harness.selection.NoCaseMatched` (a ValueError naming the groups) when none."""
    return select_by_id(CASES, pattern, key=lambda case: case.id)
