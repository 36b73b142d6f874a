"""Load bookkeeping without I/O: id integrity, HDR histograms, and the worker-to-master merge."""

from __future__ import annotations

import json
import random

import pytest
from hdrh.histogram import HdrHistogram  # type: ignore[import-untyped]

from harness.load.chat import chat_stamper
from harness.load.histogram import HIGHEST_US, Histogram
from harness.load.integrity import MAX_HOLES, Sequence
from harness.load.metrics import Metrics
from harness.load.stamps import json_stamps
from harness.stream import Event


def _seen(*ids: str) -> Sequence:
    sequence = Sequence()
    for event_id in ids:
        sequence.see(event_id)
    return sequence


def test_a_clean_sequence_has_no_loss_duplicate_or_disorder() -> None:
    sequence = _seen(*map(str, range(5, 15)))
    assert (sequence.lost, sequence.duplicated, sequence.out_of_order) == (0, 0, 0)
    assert sequence.covered == 10


def test_holes_are_lost_unless_filled_late() -> None:
    sequence = _seen("0", "1", "4", "5", "3")  # 2 never comes, 3 comes late
    assert (sequence.lost, sequence.out_of_order, sequence.duplicated) == (1, 1, 0)
    assert sequence.covered == 6


def test_repeats_are_duplicates_and_text_ids_are_not_sequenced() -> None:
    sequence = _seen("0", "1", "1", "2", "0", "", "abc", "١")  # ARABIC-INDIC ONE is no digit here
    assert (sequence.duplicated, sequence.unsequenced, sequence.lost) == (2, 3, 0)


def test_an_id_before_the_first_is_a_restart_not_holes() -> None:
    sequence = _seen("5", "6", "2", "3")  # the server began its ids again, lower
    assert (sequence.restarts, sequence.out_of_order, sequence.lost) == (1, 0, 0)
    assert sequence.covered == 4  # 5-6, then 2-3


def test_a_huge_jump_is_counted_as_lost_in_full() -> None:
    sequence = _seen("0", str(MAX_HOLES * 10))
    assert sequence.lost == MAX_HOLES * 10 - 1


def test_histogram_summary_is_in_ms_with_microsecond_resolution() -> None:
    histogram = Histogram()
    for us in (100, 200, 300, 400, 1_000):
        histogram.record(us / 1_000_000)
    summary = histogram.summary()
    assert summary["count"] == 5
    assert summary["p50"] == pytest.approx(0.3, abs=0.001)
    assert summary["max"] == pytest.approx(1.0, abs=0.001)
    assert Histogram().summary() == {"count": 0, "p50": None, "p90": None, "p99": None, "max": None}


def test_a_repeated_out_of_range_value_is_clamped_and_counted_each_time() -> None:
    histogram = Histogram()
    histogram.record(-1.0, count=4)
    assert (histogram.count, histogram.clamped, histogram.summary()["max"]) == (4, 4, 0.0)


def test_out_of_range_values_are_clamped_and_counted() -> None:
    histogram = Histogram()
    histogram.record(-0.001)
    histogram.record(HIGHEST_US * 2 / 1_000_000)
    assert (histogram.count, histogram.clamped) == (2, 2)
    assert histogram.summary()["p50"] == 0


def test_batched_recording_equals_hdrh_value_by_value() -> None:
    """``Histogram`` computes HDR bucket indices itself (in batches, with a repeat count too):
    its counts must be exactly what ``hdrh.record_value`` makes of the same microseconds."""
    rng = random.Random(13)
    values = [0, 1, 2047, 2048, 2049, 4095, 4096, 999_999, 10**9, HIGHEST_US]
    values += [rng.randrange(0, HIGHEST_US) for _ in range(5000)]
    values += [int(10 ** rng.uniform(0, 9.5)) for _ in range(5000)]
    ours, reference = Histogram(), HdrHistogram(1, HIGHEST_US, 3)
    for us in values:
        ours.record(us / 1_000_000 + 1e-7)  # the float lands on ``us`` after truncation
        reference.record_value(us)
    ours.record(0.5, count=3)
    reference.record_value(500_000, 3)
    ours.record(99.0, count=0)  # nothing, not even a new maximum
    ours.record_many([0.25, 0.75])
    reference.record_value(250_000)
    reference.record_value(750_000)
    assert ours.count == reference.get_total_count() == len(values) + 5
    decoded = HdrHistogram(1, HIGHEST_US, 3)
    decoded.decode_and_add(ours.encode())
    assert list(decoded.counts) == list(reference.counts)
    assert (decoded.get_min_value(), decoded.get_max_value()) == (
        reference.get_min_value(),
        reference.get_max_value(),
    )


def test_encoded_histograms_merge_to_the_sum() -> None:
    a, b = Histogram(), Histogram()
    for i in range(1, 101):
        a.record(i / 1000)
        b.record(i / 100)
    merged = Histogram.decode(a.encode())
    merged.add(Histogram.decode(b.encode()))
    assert merged.count == 200
    assert merged.summary()["max"] == pytest.approx(1000, rel=0.001)


def test_drained_deltas_absorb_to_the_sum_of_processes() -> None:
    workers = [Metrics(), Metrics()]
    for n, metrics in enumerate(workers, start=1):
        for _ in range(n):
            metrics.stream_opened()
        metrics.counters["events"] += 10 * n
        metrics.events_per_s[1000] += 10 * n
        for i in range(10 * n):
            metrics.histograms["latency"].record(i / 1000)
        metrics.sample(1000.5)
    master = Metrics()
    for metrics in workers:
        master.absorb(metrics.drain())
        assert metrics.drain()["counters"] == {}  # drained means forgotten
    assert master.counters["events"] == 30
    assert master.counters["streams"] == 3
    assert master.histograms["latency"].count == 30
    assert master.events_per_s[1000] == 30
    assert master.peak == 3  # the two processes' open streams, summed per second


def test_json_stamps_take_numbers_of_whole_json_objects_only() -> None:
    datas = [
        '{"sent": 10, "intended": 9.5}',
        '{"sent": true, "intended": "9"}',  # not numbers
        '{"sent": 11} {"sent": 12}',  # more after the object: not JSON
        '{"sent": 13}\n',  # trailing whitespace is still JSON
        '[{"sent": 14}]',  # not an object
        '{"sent": 15',  # cut
        '{"nested": {"sent": 16}, "intended": 17}',
        "plain text",
    ]
    sents, intendeds = json_stamps([Event(data=d) for d in datas], 0.0)
    assert (sents, intendeds) == ([10, 13], [9.5, 17])


def test_the_chat_stamper_paces_tokens_from_the_first_chunk() -> None:
    def chunk(content: str) -> Event:
        return Event(data=json.dumps({"choices": [{"delta": {"content": content}}]}))

    stamps = chat_stamper(tokens_per_s=10)()
    role = Event(data='{"choices": [{"delta": {"role": "assistant"}}]}')
    assert stamps([role, chunk("a")], 100.0) == ([], [100.1])
    assert stamps([chunk(""), chunk("b"), Event(data="[DONE]")], 101.0) == ([], [100.2])
