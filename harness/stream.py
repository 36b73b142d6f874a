"""Sans-I/O ``text/event-stream`` parser and encoder: bytes in, events out, no sockets.

The parser implements the WHATWG processing model (SPEC.md C-P1..C-P11, C-D1..C-D5) exactly, so
that every other part of the harness (asyncio client, Locust users, fuzzing server, hypothesis
properties) agrees on what a conforming client sees.

Line splitting happens on bytes, so that a line's byte offset is known and a CR split from its LF
by a chunk boundary is handled before any decoding. The complete lines of a chunk are then decoded
in one call: CR and LF never occur inside a multi-byte UTF-8 sequence, so this gives exactly the
text that decoding the whole stream first would give, at a fraction of the cost of decoding field
by field.

Memory is bounded by construction: an unterminated line may not exceed ``max_line`` bytes and the
data of one event may not exceed ``max_event`` characters; exceeding either raises
:class:`StreamLimitError` naming the limit and the stream offset.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import repeat
from typing import NoReturn

__all__ = [
    "DEFAULT_MAX_EVENT",
    "DEFAULT_MAX_LINE",
    "EVENT_STREAM",
    "MAX_RETRY_MS",
    "Event",
    "Parser",
    "StreamLimitError",
    "Violation",
    "encode",
    "media_type",
]

DEFAULT_MAX_LINE = 1 << 20
DEFAULT_MAX_EVENT = 8 << 20
DEFAULT_MAX_VIOLATIONS = 1000

#: A ``retry`` value with more significant digits than this is clamped to :data:`MAX_RETRY_MS`.
#: The standard accepts any run of ASCII digits; a client cannot wait 10^(10^6) ms anyway, and
#: Python's ``int()`` refuses strings over 4300 digits, so the value is decided without it.
MAX_RETRY_MS = 2**63 - 1
_RETRY_EXACT_DIGITS = 18

#: The media type of an event stream, what ``Accept`` asks for and ``Content-Type`` must be.
EVENT_STREAM = "text/event-stream"

_BOM = b"\xef\xbb\xbf"
_EOL = re.compile(rb"\r\n|\r|\n")
_EOL_TEXT = re.compile("\r\n|\r|\n")
_KNOWN_FIELDS = frozenset((b"data", b"event", b"id", b"retry"))
# The block fast path (Parser._blocks): the field prefixes it knows, and the fewest lines that
# make it pay (below, the general loop is cheaper than setting up the columns).
_BLOCK_PREFIXES = ("data: ", "event: ", "id: ")
# _split_lf: a line longer than this is cut out with memchr, not split character by character.
_SPLIT_WINDOW = 1 << 14
# Parser._held: more data lines than this, added by one call to an unfinished event, are joined.
_JOIN_LINES = 64


@dataclass(frozen=True, slots=True)
class Event:
    """One dispatched event, as a conforming EventSource would hand it to a listener."""

    type: str = "message"
    data: str = ""
    last_event_id: str = ""


# A frozen dataclass's __init__ sets each field through object.__setattr__, which costs twice as
# much as everything else about an event; the hot loop fills the slots through their descriptors.
_new_event = object.__new__
_set_type = Event.__dict__["type"].__set__
_set_data = Event.__dict__["data"].__set__
_set_last_event_id = Event.__dict__["last_event_id"].__set__


@dataclass(frozen=True, slots=True)
class Violation:
    """A producer-side grammar breach found by the validating mode (server conformance)."""

    rule: str
    offset: int
    message: str
    excerpt: bytes


class StreamLimitError(Exception):
    """A configured bound was exceeded; the stream cannot be parsed further.

    ``events`` holds the events the same ``feed`` call completed before the breach, so a caller
    can deliver them before reporting the error: nothing that arrived intact is lost.
    """

    def __init__(self, limit: str, value: int, offset: int, events: list[Event] | None = None):
        super().__init__(f"{limit}={value} exceeded at stream offset {offset}")
        self.limit = limit
        self.value = value
        self.offset = offset
        self.events: list[Event] = events if events is not None else []


def _excerpt(line: bytes, at: int = 0, width: int = 40) -> bytes:
    start = max(0, at - width // 2)
    return line[start : start + width]


class Parser:
    """Incremental event-stream parser.

    ``feed`` accepts any chunking of the stream and returns the events it completes. A CR that
    ends a chunk terminates its line at once (an event it ends is dispatched without waiting for
    the next chunk); a LF that starts the next chunk is then swallowed as the second half of CRLF.

    With ``validate=True`` the parser also records each breach of the producer rules
    (S-04..S-11) in :attr:`violations`, without changing the events it returns.
    """

    #: The fewest complete lines in a chunk for which the block fast path (:meth:`_blocks`) pays;
    #: below it, the general loop is cheaper than setting up the columns.
    _blocks_min_lines = 12

    def __init__(
        self,
        *,
        max_line: int = DEFAULT_MAX_LINE,
        max_event: int = DEFAULT_MAX_EVENT,
        validate: bool = False,
        max_violations: int = DEFAULT_MAX_VIOLATIONS,
        last_event_id: str = "",
    ) -> None:
        if max_line <= 0 or max_event <= 0:
            raise ValueError("max_line and max_event must be positive")
        self.max_line = max_line
        self.max_event = max_event
        self.validate = validate
        self.max_violations = max_violations
        #: The last event ID string (C-D1): persists across events; seed it on reconnect.
        self.last_event_id = last_event_id
        #: Reconnection time in ms from the last valid ``retry`` field, or None.
        self.retry: int | None = None
        #: Comment lines seen: a keep-alive is a comment, and S-16 asks whether one came.
        self.comments = 0
        #: Producer breaches seen (validating mode), at most ``max_violations`` of them.
        self.violations: list[Violation] = []
        #: All breaches seen, including those not kept in :attr:`violations`.
        self.violation_count = 0
        #: Validating mode: for each event the last ``feed`` returned, the id field of its block,
        #: or None where the block had none and the event only inherited the last event ID. It
        #: tells a repeated id (a duplicate) from an event that simply carried no id.
        self.id_fields: list[str | None] = []
        self._pending = bytearray()  # the unterminated tail of the stream
        self._offset = 0  # stream offset of the first byte of _pending
        self._skip_lf = False  # the previous chunk ended in CR
        self._at_start = True  # the BOM decision is still open
        self._closed = False
        self._special = True  # one of _closed, _skip_lf, _at_start may be set: feed must look
        # Event buffers (C-P9, C-P10): data lines, joined at dispatch.
        self._data: list[str] = []
        self._data_size = 0
        self._data_lines = 0  # of _data, those _data_size measured
        self._type = ""
        self._id: str | None = None  # id buffer; None means unchanged since the last dispatch
        self._open_block = False  # a non-blank line has been seen since the last blank line

    # -- public API ------------------------------------------------------------------------

    @property
    def buffered(self) -> int:
        """Bytes held between calls (partial line plus pending data): what the limits bound."""
        return len(self._pending) + self._data_size

    def feed(self, chunk: bytes) -> list[Event]:
        """Consume ``chunk`` and return the events it completes, in order."""
        if self._special:  # closed, a CR ended the last chunk, or the BOM is undecided
            chunk = self._prelude(chunk)
            if not chunk:
                return []
        # Complete lines: chunk[:end], up to the last LF or a CR after it. Only the tail after the
        # LF is searched for a CR: a second scan of the whole chunk would cost a long line twice.
        end = chunk.rfind(b"\n") + 1
        end = max(end, chunk.rfind(b"\r", end) + 1)
        pending = self._pending
        if not end:
            pending += chunk
            if len(pending) > self.max_line:
                raise StreamLimitError("max_line", self.max_line, self._offset)
            return []
        if pending:
            end += len(pending)
            buf = b"".join((pending, chunk))  # one copy of each, however long the line
            pending.clear()
        else:
            buf = chunk
        if buf[end - 1] == 0x0D and end == len(buf):
            self._skip_lf = self._special = True
        if len(buf) > self.max_line:
            self._check_line_lengths(buf, end)
        if self.validate:
            self.id_fields.clear()
            events = self._byte_lines(buf, _EOL.split(buf[:end])[:-1])
        else:
            text = (buf[:end] if end < len(buf) else buf).decode("utf-8", "replace")
            # CR and NUL are sought where memchr finds them: in ASCII text, else in the bytes
            # (`in` over text beyond Latin-1 loops per character). In UTF-8 the bytes 0x0D and
            # 0x00 are those characters and nothing else, so both searches decide alike.
            if ("\r" in text) if text.isascii() else (buf.find(b"\r", 0, end) >= 0):
                lines = _split_lines(text)
            else:  # a call costs more than splitting a short text
                lines = text.split("\n") if len(text) <= _SPLIT_WINDOW else _split_lf(text)
            lines.pop()  # the empty string after the last terminator
            if (
                len(lines) < self._blocks_min_lines
                or len(text) > self.max_event
                or buf.find(b"\x00", 0, end) >= 0
            ):
                events = self._lines(lines)
            else:
                events = self._blocks(lines)
        self._offset += end
        if end < len(buf):
            pending += buf[end:]
        return events

    def _prelude(self, chunk: bytes) -> bytes:
        """The rare cases ``feed`` checks with one flag: what of ``chunk`` is left to parse."""
        if self._closed:
            raise ValueError("feed() after close()")
        if chunk and self._skip_lf:
            self._skip_lf = False
            if chunk[:1] == b"\n":
                chunk = chunk[1:]
                self._offset += 1
        if chunk and self._at_start:
            chunk = self._strip_bom(chunk)
        self._special = self._at_start or self._skip_lf
        return chunk

    def close(self) -> None:
        """End of stream: a pending, unterminated event is discarded (C-P7)."""
        if self._closed:
            return
        self._closed = self._special = True
        if self.validate and (self._pending or self._open_block):
            lost = " and its event is lost" if (self._data or self._pending) else ""
            self._violate(
                "S-07",
                self._offset,
                f"stream ended without the blank line that ends the last block{lost}",
                bytes(self._pending[-40:]),
            )
        self._pending.clear()
        self._data.clear()
        self._type = ""
        self._id = None

    # -- internals ---------------------------------------------------------------------------

    def _check_line_lengths(self, buf: bytes, end: int) -> None:
        """Called only for a buffer longer than max_line, so the common path never pays for it.

        Lines before the over-long one are parsed and their events travel with the error.
        """
        limit = self.max_line
        lines = _EOL.split(buf[:end])[:-1]
        good = list(itertools.takewhile(lambda line: len(line) <= limit, lines))
        if len(good) == len(lines) and len(buf) - end <= limit:
            return
        events = self._byte_lines(buf, good)
        offset = self._offset + _line_starts(buf, good)[-1]
        raise StreamLimitError("max_line", limit, offset, events)

    def _strip_bom(self, chunk: bytes) -> bytes:
        """Strip one BOM at stream start (C-P1), even when it arrives split across chunks."""
        head = bytes(self._pending) + chunk
        if len(head) < 3 and _BOM.startswith(head):
            self._pending = bytearray(head)
            return b""
        self._at_start = False
        self._pending.clear()
        if head.startswith(_BOM):
            self._offset = 3
            return head[3:]
        return head

    def _lines(self, lines: list[str]) -> list[Event]:
        """The hot loop: C-P3..C-P11 and C-D1..C-D5 over complete lines.

        State lives in locals for the loop and is written back at the end: this loop is most of
        the parser's cost, and attribute access per line would double it. The event size bound
        is checked per dispatch and per call, which bounds memory as tightly as a per-line check:
        what one call adds is already in memory as its chunk.
        """
        events: list[Event] = []
        emit = events.append
        data = self._data
        kind = self._type
        id_ = self._id
        last = self.last_event_id
        max_event = self.max_event
        for line in lines:
            if line[:6] == "data: ":  # the commonest line, decided without partition's copies
                data.append(line[6:])
                continue
            if not line:  # C-P3: dispatch
                if id_ is not None:  # C-D1: commit the id even when nothing fires
                    last = id_
                    id_ = None
                if data:  # C-D2..C-D5
                    text = data[0] if len(data) == 1 else "\n".join(data)
                    if len(text) > max_event:
                        self._over_event(kind, id_, last, events)
                    event = _new_event(Event)
                    _set_type(event, kind or "message")
                    _set_data(event, text)
                    _set_last_event_id(event, last)
                    emit(event)
                    data.clear()
                kind = ""
                continue
            name, colon, value = line.partition(":")
            if colon:
                if not name:  # comment (C-P4): ignored, only counted (keep-alive evidence)
                    self.comments += 1
                    continue
                if value[:1] == " ":  # C-P5: exactly one U+0020 stripped
                    value = value[1:]
            if name == "data":  # C-P9
                data.append(value)
            elif name == "event":
                kind = value
            elif name == "id":  # C-P10
                if "\x00" not in value:
                    id_ = value
            # C-P11: ASCII digits only (str.isdigit alone would take U+0665)
            elif name == "retry" and value.isascii() and value.isdigit():
                self.retry = _retry_ms(value)
        self._type, self._id, self.last_event_id = kind, id_, last
        size = self._data_size = self._held(data, 0 if events else self._data_size)
        if size > max_event:
            self._over_event(kind, id_, last, events)
        return events

    def _held(self, data: list[str], size: int) -> int:
        """The size of ``data`` (its joined length + 1), given ``size``, that of the lines an
        earlier call left (0 once an event was dispatched: then every line is new).

        Only the lines this call added are measured, so an event that spans many calls costs
        linear time, not quadratic; and many of them become one string, so that short lines
        (some 50 bytes each as objects) cannot hold many times ``max_event`` in memory.
        """
        held = size and self._data_lines
        added = len(data) - held
        if added > _JOIN_LINES:
            data[held:] = ["\n".join(data[held:])]
            size += len(data[-1]) + 1
        elif added:
            size += sum(map(len, data[held:])) + added
        self._data_lines = len(data)
        return size

    def _blocks(self, lines: list[str]) -> list[Event]:
        """The block fast path: the same decisions as :meth:`_lines`, a column at a time.

        Servers repeat one block shape (say ``id: ``, ``event: ``, ``data: ``, blank) event after
        event. When every field line of the first block starts with ``data: ``, ``event: `` or
        ``id: ``, and the lines that follow repeat that shape, the block's lines at one position
        form a column (``lines[j::period]``), checked and sliced in C (:func:`_values`) instead
        of a Python iteration per line. Anything else (a comment, ``retry``, another shape, a
        field without its space) ends the run, and the rest goes through :meth:`_lines`.
        ``feed`` only calls this on text without NUL (so every ``id`` field counts) and not
        longer than ``max_event`` (so no event can exceed it).
        """
        events: list[Event] = []
        start = 0
        try:
            if self._data or self._type or self._id is not None:  # finish the open block first
                start = lines.index("") + 1
                events = self._lines(lines[:start])
            stop = lines.index("", start)
        except ValueError:  # no blank line: no whole block
            return self._more(events, lines[start:] if start else lines)
        period = stop - start + 1
        count = (len(lines) - start) // period
        stop = start + count * period
        if period == 1 or any(lines[start + period - 1 : stop : period]):
            return self._more(events, lines[start:])
        data: list[list[str]] = []
        kinds: Iterable[str] = repeat("message", count)
        ids: Iterable[str] = repeat(self.last_event_id, count)
        for j, line in enumerate(lines[start : start + period - 1]):
            prefix = _prefix(line)
            values = _values(lines[start + j : stop : period], prefix) if prefix else None
            if values is None:
                return self._more(events, lines[start:])
            if prefix == "data: ":
                data.append(values)
            elif prefix == "event: ":
                kinds = values if all(values) else [kind or "message" for kind in values]
            else:
                ids = values
        if not data:  # id-only or event-only blocks dispatch nothing
            return self._more(events, lines[start:])
        if isinstance(ids, list):
            self.last_event_id = ids[-1]
        texts = data[0] if len(data) == 1 else list(map("\n".join, zip(*data, strict=True)))
        block_events = list(map(_new_event, repeat(Event, count)))
        any(map(_set_type, block_events, kinds))
        any(map(_set_data, block_events, texts))
        any(map(_set_last_event_id, block_events, ids))
        events += block_events
        return self._more(events, lines[stop:]) if stop < len(lines) else events

    def _more(self, events: list[Event], lines: list[str]) -> list[Event]:
        """``events``, then those of ``lines`` by the general loop (on error, all of them)."""
        if not events:
            return self._lines(lines)
        try:
            return events + self._lines(lines)
        except StreamLimitError as exc:  # the earlier events travel with the error too
            exc.events[:0] = events
            raise

    def _over_event(self, kind: str, id_: str | None, last: str, events: list[Event]) -> NoReturn:
        self._type, self._id, self.last_event_id = kind, id_, last
        raise StreamLimitError("max_event", self.max_event, self._offset, events)

    def _byte_lines(self, buf: bytes, lines: list[bytes]) -> list[Event]:
        """Same semantics as :meth:`_lines`, one raw line at a time, checking producer rules
        when validating (the offsets of ``lines`` in ``buf`` make the evidence exact)."""
        events: list[Event] = []
        for line, start in zip(lines, _line_starts(buf, lines), strict=False):
            if self.validate:
                self._check_line(line, self._offset + start)
                self._open_block = bool(line)
            id_field = self._id
            dispatched = self._lines([line.decode("utf-8", "replace")])
            if dispatched:
                events += dispatched
                self.id_fields.append(id_field)
        return events

    def _check_line(self, line: bytes, offset: int) -> None:
        try:
            line.decode("utf-8")
        except UnicodeDecodeError as exc:
            self._violate(
                "S-04",
                offset + exc.start,
                f"invalid UTF-8 ({exc.reason})",
                _excerpt(line, exc.start),
            )
        if not line or line[:1] == b":":
            return
        if line.startswith(_BOM):
            self._violate(
                "S-06",
                offset,
                "a BOM is allowed only at byte 0; here it becomes part of a field name",
                _excerpt(line),
            )
            return
        colon = line.find(b":")
        name = line if colon < 0 else line[:colon]
        value = b"" if colon < 0 else line[colon + 1 :]
        if value[:1] == b" ":
            value = value[1:]
        if name not in _KNOWN_FIELDS:
            if name.lower() in _KNOWN_FIELDS:
                why = "field names are compared case-sensitively; clients ignore this line"
            else:
                why = (
                    "unknown field name; clients ignore this line"
                    " (a value holding CR or LF splits into such lines)"
                )
            self._violate("S-08", offset, why, _excerpt(line))
        elif name == b"id" and b"\x00" in value:
            self._violate(
                "S-10", offset, "id holds U+0000; clients ignore the whole field", _excerpt(line)
            )
        elif name == b"retry" and not value.isdigit():
            self._violate(
                "S-11",
                offset,
                "retry value is not ASCII digits only; clients ignore it",
                _excerpt(line),
            )

    def _violate(self, rule: str, offset: int, message: str, excerpt: bytes) -> None:
        self.violation_count += 1
        if len(self.violations) < self.max_violations:
            self.violations.append(Violation(rule, offset, message, excerpt))


def _line_starts(buf: bytes, lines: list[bytes]) -> list[int]:
    """Offsets in ``buf`` where each of ``lines`` starts, plus where the last one's EOL ends."""
    starts = [0]
    pos = 0
    for line in lines:
        pos += len(line)
        pos += 2 if buf[pos : pos + 2] == b"\r\n" else 1
        starts.append(pos)
    return starts


