"""Hypothesis properties of the parser and encoder.

The oracle below is a literal transcription of the WHATWG processing model over the decoded text
(decode the whole stream, strip one BOM, split on CRLF/CR/LF, run the field steps). It is slow and
obviously right; the parser is fast and chunk-driven. Agreement on arbitrary bytes and arbitrary
chunkings is the strongest evidence that the fast path decides every case as the spec does.
"""

from __future__ import annotations

import itertools
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.stream import (
    DEFAULT_MAX_EVENT,
    DEFAULT_MAX_LINE,
    MAX_RETRY_MS,
    Event,
    Parser,
    StreamLimitError,
    _split_lf,
    _split_lines,
    _values,
    encode,
)

PROPERTY_SETTINGS = settings(max_examples=400, deadline=None, derandomize=True)


def oracle(stream: bytes) -> tuple[list[Event], str, int | None]:
    text = stream.decode("utf-8", "replace")
    if text.startswith("\ufeff"):
        text = text[1:]
    lines = re.split("\r\n|\r|\n", text)[:-1]  # the last piece has no terminator: discarded
    events: list[Event] = []
    data, kind, id_buffer, last_id, retry = "", "", "", "", None
    for line in lines:
        if line == "":
            last_id = id_buffer
            if data == "":
                kind = ""
                continue
            events.append(
                Event(kind or "message", data[:-1] if data.endswith("\n") else data, last_id)
            )
            data, kind = "", ""
            continue
        if line.startswith(":"):
            continue
        name, colon, value = line.partition(":")
        if colon and value.startswith(" "):
            value = value[1:]
        if name == "event":
            kind = value
        elif name == "data":
            data += value + "\n"
        elif name == "id":
            if "\x00" not in value:
                id_buffer = value
        elif name == "retry" and value and all(c in "0123456789" for c in value):
            digits = value.lstrip("0")
            retry = int(digits or "0") if len(digits) <= 18 else MAX_RETRY_MS
    return events, last_id, retry


# fmt: off
TOKENS = [
    b"data", b"event", b"id", b"retry", b"Data", b"x", b":", b": ", b" ", b"\t",
    b"\r", b"\n", b"\r\n", b"\n\n", b"\xef\xbb\xbf", b"\xef\xbb", b"\xff", b"\xe4\xb8\xad",
    b"\xe4", b"\x00", b"0", b"7", b"12", "\u2028".encode(), b"\x85", b"\x0b",
]
# fmt: on
sse_bytes = st.one_of(
    st.lists(st.sampled_from(TOKENS), max_size=60).map(b"".join),
    st.binary(max_size=200),
)


def split(stream: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(stream) + 1) for c in cuts})
    bounds = [0, *points, len(stream)]
    return [stream[a:b] for a, b in itertools.pairwise(bounds)]


def run(chunks: list[bytes]) -> tuple[list[Event], str, int | None]:
    parser = Parser()
    events: list[Event] = []
    for chunk in chunks:
        events += parser.feed(chunk)
    parser.close()
    return events, parser.last_event_id, parser.retry


@PROPERTY_SETTINGS
@given(sse_bytes, st.lists(st.integers(min_value=0), max_size=12))
def test_any_bytes_any_chunking_matches_the_spec_oracle(stream: bytes, cuts: list[int]) -> None:
    assert run(split(stream, cuts)) == oracle(stream)


@PROPERTY_SETTINGS
@given(sse_bytes)
def test_one_byte_chunks_match_the_spec_oracle(stream: bytes) -> None:
    assert run([stream[i : i + 1] for i in range(len(stream))]) == oracle(stream)


@PROPERTY_SETTINGS
@given(sse_bytes, st.lists(st.integers(min_value=0), max_size=12))
def test_validating_mode_sees_the_same_events(stream: bytes, cuts: list[int]) -> None:
    plain = run(split(stream, cuts))
    parser = Parser(validate=True)
    events = [e for chunk in split(stream, cuts) for e in parser.feed(chunk)]
    parser.close()
    assert (events, parser.last_event_id, parser.retry) == plain
    for violation in parser.violations:
        assert 0 <= violation.offset <= len(stream)


