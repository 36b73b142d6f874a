"""Integrity of one logical stream: lost, duplicated and out-of-order ids, and restarts.

It follows the SSE data model: every dispatched event carries the last event ID string, and a
stream is *sequenced* when those are decimal integers that go up by one (the reference server's
counter and broadcast ids, most resumable feeds). A hole is remembered until the id that fills
it arrives (then it was out of order, not lost); an id seen before is a duplicate. An id below
the first of the run is a *restart* (a server that began its ids again, a subscriber that joined
mid-sequence): a new run begins there, and the old run's open holes stay lost.

Holes are remembered as ranges, so a wild jump costs one range, however wide. The ranges kept
are bounded; past the bound the oldest half is forgotten (its holes stay counted as lost), and
an id that comes back from below what is remembered cannot be told apart from a duplicate, so it
is counted as unsequenced rather than guessed: no id is ever counted both lost and duplicated.

The model cannot tell a repeated ``id:`` field from an event that simply carried none (both
repeat the last event ID), so a stream that puts ids on only some of its events must be run with
id tracking off (``--sse-ids none``).
"""

from __future__ import annotations

from array import array
from bisect import bisect_right

__all__ = ["MAX_HOLES", "Sequence"]

#: Hole ranges remembered (16 bytes each); past this the oldest half is forgotten.
MAX_HOLES = 10_000
#: Longer digit strings are not sequence numbers (and ``int()`` would be slow on them); 18 digits
#: also keep every id and its successor inside the signed 64-bit ranges arrays hold.
_MAX_DIGITS = 18
#: The first id that is not a sequence number (19 digits).
_SEQUENCE_END = 10**_MAX_DIGITS


class Sequence:
    """Tracks the ids of one logical stream, across its reconnects."""

    __slots__ = (
        "_covered",
        "_first",
        "_floor",
        "_hi",
        "_lo",
        "_max_holes",
        "_next",
        "duplicated",
        "lost",
        "out_of_order",
        "restarts",
        "unsequenced",
    )

    def __init__(self, max_holes: int = MAX_HOLES) -> None:
        if max_holes < 1:
            raise ValueError("max_holes must be >= 1")
        self._max_holes = max_holes
        #: First id of the current run (meaningless until ``_next`` is set).
        self._first = 0
        #: The id expected next: one more than the highest of the current run.
        self._next: int | None = None
        #: Ids below this (and not below ``_first``) may be forgotten holes.
        self._floor = 0
        #: Open holes of the current run, as sorted disjoint ranges ``[lo, hi)``.
        self._lo = array("q")
        self._hi = array("q")
        #: Positions covered by runs that a restart ended.
        self._covered = 0
        #: Ids skipped and not (yet) seen late, over every run.
        self.lost = 0
        self.duplicated = 0
        self.out_of_order = 0
        self.restarts = 0
        #: Events whose id could not be placed: not a sequence number (empty, text, too long), or
        #: back from below the forgotten holes (a late event or a duplicate, no telling which).
        self.unsequenced = 0

    def see(self, last_event_id: str) -> None:
        """Place one dispatched event's last event ID; cheap in order, since it runs per event."""
        if not (last_event_id.isascii() and last_event_id.isdigit()) or (
            len(last_event_id) > _MAX_DIGITS
        ):
            self.unsequenced += 1
            return
        n = int(last_event_id)
        expected = self._next
        if n == expected:
            self._next = n + 1
        elif expected is None:
            self._first, self._next, self._floor = n, n + 1, n
        elif n > expected:
            self.lost += n - expected
            self._lo.append(expected)
            self._hi.append(n)
            self._next = n + 1
            if len(self._lo) > self._max_holes:
                self._forget()
        else:
            self._behind(n, expected)

    def see_many(self, last_event_ids: list[str]) -> None:
        """:meth:`see` each id in turn. The common case, the very ids expected next, is told by
        one comparison with the ids it must be, with no Python call per id."""
        expected, n = self._next, len(last_event_ids)
        if (
            expected is not None
            and expected + n <= _SEQUENCE_END
            and last_event_ids == list(map(str, range(expected, expected + n)))
        ):
            self._next = expected + n
            return
        see = self.see
        for last_event_id in last_event_ids:
            see(last_event_id)

    def _behind(self, n: int, expected: int) -> None:
        if n < self._first:
            self.restarts += 1
            self._covered += expected - self._first
            del self._lo[:], self._hi[:]
            self._first, self._next, self._floor = n, n + 1, n
            return
        lo, hi = self._lo, self._hi
        i = bisect_right(lo, n) - 1
        if i >= 0 and n < hi[i]:
            self.out_of_order += 1
            self.lost -= 1
            if hi[i] - lo[i] == 1:
                del lo[i], hi[i]
            elif n == lo[i]:
                lo[i] = n + 1
            elif n == hi[i] - 1:
                hi[i] = n
            else:  # split the range around n
                lo.insert(i + 1, n + 1)
                hi.insert(i + 1, hi[i])
                hi[i] = n
                if len(lo) > self._max_holes:
                    self._forget()
        elif n < self._floor:
            self.unsequenced += 1
        else:
            self.duplicated += 1

    def _forget(self) -> None:
        """Drop the oldest half at once, so a stream at the bound pays for it only now and then."""
        drop = len(self._lo) // 2
        self._floor = self._hi[drop - 1]
        del self._lo[:drop], self._hi[:drop]

    @property
    def covered(self) -> int:
        """Positions of the sequence the stream got through (first to highest id of every run)."""
        if self._next is None:
            return 0
        return self._covered + self._next - self._first
