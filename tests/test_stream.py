"""Exact-byte tests for every client parsing rule (SPEC.md C-P*, C-D*), the encoder, the limits
and the validating mode. Each input is the smallest stream that a wrong parser gets wrong."""

from __future__ import annotations

import pytest

from harness.stream import (
    MAX_RETRY_MS,
    Event,
    Parser,
    StreamLimitError,
    Violation,
    encode,
    media_type,
)


def parse(stream: bytes, chunks: int | None = None) -> tuple[list[Event], Parser]:
    """Feed ``stream`` whole, or in pieces of ``chunks`` bytes, then close."""
    parser = Parser()
    events: list[Event] = []
    step = chunks or max(1, len(stream))
    for i in range(0, len(stream), step):
        events += parser.feed(stream[i : i + step])
    parser.close()
    return events, parser


def datas(stream: bytes) -> list[str]:
    return [e.data for e in parse(stream)[0]]


# -- C-P1: UTF-8 and BOM ----------------------------------------------------------------------


def test_c_p1_invalid_utf8_becomes_replacement_character() -> None:
    assert datas(b"data: a\xffb\xe4\xb8\n\n") == ["a\ufffdb\ufffd"]


def test_c_p1_one_leading_bom_is_stripped() -> None:
    assert datas(b"\xef\xbb\xbfdata: x\n\n") == ["x"]


def test_c_p1_bom_split_across_chunks_is_stripped() -> None:
    assert parse(b"\xef\xbb\xbfdata: x\n\n", chunks=1)[0] == [Event("message", "x", "")]


def test_c_p1_second_bom_is_part_of_the_first_field_name() -> None:
    # "\ufeffdata" is an unknown field: nothing is dispatched.
    assert datas(b"\xef\xbb\xbf\xef\xbb\xbfdata: x\n\n") == []


def test_c_p1_bom_after_stream_start_is_not_stripped() -> None:
    assert datas(b"data: a\n\n\xef\xbb\xbfdata: b\n\n") == ["a"]


def test_c_p1_partial_bom_prefix_is_ordinary_text() -> None:
    assert datas(b"\xef\xbbdata: x\n\n") == []  # field name "\ufffddata"
    assert parse(b"\xef\xbb", chunks=1)[0] == []


def test_c_p1_multibyte_character_split_across_chunks() -> None:
    stream = "data: 七夕\n\n".encode()
    for size in (1, 2, 7, 8):
        assert [e.data for e in parse(stream, chunks=size)[0]] == ["七夕"]


# -- C-P2: line terminators -------------------------------------------------------------------


@pytest.mark.parametrize("eol", [b"\n", b"\r\n", b"\r"])
def test_c_p2_each_terminator(eol: bytes) -> None:
    stream = b"data: a" + eol + b"data: b" + eol + eol
    assert datas(stream) == ["a\nb"]


def test_c_p2_mixed_terminators() -> None:
    assert datas(b"data: a\rdata: b\r\ndata: c\n\r\n") == ["a\nb\nc"]


def test_c_p2_cr_at_chunk_end_dispatches_at_once() -> None:
    parser = Parser()
    assert parser.feed(b"data: x\r\r") == [Event("message", "x", "")]
    # The LF that follows completes the CRLF; it must not become an extra blank line.
    assert parser.feed(b"\ndata: y\n") == []
    assert parser.feed(b"\n") == [Event("message", "y", "")]


def test_c_p2_crlf_split_across_chunks_is_one_terminator() -> None:
    parser = Parser()
    assert parser.feed(b"data: a\r") == []
    assert parser.feed(b"\ndata: b\r") == []
    assert parser.feed(b"\n\r") == [Event("message", "a\nb", "")]
    assert parser.feed(b"\n") == []


def test_c_p2_lf_after_a_cr_in_an_earlier_chunk_only_once() -> None:
    parser = Parser()
    parser.feed(b"data: a\r")
    parser.feed(b"\n")
    # A second LF is a real blank line.
    assert parser.feed(b"\n") == [Event("message", "a", "")]