def _prefix(line: str) -> str | None:
    """The block fast path's field prefix that ``line`` starts with, if any."""
    for prefix in _BLOCK_PREFIXES:
        if line.startswith(prefix):
            return prefix
    return None


def _values(column: list[str], prefix: str) -> list[str] | None:
    """What follows ``prefix`` on each line of ``column``, or None if a line does not start so.

    Lines hold no LF, so in their LF-joined text LF + ``prefix`` occurs exactly where a line after
    the first starts with ``prefix``: splitting there gives one piece per line if and only if they
    all do, and the pieces are the values (the first still behind its prefix). One join and one
    split in C: half the cost of a ``startswith`` and a slice per line.
    """
    values = "\n".join(column).split("\n" + prefix)
    first = values[0]
    if len(values) != len(column) or not first.startswith(prefix):
        return None
    values[0] = first[len(prefix) :]
    return values


def _split_lines(text: str) -> list[str]:
    """Split on CRLF, CR and LF. Where every line ends in CRLF (sse-starlette's line end), no CR or
    LF is left in the pieces of a split on CRLF, and they are the lines: a str.split and a join,
    much faster than a regex. Anything else (a lone CR, or LF mixed in) takes the regex."""
    lines = text.split("\r\n")
    rest = "".join(lines)
    return _EOL_TEXT.split(text) if "\r" in rest or "\n" in rest else lines


