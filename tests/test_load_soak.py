"""Soak runs (``sse-harness load --soak``): the verdicts on memory and live streams.

The pure judgement (``harness.load.soak``) is held on made-up samples; the instrument is held on
real runs: the reference server's two leaks (``leak_memory`` keeps memory per finished stream,
``leak_generator`` keeps producing after its client left) each breach the shipped gate in a
soak of a few seconds, and the clean server passes the same soak. The three runs go at once,
each against a server of its own (a shared one would mix their memory).
"""

from __future__ import annotations

import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from harness.contract import TOKEN_ENV, TOKEN_HEADER
from harness.load import target_watch
from harness.load.gate import evaluate, resolve_thresholds
from harness.load.soak import MIN_RATE_WINDOW_S, Sample, growth, slope, soak_section, steady_window
from harness.load.target_watch import observe_url
from harness.report.load import load_verdict_line, render_page
from reference_server.launch import serve_subprocess


def test_the_slope_is_least_squares_and_none_without_spread() -> None:
    assert slope([0, 1, 2, 3], [1, 3, 5, 7]) == pytest.approx(2.0)
    assert slope([0, 1, 2], [5, 4, 6]) == pytest.approx(0.5)
    assert slope([1, 1, 1], [1, 2, 3]) is None
    assert slope([1], [1]) is None


def test_the_steady_part_starts_after_the_ramp_and_a_fifth_of_the_rest() -> None:
    assert steady_window(100.0, 110.0, 160.0) == (120.0, 160.0)
    assert steady_window(100.0, None, 150.0) == (110.0, 150.0)  # the ramp never ended
    assert steady_window(100.0, 170.0, 160.0) == (160.0, 160.0)  # stopped during the ramp


def _leaking(seconds: float, every_s: float, mib_per_stream: float) -> list[Sample]:
    """10 streams finish a second; each keeps ``mib_per_stream``, on top of a wobble."""
    samples = []
    for i in range(int(seconds / every_s) + 1):
        t = i * every_s
        finished = int(10 * t)
        samples.append(Sample(t, 100 + finished * mib_per_stream + (i % 2) * 0.5, finished))
    return samples


def test_growth_per_hour_needs_a_long_steady_part_and_per_stream_does_not() -> None:
    short = growth(_leaking(30, 1, 0.25), (0.0, 30.0))
    assert short["growth_mib_per_h"] is None and "shorter than" in short["why"]
    assert short["kib_per_stream"] == pytest.approx(256, rel=0.02)
    long = growth(_leaking(600, 10, 0.01), (0.0, 600.0))
    assert MIN_RATE_WINDOW_S <= 600 and long["why"] is None  # the page shows why, even if none
    assert long["growth_mib_per_h"] == pytest.approx(0.01 * 10 * 3600, rel=0.02)
    assert long["kib_per_stream"] == pytest.approx(10.24, rel=0.02)
    flat = growth(_leaking(600, 10, 0.0), (0.0, 600.0))
    assert abs(flat["growth_mib_per_h"]) < 1 and abs(flat["kib_per_stream"]) < 0.1
    # Only the steady part counts: a ramp that grew memory is not growth.
    ramp = [Sample(t, 50 + 5 * t if t < 10 else 100, 0) for t in range(0, 200, 5)]
    assert growth(ramp, (20.0, 195.0))["growth_mib_per_h"] is None  # under ten minutes
    ramp = [Sample(t, 50 + 5 * t if t < 10 else 100, 0) for t in range(0, 900, 5)]
    assert growth(ramp, (20.0, 895.0))["growth_mib_per_h"] == 0
    assert growth(ramp, (21.0, 26.0))["why"].startswith("1 samples")


def test_streams_left_are_those_beyond_what_the_target_held_before() -> None:
    def section(observe: dict[str, Any]) -> dict[str, Any]:
        return soak_section(
            sample_s=1, window=(0, 1), target=[], target_pid=None, observe=observe, harness={}
        )

    held = section({"baseline_live": 3, "live_after": 5, "baseline_tasks": 9, "tasks_after": 8})
    assert (held["streams_left"], held["tasks_left"]) == (2, 0)
    assert section({"why": "404"})["streams_left"] is None
    assert section({})["target_growth_mib_per_h"] is None  # no pid: not sampled


def test_the_watch_speaks_the_contract_s_own_token_names() -> None:
    """target_watch spells them again so as not to import FastAPI into Locust's processes."""
    assert (target_watch.TOKEN_HEADER, target_watch.TOKEN_ENV) == (TOKEN_HEADER, TOKEN_ENV)


def test_the_observation_url_is_the_host_origin_or_the_contract_base() -> None:
    host = "http://127.0.0.1:8000/app/events?x=1"
    assert observe_url(host, "") == "http://127.0.0.1:8000/_observe/streams?records=false"
    assert observe_url(host, "http://127.0.0.1:9/t/") == (
        "http://127.0.0.1:9/t/_observe/streams?records=false"
    )
    assert observe_url(host, "none") is None


