"""Outcomes, rule levels and the grading rule shared by every instrument.

Server cases, client cases and scenarios all grade through :func:`grade`, so a breach of the same
level gets the same outcome wherever it is found (DESIGN.md "Outcomes"; SPEC.md "Levels").
"""

from __future__ import annotations

import unicodedata
from enum import StrEnum

__all__ = ["Level", "Outcome", "escape_bytes", "escape_text", "grade"]


class Outcome(StrEnum):
    OK = "OK"
    NON_STRICT = "NON-STRICT"
    INFORMATIONAL = "INFORMATIONAL"
    FAILED = "FAILED"
    UNIMPLEMENTED = "UNIMPLEMENTED"
    ERROR = "ERROR"


class Level(StrEnum):
    MUST = "MUST"
    SHOULD = "SHOULD"
    ADVICE = "ADVICE"
    PRACTICE = "PRACTICE"


def grade(level: Level, conforms: bool) -> Outcome:
    """The outcome of a check at ``level``: only a MUST breach is FAILED.

    PRACTICE and ADVICE breaches are never FAILED (SPEC.md); they are NON-STRICT, like SHOULD,
    because the target works but deviates in a way real deployments feel.
    """
    if conforms:
        return Outcome.OK
    return Outcome.FAILED if level is Level.MUST else Outcome.NON_STRICT


_NAMED = {"\t": "\\t", "\n": "\\n", "\r": "\\r", "\\": "\\\\"}


def escape_bytes(data: bytes, limit: int = 200) -> str:
    """Wire bytes as readable evidence: text kept, control and invalid bytes escaped.

    Evidence must show exactly what was on the wire (a CR, a NUL, a stray BOM, a broken UTF-8
    sequence) without letting those bytes act on a terminal or a report, while a Chinese or
    emoji payload stays readable; ``limit`` keeps one excerpt short.
    """
    parts = []
    for char in data[:limit].decode("utf-8", "surrogateescape"):
        code = ord(char)
        if char in _NAMED:
            parts.append(_NAMED[char])
        elif 0xDC80 <= code <= 0xDCFF:  # an undecodable byte, smuggled by surrogateescape
            parts.append(f"\\x{code - 0xDC00:02x}")
        elif unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp"):
            parts.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
        else:
            parts.append(char)
    if len(data) > limit:
        parts.append(f"... ({len(data) - limit} more bytes)")
    return "".join(parts)


def escape_text(value: str) -> str:
    """A string as evidence: control characters, NUL, BOMs and lone surrogates made visible."""
    return escape_bytes(value.encode("utf-8", "backslashreplace"), limit=400)