def _split_lf(text: str, window: int = _SPLIT_WINDOW) -> list[str]:
    """``text.split("\\n")``, fast over long lines too.

    str.split compares every character, while str.find and str.rfind jump to an LF with memchr,
    an order of magnitude faster over a long line. So the text is probed a window at a time: a
    window with an LF moves the probe past its last LF; a window without one starts a line longer
    than the window, which find cuts out. Only the text between such lines is split: text of short
    lines (the common case) pays a few probes, and a 100 KB data line a memchr instead of a
    character loop.
    """
    lines: list[str] = []
    start = probe = 0  # text before start is in lines; probe is where a line starts
    size = len(text)
    while size - probe > window:
        cut = text.rfind("\n", probe, probe + window)
        if cut < 0:  # the line at probe is longer than the window
            cut = text.find("\n", probe + window)
            if cut < 0:
                break
            if probe > start:
                lines += text[start : probe - 1].split("\n")
            lines.append(text[probe:cut])
            start = cut + 1
        probe = cut + 1
    if not start:
        return text.split("\n")
    lines += text[start:].split("\n")
    return lines


def _retry_ms(digits: str) -> int:
    significant = digits.lstrip("0")
    if len(significant) > _RETRY_EXACT_DIGITS:
        return MAX_RETRY_MS
    return int(significant or "0")