@pytest.mark.parametrize(
    "sep", ["\u2028", "\u2029", "\u0085", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e"]
)
def test_c_p2_nothing_else_ends_a_line(sep: str) -> None:
    assert datas(f"data: a{sep}b\n\n".encode()) == [f"a{sep}b"]


# -- C-P3..C-P6: blank lines, comments, fields ------------------------------------------------


def test_c_p3_blank_line_dispatches() -> None:
    events, _ = parse(b"data: one\n\ndata: two\n\n")
    assert [e.data for e in events] == ["one", "two"]


def test_c_p4_comments_are_ignored_even_with_nul_and_length() -> None:
    comment = b":" + b"\x00" * 3 + b"x" * 2048 + b"\n"
    assert datas(comment + b"data: a\n" + comment + b"\n") == ["a"]


def test_c_p4_comment_alone_dispatches_nothing() -> None:
    events, parser = parse(b": ping\n\n:\r\n")
    assert events == []
    assert parser.comments == 2


def test_c_p5_first_colon_splits() -> None:
    assert datas(b"data: a:b: c\n\n") == ["a:b: c"]


def test_c_p5_exactly_one_space_is_stripped() -> None:
    assert datas(b"data:  two\n\n") == [" two"]
    assert datas(b"data:none\n\n") == ["none"]


def test_c_p5_tab_is_not_stripped() -> None:
    assert datas(b"data:\tx\n\n") == ["\tx"]


def test_c_p6_line_without_colon_is_a_field_with_empty_value() -> None:
    assert datas(b"data\n\n") == [""]
    assert datas(b"data\ndata\n\n") == ["\n"]
    events, parser = parse(b"id: 5\ndata: a\n\nid\ndata: b\n\n")
    assert [e.last_event_id for e in events] == ["5", ""]
    assert parser.last_event_id == ""


def test_c_p6_bare_retry_is_ignored() -> None:
    _, parser = parse(b"retry: 10\n\nretry\n\n")
    assert parser.retry == 10


# -- C-P7: end of stream ----------------------------------------------------------------------


def test_c_p7_unterminated_event_is_discarded_and_its_id_not_committed() -> None:
    events, parser = parse(b"id: 1\ndata: a\n\nid: 2\ndata: b\n")
    assert [e.data for e in events] == ["a"]
    assert parser.last_event_id == "1"


def test_c_p7_final_line_without_terminator_is_discarded() -> None:
    assert datas(b"data: a\n\ndata: b") == ["a"]


def test_feed_after_close_is_an_error() -> None:
    parser = Parser()
    parser.close()
    with pytest.raises(ValueError, match="after close"):
        parser.feed(b"data: x\n\n")


# -- C-P8..C-P11: field semantics ---------------------------------------------------------


def test_c_p8_field_names_are_case_sensitive_and_unknown_ignored() -> None:
    assert datas(b"Data: a\nDATA: b\nfoo: c\ndata: d\n\n") == ["d"]
    events, _ = parse(b"Event: x\nID: 3\ndata: d\n\n")
    assert events == [Event("message", "d", "")]


def test_c_p9_event_sets_type_last_one_wins() -> None:
    events, _ = parse(b"event: a\nevent: b\ndata: d\n\n")
    assert events == [Event("b", "d", "")]


def test_c_p10_id_with_nul_is_ignored() -> None:
    events, _ = parse(b"id: 1\ndata: a\n\nid: 2\x003\ndata: b\n\n")
    assert [e.last_event_id for e in events] == ["1", "1"]


def test_c_p10_id_holds_any_other_text() -> None:
    events, _ = parse("id: ü 1:2 \ndata: a\n\n".encode())
    assert events[0].last_event_id == "ü 1:2 "


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (b"1000", 1000),
        (b"03000", 3000),
        (b"0", 0),
        (b"1_000", None),
        (b"+3", None),
        (b"-2", None),
        (b" 7", None),  # "retry:  7": one space stripped, one left
        (b"7 ", None),
        (b"1.5", None),
        (b"5s", None),
        (b"True", None),
        ("\u0665".encode(), None),  # ARABIC-INDIC DIGIT FIVE: int() accepts it
        ("１".encode(), None),  # FULLWIDTH DIGIT ONE
        (b"", None),
    ],
)
def test_c_p11_retry_ascii_digits_only(value: bytes, expected: int | None) -> None:
    _, parser = parse(b"retry: " + value + b"\n\n")
    assert parser.retry == expected