@PROPERTY_SETTINGS
@given(st.binary(max_size=3000), st.lists(st.integers(min_value=0), max_size=20))
def test_arbitrary_bytes_raise_only_limit_errors_within_limits(
    stream: bytes, cuts: list[int]
) -> None:
    parser = Parser(max_line=64, max_event=256)
    try:
        for chunk in split(stream, cuts):
            parser.feed(chunk)
            assert parser.buffered <= 64 + 256
        parser.close()
    except StreamLimitError as exc:
        assert exc.limit in ("max_line", "max_event")


text = st.text(st.characters(exclude_categories=["Cs"]), max_size=30)
line_free = text.filter(lambda s: "\r" not in s and "\n" not in s)
events = st.lists(
    st.tuples(
        text,
        st.one_of(st.none(), line_free.filter(lambda s: s != "")),
        st.one_of(st.none(), line_free.filter(lambda s: "\x00" not in s)),
    ),
    max_size=8,
)


@PROPERTY_SETTINGS
@given(events, st.sampled_from(["\n", "\r\n", "\r"]), st.lists(st.integers(min_value=0)))
def test_parse_of_encode_round_trips(
    items: list[tuple[str, str | None, str | None]], eol: str, cuts: list[int]
) -> None:
    stream = b"".join(encode(data=d, event=e, id=i, eol=eol) for d, e, i in items)
    expected, last = [], ""
    for data, kind, id_ in items:
        last = last if id_ is None else id_
        # The format has no escape for CR: every line break in data arrives as LF.
        expected.append(Event(kind or "message", re.sub("\r\n|\r", "\n", data), last))
    assert run(split(stream, cuts))[:2] == (expected, last)


@PROPERTY_SETTINGS
@given(events, st.integers(min_value=0, max_value=2**40))
def test_line_ending_choice_does_not_change_events(
    items: list[tuple[str, str | None, str | None]], retry: int
) -> None:
    results = {
        eol: run(
            [b"".join(encode(data=d, event=e, id=i, retry=retry, eol=eol) for d, e, i in items)]
        )
        for eol in ("\n", "\r\n", "\r")
    }
    assert results["\n"] == results["\r\n"] == results["\r"]
    if items:
        assert results["\n"][2] == retry


@PROPERTY_SETTINGS
@given(
    st.one_of(
        st.lists(
            st.sampled_from(["\r", "\n", "\r\n", "\r\r\n", "x", "data: é", ""]), max_size=40
        ).map("".join),
        # CRLF text (the shortcut's case), where a lone CR or LF may sit between CRLFs
        st.lists(st.sampled_from(["x", "data: é", "", "\r", "\n"]), max_size=12).map("\r\n".join),
    )
)
def test_crlf_shortcut_splits_like_the_regex(text: str) -> None:
    """The CRLF shortcut must give exactly the lines the general split gives."""
    assert _split_lines(text) == re.split("\r\n|\r|\n", text)


@PROPERTY_SETTINGS
@given(
    st.lists(st.sampled_from(["\n", "\n\n", "x", "yyyyy", "é世"]), max_size=30), st.integers(1, 9)
)
def test_long_line_split_is_str_split(pieces: list[str], window: int) -> None:
    """Probing windows and cutting out long lines must give exactly str.split's lines."""
    text = "".join(pieces)
    assert _split_lf(text, window) == text.split("\n")


@pytest.mark.parametrize("cut", [1, 4096, 16383, 16384, 65536, 100_000])
def test_lines_longer_than_the_split_window_match_the_spec_oracle(cut: int) -> None:
    lines = ["id: 1", "data: " + "y" * 40_000, "", "", "data: " + "é" * 17_000]
    lines += ["data: " + "z" * 16_379, "", "data: short", "", "data: " + "w" * 20_000, "", ""]
    stream = "\n".join(lines).encode()
    chunks = [stream[i : i + cut] for i in range(0, len(stream), cut)]
    assert run(chunks) == oracle(stream)
    assert [len(e.data) for e in run(chunks)[0]] == [40_000, 33_380, 5, 20_000]


