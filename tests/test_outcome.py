"""The shared grading rule and evidence escaping."""

from __future__ import annotations

import pytest

from harness.outcome import Level, Outcome, escape_bytes, grade


@pytest.mark.parametrize(
    ("level", "expected"),
    [
        (Level.MUST, Outcome.FAILED),
        (Level.SHOULD, Outcome.NON_STRICT),
        (Level.PRACTICE, Outcome.NON_STRICT),
        (Level.ADVICE, Outcome.NON_STRICT),
    ],
)
def test_only_a_must_breach_fails(level: Level, expected: Outcome) -> None:
    assert grade(level, conforms=False) is expected
    assert grade(level, conforms=True) is Outcome.OK


def test_outcome_values_are_the_report_strings() -> None:
    assert [o.value for o in Outcome] == [
        "OK", "NON-STRICT", "INFORMATIONAL", "FAILED", "UNIMPLEMENTED", "ERROR",
    ]  # fmt: skip


def test_escape_bytes_shows_control_and_invalid_bytes_and_keeps_text() -> None:
    wire = "data: 七\r\n\x00\ufeff\u2028\\".encode() + b"\xff"
    assert escape_bytes(wire) == "data: 七\\r\\n\\x00\\ufeff\\u2028\\\\\\xff"


def test_escape_bytes_is_bounded() -> None:
    assert escape_bytes(b"x" * 1000, limit=4) == "xxxx... (996 more bytes)"