# -- real soaks --------------------------------------------------------------------------------

#: The registry keeps few finished records, so the clean server's memory settles at once.
_SERVER_FLAGS = ["--no-access-log", "--log-level", "warning", "--observe-keep", "50",
                 "--leak-linger-s", "60", "--leak-kib-per-stream", "256"]  # fmt: skip
#: Each client leaves after 4 events (``--sse-max-events``), long before its stream would end:
#: a generator that outlives its client shows.
_PATH = "/counter?count=1000&interval_ms=40"


def _soak(url: str, pid: int, folder: Path) -> tuple[int, str, dict[str, Any]]:
    done = subprocess.run(
        [sys.executable, "-m", "harness", "load", url, "--soak", "5s", "--target-pid", str(pid),
         "--soak-sample-s", "0.25", "--soak-settle-s", "2", "-u", "15", "-r", "30",
         "--report-dir", str(folder), "--locust", "--sse-max-events 4 --sse-calibration-ms 0"],
        cwd=folder.parent, capture_output=True, text=True, timeout=90,
    )  # fmt: skip
    report = json.loads((folder / "load.json").read_text())
    return done.returncode, done.stdout + done.stderr, report


@pytest.mark.timeout(120)
def test_a_soak_catches_both_leaks_and_passes_the_clean_server(tmp_path: Path) -> None:
    faults = ("", "leak_memory", "leak_generator")
    with ExitStack() as stack, ThreadPoolExecutor(len(faults)) as pool:
        servers = [stack.enter_context(serve_subprocess(_SERVER_FLAGS)) for _ in faults]
        runs = list(
            pool.map(
                lambda fault, server: _soak(
                    f"{server.url}{_PATH}&fault={fault}",
                    server.popen.pid,
                    tmp_path / (fault or "clean"),
                ),
                faults,
                servers,
            )
        )
    (clean_code, clean_out, clean), (_, _, memory), (_, _, generator) = runs

    assert clean_code == 0, clean_out
    soak = clean["soak"]
    assert soak["streams_left"] == 0 and soak["target"]["observe"]["why"] is None
    # Its streams were back at once; the task sse-starlette keeps did not hold the wait.
    assert soak["target"]["observe"]["settle_s"] < 2
    assert soak["target"]["memory"]["streams_finished"] >= 100
    assert soak["target_kib_per_stream"] < 64
    assert load_verdict_line(clean).startswith("load: PASS: ")
    assert "soak: target no rate per hour (steady part short)," in load_verdict_line(clean)
    page = (tmp_path / "clean" / "load.html").read_text()
    assert 'id="soak"' in page and 'id="plot-soak"' in page
    # A long soak draws every figure: nothing to say why, and the page still renders.
    for figures in (soak["target"]["memory"], *soak["harness"].values()):
        figures["why"] = None
    assert 'id="soak"' in render_page(clean, [], "load.html")

    breached = [b["check"] for b in memory["gate"]["breaches"]]
    assert breached == ["soak_target_kib_per_stream"], memory["gate"]
    assert memory["soak"]["target_kib_per_stream"] == pytest.approx(256, rel=0.25)
    assert memory["soak"]["streams_left"] == 0

    breached = [b["check"] for b in generator["gate"]["breaches"]]
    assert "soak_streams_left" in breached, generator["gate"]
    assert generator["soak"]["streams_left"] >= 10  # 15 users' last streams, at the least
    assert generator["soak"]["target"]["observe"]["settle_s"] >= 2


def test_the_gate_checks_soak_keys_only_in_a_soak(tmp_path: Path) -> None:
    """A run without --soak is not gated (nor warned) on figures it never measured."""
    thresholds = resolve_thresholds(None, cwd=tmp_path)
    assert thresholds.limits["soak_streams_left"] == 0
    report = {"integrity": {"events": 5}, "cpu_warning": False, "metrics": {}, "streams": {}}
    report["integrity"] |= {k: 0 for k in ("lost", "duplicated", "out_of_order")}
    report["integrity"]["truncated_streams"] = 0
    report["streams"]["error_rate"] = 0
    verdict = evaluate(report, thresholds)
    assert not any(c.check.startswith("soak_") for c in verdict.checks)


def test_soak_options_that_cannot_work_are_refused_before_anything_runs(tmp_path: Path) -> None:
    def load(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "harness", "load", "http://127.0.0.1:9/", *args],
            cwd=tmp_path, capture_output=True, text=True, timeout=60,
        )  # fmt: skip

    both = load("--soak", "1m", "-t", "10s")
    assert both.returncode == 2 and "give it or --run-time, not both" in both.stderr
    alone = load("--target-pid", "1")
    assert alone.returncode == 2 and "give --soak DURATION" in alone.stderr