@PROPERTY_SETTINGS
@given(
    st.lists(
        st.sampled_from(["data: x", "data: ", "data:", "dat", "", "id: data: ", "é"]), min_size=1
    )
)
def test_column_values_are_the_text_after_the_prefix(column: list[str]) -> None:
    """None unless every line starts with the prefix; then what follows it on each line."""
    expected = (
        [line[6:] for line in column] if all(s.startswith("data: ") for s in column) else None
    )
    assert _values(column, "data: ") == expected


@PROPERTY_SETTINGS
@given(st.lists(st.sampled_from([b"data: ", b"data:", b"data", b"x", b" ", b":", b"\n", b"\r\n"])))
def test_data_line_shortcut_matches_the_spec_oracle(pieces: list[bytes]) -> None:
    """`data: ` lines skip partition; any line near that prefix must still decide as the spec."""
    stream = b"".join(pieces)
    assert run([stream]) == oracle(stream)


# -- the block fast path (Parser._blocks) against the general loop (Parser._lines) ---------------


class GeneralParser(Parser):
    """The general path alone: every line through the per-line loop."""

    def _blocks(self, lines: list[str]) -> list[Event]:
        return self._lines(lines)


class BlocksParser(Parser):
    """The block fast path on every chunk, however few its lines."""

    _blocks_min_lines = 0


pieces = st.sampled_from(["x", " ", ":", "é", "世", "data: ", "7"])
value = st.lists(pieces, max_size=4).map("".join)
field_line = st.tuples(st.sampled_from(["data", "event", "id", "retry", "", "Data", "x"]), value)
odd_line = st.sampled_from([": keep-alive", "data", "data:x", "id:", "retry: 5", "event", ""])


@st.composite
def block_streams(draw: st.DrawFn) -> bytes:
    """Runs of blocks of one shape (what the fast path takes), with breaks in the pattern."""
    shape = draw(st.lists(st.sampled_from(["data", "event", "id"]), min_size=1, max_size=4))
    lines: list[str] = []
    for _ in range(draw(st.integers(0, 8))):
        if draw(st.integers(0, 9)) == 0:  # a line that breaks the pattern
            name, val = draw(field_line)
            lines.append(draw(st.one_of(odd_line, st.just(f"{name}: {val}"))))
        for name in shape:
            lines.append(f"{name}: {draw(value)}")
        lines.append("")
    if draw(st.booleans()):  # NUL sends a chunk to the general loop (an id holding it is void)
        lines.append("id: \x00")
    eol = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    tail = draw(st.sampled_from(["", "data: open", "id: 9", "data: x\n"]))
    return (draw(st.sampled_from(["", "\ufeff"])) + eol.join(lines) + tail).encode()


def trace(parser: Parser, chunks: list[bytes]) -> list[object]:
    """Everything observable after each chunk: events, state, or the limit error."""
    seen: list[object] = []
    for chunk in chunks:
        try:
            events = parser.feed(chunk)
        except StreamLimitError as exc:
            seen.append((exc.limit, exc.offset, exc.events))
            return seen
        state = (parser.last_event_id, parser.retry, parser.comments, parser.buffered)
        seen.append((events, state))
    parser.close()
    seen.append((parser.last_event_id, parser.retry))
    return seen


@PROPERTY_SETTINGS
@given(
    st.one_of(block_streams(), sse_bytes),
    st.lists(st.integers(min_value=0), max_size=8),
    st.sampled_from([(DEFAULT_MAX_LINE, DEFAULT_MAX_EVENT), (16, 24), (64, 8)]),
)
def test_block_fast_path_decides_as_the_general_loop(
    stream: bytes, cuts: list[int], limits: tuple[int, int]
) -> None:
    chunks = split(stream, cuts)
    max_line, max_event = limits
    fast = trace(BlocksParser(max_line=max_line, max_event=max_event), chunks)
    general = trace(GeneralParser(max_line=max_line, max_event=max_event), chunks)
    assert fast == general


@PROPERTY_SETTINGS
@given(block_streams(), st.lists(st.integers(min_value=0), max_size=8))
def test_block_streams_match_the_spec_oracle(stream: bytes, cuts: list[int]) -> None:
    chunks = split(stream, cuts)
    parser = BlocksParser()
    events = [event for chunk in chunks for event in parser.feed(chunk)]
    parser.close()
    assert (events, parser.last_event_id, parser.retry) == oracle(stream)
