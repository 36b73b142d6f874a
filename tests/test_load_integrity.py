"""Id integrity under hostile ids: a plain set-based model fixes every count, and memory stays
bounded whatever arrives (restarts from far below, huge jumps, endless holes, giant strings)."""

from __future__ import annotations

import re
import tracemalloc
from collections.abc import Iterable
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.load.integrity import Sequence

pytestmark = pytest.mark.timeout(60)  # the unbounded hole set hung on "<18 digits>", "0"

_SEQUENCE_NUMBER = re.compile(r"[0-9]{1,18}")


@dataclass
class Model:
    """What each count means, with a set of every id seen: no bound, no cleverness."""

    lost: int = 0
    duplicated: int = 0
    out_of_order: int = 0
    unsequenced: int = 0
    restarts: int = 0
    covered: int = 0

    @classmethod
    def of(cls, ids: Iterable[str]) -> Model:
        model = cls()
        first = top = -1
        seen: set[int] = set()
        for event_id in ids:
            if not _SEQUENCE_NUMBER.fullmatch(event_id):
                model.unsequenced += 1
                continue
            n = int(event_id)
            if not seen or n < first:
                model.restarts += bool(seen)
                model.end_run(first, top, seen)
                first = top = n
                seen = {n}
            elif n in seen:
                model.duplicated += 1
            else:
                model.out_of_order += n < top
                top = max(top, n)
                seen.add(n)
        model.end_run(first, top, seen)
        return model

    def end_run(self, first: int, top: int, seen: set[int]) -> None:
        if seen:
            self.covered += top - first + 1
            self.lost += top - first + 1 - len(seen)


def _counts(sequence: Sequence) -> Model:
    s = sequence
    return Model(s.lost, s.duplicated, s.out_of_order, s.unsequenced, s.restarts, s.covered)


def _seen(ids: Iterable[str], max_holes: int | None = None) -> Sequence:
    sequence = Sequence() if max_holes is None else Sequence(max_holes)
    for event_id in ids:
        sequence.see(event_id)
        assert len(sequence._lo) <= sequence._max_holes
    return sequence


_IDS = st.lists(
    st.one_of(
        st.integers(0, 40).map(str),  # small: repeats, holes, late fills, restarts
        st.integers(0, 40).map(str),
        st.integers(0, 10**18 - 1).map(str),  # the widest a sequence number gets
        st.integers(10**18, 10**40).map(str),  # too long to be one
        st.sampled_from(["", "-1", "+3", " 4", "4 ", "4\n", "1e3", "0x1f", "٣", "abc", "³"]),
        st.text(max_size=8),
    ),
    max_size=80,
)


@settings(max_examples=400, deadline=None)
@given(_IDS)
def test_counts_match_the_plain_model(ids: list[str]) -> None:
    assert _counts(_seen(ids)) == Model.of(ids)


@settings(max_examples=400, deadline=None)
@given(_IDS, st.integers(1, 4))
def test_past_the_bound_nothing_is_counted_twice(ids: list[str], max_holes: int) -> None:
    """Past the bound, an id back from below the remembered holes is put aside as unsequenced:
    it may be a forgotten hole (still lost) or a duplicate, so it is neither out of order nor a
    duplicate, and every event is counted exactly once."""
    got, model = _counts(_seen(ids, max_holes)), Model.of(ids)
    put_aside = got.unsequenced - model.unsequenced
    late_but_forgotten = model.out_of_order - got.out_of_order
    assert (got.restarts, got.covered) == (model.restarts, model.covered)
    assert 0 <= late_but_forgotten <= put_aside
    assert model.duplicated - got.duplicated == put_aside - late_but_forgotten
    assert got.lost - model.lost == late_but_forgotten
    assert len(ids) == got.unsequenced + got.duplicated + got.covered - got.lost


#: Runs of consecutive ids (what the batch fast path takes), mixed with anything ``_IDS`` holds.
_RUNS = st.lists(
    st.one_of(
        st.tuples(st.integers(0, 60), st.integers(1, 12)).map(
            lambda run: [str(n) for n in range(run[0], run[0] + run[1])]
        ),
        st.tuples(st.integers(10**18 - 8, 10**18 - 1), st.integers(1, 12)).map(
            lambda run: [str(n) for n in range(run[0], run[0] + run[1])]  # across 19 digits
        ),
        _IDS,
    ),
    max_size=12,
).map(lambda runs: [event_id for run in runs for event_id in run])


@settings(max_examples=400, deadline=None)
@given(_RUNS, st.data())
def test_batches_count_as_one_by_one(ids: list[str], data: st.DataObject) -> None:
    """``see_many`` over any split of the ids into reads counts exactly as ``see`` id by id."""
    cuts = sorted(data.draw(st.lists(st.integers(0, len(ids)), max_size=10)))
    batched = Sequence()
    for start, end in zip([0, *cuts], [*cuts, len(ids)], strict=True):
        if end > start:
            batched.see_many(ids[start:end])
    assert _counts(batched) == _counts(_seen(ids))
    assert (batched._lo, batched._hi) == (_seen(ids)._lo, _seen(ids)._hi)


def test_a_late_id_below_the_forgotten_holes_is_neither_lost_twice_nor_a_duplicate() -> None:
    sequence = _seen(["0", "2", "4", "6"], max_holes=2)  # 3 holes: the oldest, 1, is forgotten
    assert sequence.lost == 3
    sequence.see("1")
    assert (sequence.lost, sequence.duplicated, sequence.unsequenced) == (3, 0, 1)
    sequence.see("3")  # still remembered: late, no longer lost
    assert (sequence.lost, sequence.out_of_order) == (2, 1)
    sequence.see("2")  # above the forgotten ones: a plain duplicate
    assert sequence.duplicated == 1


def _peak_bytes(ids: Iterable[str]) -> tuple[Sequence, int]:
    tracemalloc.start()
    try:
        sequence = Sequence()
        for event_id in ids:
            sequence.see(event_id)
        return sequence, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("first", ["1000000", "999999999999999999"])
def test_a_restart_from_far_below_is_a_restart_not_holes(first: str) -> None:
    sequence, peak = _peak_bytes([first, "0", "1", "2"])
    assert (sequence.restarts, sequence.lost, sequence.out_of_order) == (1, 0, 0)
    assert sequence.covered == 4
    assert peak < 16_384


def test_a_jump_of_a_quintillion_costs_a_count_not_memory() -> None:
    sequence, peak = _peak_bytes(["0", "999999999999999999", "5"])
    assert (sequence.lost, sequence.out_of_order) == (10**18 - 3, 1)
    assert peak < 16_384


def test_endless_holes_keep_memory_bounded() -> None:
    """Every other id lost: one hole per event, far past the bound (a set of them took MiBs)."""
    sequence, peak = _peak_bytes(str(2 * n) for n in range(100_000))
    assert sequence.lost == 99_999
    assert peak < 512 * 1024


def test_a_megabyte_id_is_unsequenced_without_converting_it() -> None:
    sequence = _seen(["7", "9" * 10**6, "-8", "8"])
    assert (sequence.unsequenced, sequence.lost, sequence.covered) == (2, 0, 2)
