"""Integrity of one logical stream: lost, duplicated and out-of-order ids.

It follows the SSE data model: every dispatched event carries the last event ID string, and a
stream is *sequenced* when those are decimal integers that go up by one (the reference server's
counter and broadcast ids, most resumable feeds). A hole is remembered until the id that fills
it arrives (then it was out of order, not lost); an id seen before is a duplicate. Holes are
kept in a bounded set, so a wild jump costs a count, not memory.

The model cannot tell a repeated ``id:`` field from an event that simply carried none (both
repeat the last event ID), so a stream that puts ids on only some of its events must be run with
id tracking off (``--sse-ids none``).
"""

from __future__ import annotations

__all__ = ["Sequence"]

#: Holes remembered individually; beyond this, holes are only counted (as lost).
MAX_HOLES = 100_000
#: Longer digit strings are not sequence numbers (and ``int()`` would be slow on them).
_MAX_DIGITS = 18


class Sequence:
    """Tracks the ids of one logical stream, across its reconnects."""

    __slots__ = (
        "_holes",
        "_uncounted",
        "duplicated",
        "first",
        "next",
        "out_of_order",
        "unsequenced",
    )

    def __init__(self) -> None:
        self.first: int | None = None
        #: The id expected next: one more than the highest seen.
        self.next: int | None = None
        self.duplicated = 0
        self.out_of_order = 0
        #: Events whose id was not a sequence number (empty, text, too long).
        self.unsequenced = 0
        self._holes: set[int] = set()
        self._uncounted = 0  # holes beyond MAX_HOLES

    def see(self, event_id: str) -> None:
        if not (event_id.isascii() and event_id.isdigit()) or len(event_id) > _MAX_DIGITS:
            self.unsequenced += 1
            return
        n = int(event_id)
        expected = self.next
        if expected is None:
            self.first, self.next = n, n + 1
        elif n == expected:
            self.next = n + 1
        elif n > expected:
            room = MAX_HOLES - len(self._holes)
            gap = n - expected
            self._holes.update(range(expected, expected + min(gap, room)))
            self._uncounted += max(0, gap - room)
            self.next = n + 1
        elif n in self._holes:
            self._holes.discard(n)
            self.out_of_order += 1
        elif self.first is not None and n < self.first:
            # Earlier than the first id seen: the ids between were holes all along.
            self._holes.update(range(n + 1, self.first))
            self.first = n
            self.out_of_order += 1
        else:
            self.duplicated += 1

    @property
    def lost(self) -> int:
        """Holes never filled: ids between the first and the highest seen that did not come."""
        return len(self._holes) + self._uncounted

    @property
    def covered(self) -> int:
        """Positions of the sequence the stream got through (first to highest id, holes too)."""
        if self.first is None or self.next is None:
            return 0
        return self.next - self.first
