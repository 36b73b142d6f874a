"""``encode`` writes the commonest block (``id`` and one line of ``data``) directly: it must be
byte-equal to the general path for every block, refuse what that path refuses, and fail as it
fails."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.stream import _encode_lines, encode
from reference_server.endpoints.counter import pad, payload
from reference_server.frames import Frame

# Values near the shortcut's edges: empty, line breaks of each kind, NUL, a lone surrogate
# (which UTF-8 cannot encode), non-ASCII, and plain text.
pieces = st.sampled_from(["", "x", " ", "7", "\n", "\r", "\r\n", "\x00", "\ud800", "é", "世", ":"])
value = st.lists(pieces, max_size=5).map("".join)
maybe = st.one_of(st.none(), value)
frames = st.builds(
    Frame,
    data=maybe,
    event=maybe,
    id=maybe,
    retry=st.one_of(st.none(), st.integers(-1, 10**6), st.booleans()),
    comment=maybe,
)


def _outcome(make: object) -> bytes | type[Exception]:
    try:
        return make()  # type: ignore[operator,no-any-return]
    except (ValueError, UnicodeEncodeError) as error:
        return type(error)


PROPERTY_SETTINGS = settings(max_examples=600, deadline=None, derandomize=True)


def _same_as_the_general_path(frame: Frame, eol: str) -> None:
    fields = (frame.data, frame.event, frame.id, frame.retry, frame.comment, eol)
    assert _outcome(lambda: encode(*fields)) == _outcome(lambda: _encode_lines(*fields))


@PROPERTY_SETTINGS
@given(frames, st.sampled_from(["\n", "\r\n", "\r"]))
def test_encode_is_the_general_path(frame: Frame, eol: str) -> None:
    _same_as_the_general_path(frame, eol)


@PROPERTY_SETTINGS
@given(st.builds(Frame, data=value, id=value))
def test_encode_is_the_general_path_near_the_shortcut(frame: Frame) -> None:
    _same_as_the_general_path(frame, "\n")


@pytest.mark.parametrize("n", [0, 7, 123456789])
def test_the_counter_block_takes_the_shortcut(n: int, monkeypatch: pytest.MonkeyPatch) -> None:
    frame = Frame(data=payload(n, 1.5, 2.25, pad(n, 9)), id=str(n))
    expected = _encode_lines(frame.data, None, frame.id, None, None, "\n")
    monkeypatch.setattr("harness.stream._encode_lines", None)  # any other path fails
    assert frame.encode() == expected
