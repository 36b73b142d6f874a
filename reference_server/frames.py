"""A block of an event stream before it is encoded: what endpoints produce and faults rearrange.

Endpoints yield :class:`Frame` objects rather than bytes so that frame-level faults (duplicated or
skipped ids) can act on structure, and so that every clean byte on the wire comes from the one
encoder, ``harness.stream.encode``. The one exception is the shape load tests stream by the
thousand (``id`` and one line of ``data``), which :meth:`Frame.encode` writes itself at a fifth
of the encoder's cost; ``tests/test_reference_frames.py`` holds it byte-equal to the encoder.
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
        data, id = self.data, self.id
        if (
            data
            and id
            and eol == "\n"
            and self.event is None
            and self.retry is None
            and self.comment is None
            and "\n" not in data
            and "\r" not in data
            and "\n" not in id
            and "\r" not in id
            and "\x00" not in id
        ):
            return f"id: {id}\ndata: {data}\n\n".encode()
        return encode(data, self.event, id, self.retry, self.comment, eol)