_EOLS = ("\n", "\r\n", "\r")


def media_type(content_type: str | None) -> str:
    """The essence of a Content-Type value: type/subtype, lowercased, parameters dropped.

    A client compares only this with :data:`EVENT_STREAM` (C-H4): ``text/event-stream;`` and a
    ``charset`` are fine, the body is UTF-8 whatever the parameters say.
    """
    return (content_type or "").partition(";")[0].strip().lower()


def _line(name: str, value: str) -> str:
    return f"{name}: {value}" if value else f"{name}:"


def encode(
    data: str | None = None,
    event: str | None = None,
    id: str | None = None,
    retry: int | None = None,
    comment: str | None = None,
    eol: str = "\n",
) -> bytes:
    """Encode one block (comment, fields, blank line) so that it parses back to exactly its input.

    Refuses with ``ValueError`` what cannot round-trip rather than emitting what a client would
    drop or mangle: an id holding NUL, CR or LF; an event name holding CR or LF; a retry that is
    not a non-negative ``int`` (``True`` included). Multi-line data becomes several ``data:``
    lines, so CR and CRLF in data arrive as LF (the format has no other way to carry them); a
    value's leading space survives because one space always follows the colon.

    The commonest block of a load test, an ``id`` and one line of ``data``, is written directly,
    at a fifth of the general path's cost (:func:`_encode_lines`, which a property test holds it
    byte-equal to): a server streaming to thousands of clients encodes one per event.
    """
    if (
        data
        and id
        and eol == "\n"
        and event is None
        and retry is None
        and comment is None
        and "\n" not in data
        and "\r" not in data
        and "\n" not in id
        and "\r" not in id
        and "\x00" not in id
    ):
        return f"id: {id}\ndata: {data}\n\n".encode()
    return _encode_lines(data, event, id, retry, comment, eol)