def test_c_p11_huge_retry_does_not_raise() -> None:
    _, parser = parse(b"retry: " + b"9" * 1_000_000 + b"\n\n")
    assert parser.retry == MAX_RETRY_MS
    _, parser = parse(b"retry: " + b"0" * 5000 + b"42\n\n")
    assert parser.retry == 42


def test_c_p11_invalid_retry_keeps_previous() -> None:
    _, parser = parse(b"retry: 50\n\nretry: x\n\n")
    assert parser.retry == 50


def test_retry_applies_without_a_blank_line() -> None:
    parser = Parser()
    parser.feed(b"retry: 25\n")
    assert parser.retry == 25


# -- C-D1..C-D5: dispatch ------------------------------------------------------------------


def test_c_d1_id_only_block_updates_last_event_id_without_dispatch() -> None:
    events, parser = parse(b"id: 5\n\n")
    assert events == []
    assert parser.last_event_id == "5"


def test_c_d1_last_event_id_persists_across_events() -> None:
    events, _ = parse(b"id: 7\ndata: a\n\ndata: b\n\n")
    assert [e.last_event_id for e in events] == ["7", "7"]


def test_c_d1_seeded_last_event_id_persists_across_reconnects() -> None:
    parser = Parser(last_event_id="41")
    assert parser.feed(b"data: x\n\n") == [Event("message", "x", "41")]


def test_c_d1_empty_id_resets() -> None:
    events, _ = parse(b"id: 7\ndata: a\n\nid:\ndata: b\n\n")
    assert [e.last_event_id for e in events] == ["7", ""]


def test_c_d2_empty_data_buffer_dispatches_nothing_and_resets_type() -> None:
    events, _ = parse(b"event: x\n\ndata: a\n\n")
    assert events == [Event("message", "a", "")]


def test_c_d2_empty_data_line_still_dispatches() -> None:
    assert datas(b"data:\n\n") == [""]
    assert datas(b"data: \n\n") == [""]


def test_c_d3_exactly_one_trailing_lf_removed() -> None:
    assert datas(b"data: a\ndata:\n\n") == ["a\n"]
    assert datas(b"data:\ndata:\ndata:\n\n") == ["\n\n"]


def test_c_d4_empty_event_name_means_message() -> None:
    events, _ = parse(b"event:\ndata: a\n\n")
    assert events == [Event("message", "a", "")]


def test_c_d5_buffers_reset_after_dispatch() -> None:
    events, _ = parse(b"event: x\ndata: a\n\ndata: b\n\n")
    assert events == [Event("x", "a", ""), Event("message", "b", "")]


def test_nul_in_data_is_kept() -> None:
    assert datas(b"data: a\x00b\n\n") == ["a\x00b"]


# -- limits ------------------------------------------------------------------------------------


def test_endless_line_hits_max_line_in_bounded_memory() -> None:
    parser = Parser(max_line=1000)
    with pytest.raises(StreamLimitError) as info:
        for _ in range(2000):
            parser.feed(b"x")
            assert parser.buffered <= 1000
    assert info.value.limit == "max_line"
    assert info.value.offset == 0


