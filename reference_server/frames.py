"""A block of an event stream before it is encoded: what endpoints produce and faults rearrange.

Endpoints yield :class:`Frame` objects rather than bytes so that frame-level faults (duplicated or
skipped ids) can act on structure, and so that every clean byte on the wire comes from the one
encoder, ``harness.stream.encode``.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.stream import encode

__all__ = ["Frame"]


@dataclass(frozen=True, slots=True)
class Frame:
    data: str | None = None
    event: str | None = None
    id: str | None = None
    retry: int | None = None
    comment: str | None = None

    def encode(self, eol: str = "\n") -> bytes:
        """The block's bytes; ``ValueError`` for what cannot be sent faithfully (S-10, S-11)."""
        return encode(self.data, self.event, self.id, self.retry, self.comment, eol)