def _encode_lines(
    data: str | None,
    event: str | None,
    id: str | None,
    retry: int | None,
    comment: str | None,
    eol: str,
) -> bytes:
    """:func:`encode`, any block: its fields as lines, each value checked."""
    if eol not in _EOLS:
        raise ValueError(f"eol must be one of {_EOLS!r}, got {eol!r}")
    lines: list[str] = []
    if comment is not None:
        lines.extend(": " + part if part else ":" for part in _EOL_TEXT.split(comment))
    if event is not None:
        if "\r" in event or "\n" in event:
            raise ValueError(f"event name holds CR or LF: {event!r}")
        lines.append(_line("event", event))
    if id is not None:
        if "\x00" in id or "\r" in id or "\n" in id:
            raise ValueError(f"id holds NUL, CR or LF (clients ignore or split it): {id!r}")
        lines.append(_line("id", id))
    if retry is not None:
        if isinstance(retry, bool) or not isinstance(retry, int) or retry < 0:
            raise ValueError(f"retry must be a non-negative int of milliseconds, got {retry!r}")
        lines.append(f"retry: {retry}")
    if data is not None:
        lines.extend(_line("data", part) for part in _EOL_TEXT.split(data))
    lines.append("")
    lines.append("")
    return eol.join(lines).encode("utf-8")