def test_long_line_inside_one_chunk_hits_max_line() -> None:
    parser = Parser(max_line=100)
    with pytest.raises(StreamLimitError) as info:
        parser.feed(b"data: ok\n\n" + b"data: " + b"y" * 200 + b"\n\n")
    assert (info.value.limit, info.value.offset) == ("max_line", 10)
    # What arrived intact before the breach is not lost.
    assert info.value.events == [Event("message", "ok", "")]


def test_long_tail_after_complete_lines_hits_max_line() -> None:
    parser = Parser(max_line=100)
    with pytest.raises(StreamLimitError) as info:
        parser.feed(b"data: ok\r\n\r\n" + b"y" * 200)
    assert (info.value.offset, info.value.events) == (12, [Event("message", "ok", "")])


def test_validating_limit_error_keeps_offsets_and_events() -> None:
    parser = Parser(max_line=20, validate=True)
    with pytest.raises(StreamLimitError) as info:
        parser.feed(b"Data: x\ndata: ok\n\n" + b"data: " + b"y" * 30 + b"\n")
    assert info.value.offset == 18
    assert info.value.events == [Event("message", "ok", "")]
    assert [(v.rule, v.offset) for v in parser.violations] == [("S-08", 0)]


def test_event_size_limit() -> None:
    parser = Parser(max_line=100, max_event=250)
    with pytest.raises(StreamLimitError) as info:
        parser.feed(b"data: a\n\n" + (b"data: " + b"z" * 90 + b"\n") * 3)
    assert info.value.limit == "max_event"
    assert info.value.events == [Event("message", "a", "")]


def test_event_size_limit_across_chunks() -> None:
    parser = Parser(max_line=100, max_event=250)
    with pytest.raises(StreamLimitError) as info:
        for _ in range(10):
            parser.feed(b"data: " + b"z" * 90 + b"\n")
            assert parser.buffered <= 250
    assert info.value.limit == "max_event"


def test_event_size_limit_applies_to_a_completed_event() -> None:
    parser = Parser(max_line=100, max_event=150)
    with pytest.raises(StreamLimitError):
        parser.feed((b"data: " + b"z" * 90 + b"\n") * 2 + b"\n")


def test_data_size_resets_after_dispatch() -> None:
    parser = Parser(max_line=100, max_event=250)
    for _ in range(10):
        assert len(parser.feed(b"data: " + b"z" * 90 + b"\n\n")) == 1
    assert parser.buffered == 0


def test_limits_must_be_positive() -> None:
    with pytest.raises(ValueError):
        Parser(max_line=0)


# -- encoder -----------------------------------------------------------------------------------


def test_encode_layout() -> None:
    assert encode(data="hi") == b"data: hi\n\n"
    assert encode(data="a\r\nb\rc\nd", event="e", id="7", retry=10, eol="\r\n") == (
        b"event: e\r\nid: 7\r\nretry: 10\r\ndata: a\r\ndata: b\r\ndata: c\r\ndata: d\r\n\r\n"
    )
    assert encode(comment="ping") == b": ping\n\n"
    assert encode(id="") == b"id:\n\n"


def test_encode_keeps_a_leading_space() -> None:
    assert encode(data=" x") == b"data:  x\n\n"
    assert datas(encode(data=" x")) == [" x"]


def test_encode_does_not_split_on_unicode_line_separators() -> None:
    assert encode(data="a\u2028b\x85c") == "data: a\u2028b\x85c\n\n".encode()


@pytest.mark.parametrize("bad", ["a\x00", "a\rb", "a\nb"])
def test_encode_refuses_id_that_cannot_round_trip(bad: str) -> None:
    with pytest.raises(ValueError, match="id"):
        encode(data="x", id=bad)


@pytest.mark.parametrize("bad", [True, False, -1, 1.5, "5"])
def test_encode_refuses_bad_retry(bad: object) -> None:
    with pytest.raises(ValueError, match="retry"):
        encode(retry=bad)  # type: ignore[arg-type]


