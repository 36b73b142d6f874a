"""``Frame.encode`` writes the commonest block itself: it must be byte-equal to the project's
encoder for every frame, refuse what the encoder refuses, and fail as it fails."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.stream import encode
from reference_server.endpoints.counter import pad, payload
from reference_server.frames import Frame

# Values near the fast path's edges: empty, line breaks of each kind, NUL, a lone surrogate
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


def _same_as_the_encoder(frame: Frame, eol: str) -> None:
    expected = _outcome(
        lambda: encode(frame.data, frame.event, frame.id, frame.retry, frame.comment, eol)
    )
    assert _outcome(lambda: frame.encode(eol)) == expected


@PROPERTY_SETTINGS
@given(frames, st.sampled_from(["\n", "\r\n", "\r"]))
def test_frame_encode_is_the_encoder(frame: Frame, eol: str) -> None:
    _same_as_the_encoder(frame, eol)


@PROPERTY_SETTINGS
@given(st.builds(Frame, data=value, id=value))
def test_frame_encode_is_the_encoder_near_the_fast_path(frame: Frame) -> None:
    _same_as_the_encoder(frame, "\n")


@pytest.mark.parametrize("n", [0, 7, 123456789])
def test_the_counter_block_takes_the_fast_path(n: int, monkeypatch: pytest.MonkeyPatch) -> None:
    frame = Frame(data=payload(n, 1.5, 2.25, pad(n, 9)), id=str(n))
    expected = encode(data=frame.data, id=frame.id)
    monkeypatch.setattr("reference_server.frames.encode", None)  # any other path fails
    assert frame.encode() == expected