def test_encode_refuses_event_name_with_line_break() -> None:
    with pytest.raises(ValueError, match="event"):
        encode(data="x", event="a\nb")


def test_encode_refuses_unknown_eol() -> None:
    with pytest.raises(ValueError, match="eol"):
        encode(data="x", eol="\u2028")


# -- validating mode ---------------------------------------------------------------------------


def validate(stream: bytes) -> tuple[list[Event], list[Violation]]:
    parser = Parser(validate=True)
    events = parser.feed(stream)
    parser.close()
    return events, parser.violations


def test_validate_clean_stream_has_no_violations() -> None:
    stream = b"\xef\xbb\xbf: hi\r\nevent: e\r\nid: 1\r\nretry: 10\r\ndata: x\r\ndata\r\n\r\nid:\n\n"
    events, violations = validate(stream)
    assert violations == []
    assert events == [Event("e", "x\n", "1")]


def test_validate_reports_rules_with_offsets_and_keeps_events() -> None:
    stream = (
        b"Data: x\n"  # 0: S-08 uppercase
        b"id: a\x00b\n"  # 8: S-10
        b"retry: 1.5\n"  # 16: S-11
        b"\xef\xbb\xbfdata: y\n"  # 27: S-06 BOM mid-stream
        b"data: \xff\n"  # 38: S-04 at 44
        b"\n"
        b"foo: z\r\n\r\n"  # 47: S-08 unknown
        b"data: partial"  # 57: S-07
    )
    events, violations = validate(stream)
    assert [(v.rule, v.offset) for v in violations] == [
        ("S-08", 0),
        ("S-10", 8),
        ("S-11", 16),
        ("S-06", 27),
        ("S-04", 44),
        ("S-08", 47),
        ("S-07", 57),
    ]
    assert events == [Event("message", "\ufffd", "")]
    assert violations[4].excerpt == b"data: \xff"


def test_validate_offsets_survive_chunking_and_split_crlf() -> None:
    stream = b"data: a\r\n\r\nid: \x00\r\n\r\n"
    parser = Parser(validate=True)
    for i in range(len(stream)):
        parser.feed(stream[i : i + 1])
    parser.close()
    assert [(v.rule, v.offset) for v in parser.violations] == [("S-10", 11)]


def test_validate_unterminated_comment_block_is_s07_without_loss() -> None:
    _, violations = validate(b"data: a\n\n: ping\n")
    assert [v.rule for v in violations] == ["S-07"]
    assert "lost" not in violations[0].message


def test_validate_empty_retry_is_s11() -> None:
    _, violations = validate(b"retry:\n\n")
    assert [v.rule for v in violations] == ["S-11"]


def test_validate_keeps_at_most_max_violations_but_counts_all() -> None:
    parser = Parser(validate=True, max_violations=3)
    parser.feed(b"X: 1\n" * 10)
    assert len(parser.violations) == 3
    assert parser.violation_count == 10


def test_validate_reports_the_id_field_of_each_event() -> None:
    parser = Parser(validate=True)
    events = parser.feed(b"id: 3\ndata: a\n\ndata: b\n\nid: 3\ndata: c\n\nid\ndata: d\n\n")
    assert [e.last_event_id for e in events] == ["3", "3", "3", ""]
    assert parser.id_fields == ["3", None, "3", ""]
    parser.feed(b"data: e\n\n")
    assert parser.id_fields == [None]


@pytest.mark.parametrize(
    ("value", "essence"),
    [
        ("text/event-stream", "text/event-stream"),
        ("Text/Event-Stream; charset=windows-1252", "text/event-stream"),
        (" text/event-stream ;", "text/event-stream"),
        ("text/event-stream-bogus", "text/event-stream-bogus"),
        ("", ""),
        (None, ""),
    ],
)
def test_media_type_is_the_content_type_essence(value: str | None, essence: str) -> None:
    assert media_type(value) == essence
