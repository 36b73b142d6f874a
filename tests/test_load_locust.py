"""Real Locust processes (local, and a master with two workers) running the locustfiles against
the reference server: the report is written once, merged counts add up, Locust's statistics get
a few rows per stream, and a breach of the thresholds sets Locust's exit code.

Locust runs as subprocesses: importing it monkeypatches the process for gevent, which the
asyncio tests collected in this session must not inherit.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.load.gate import shipped_thresholds
from harness.load.run import locustfile
from reference_server.launch import free_port, serve_subprocess

pytestmark = pytest.mark.timeout(90)

STREAM = str(locustfile("stream"))
THRESHOLDS = str(shipped_thresholds())
COUNTER = "/counter?count=20&interval_ms=50"


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    """A reference server in its own process, so that its latency is not the test process's."""
    with serve_subprocess(["--no-access-log", "--log-level", "warning"]) as process:
        yield process.url


def _locust(*args: str, cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "locust", "-f", STREAM, "--headless", *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _finish(process: subprocess.Popen[str], timeout_s: float = 60) -> tuple[int, str]:
    output, _ = process.communicate(timeout=timeout_s)
    return process.returncode, output


def _load(directory: Path) -> dict[str, Any]:
    report: dict[str, Any] = json.loads((directory / "load.json").read_text())
    return report


def _run_local(url: str, tmp_path: Path, *extra: str) -> tuple[int, str, dict[str, Any]]:
    reports = tmp_path / "report"
    process = _locust(
        "--host", url, "-u", "4", "-r", "4", "-t", "3s", "--sse-max-events", "20",
        "--sse-report-dir", str(reports), "--json-file", str(tmp_path / "stats"), *extra,
        cwd=tmp_path,
    )  # fmt: skip
    code, output = _finish(process)
    return code, output, _load(reports)


def test_local_run_reports_streams_not_events(server: str, tmp_path: Path) -> None:
    code, output, report = _run_local(
        server, tmp_path, "--sse-path", COUNTER, "--sse-thresholds", THRESHOLDS
    )
    assert code == 0, output
    gate = report["gate"]
    assert (gate["passed"], gate["breaches"], gate["warnings"]) == (True, [], [])
    assert gate["thresholds"]["source"] == THRESHOLDS
    assert gate["thresholds"]["load"]["lost_events"] == 0
    assert (report["users"], report["workers"]) == (4, 1)
    integrity, metrics = report["integrity"], report["metrics"]
    assert integrity["events"] >= 4 * 20 and integrity["lost"] == integrity["duplicated"] == 0
    assert metrics["latency_ms"]["count"] == integrity["events"]
    # ms, not the ~0.5 s a 1 KiB block of these ~90-byte events would take to fill (iter_lines)
    assert metrics["latency_ms"]["p50"] < 20 and metrics["latency_ms"]["p99"] < 300
    assert report["calibration"]["count"] > 0 and report["calibration"]["p99_ms"] is not None
    assert report["throughput"]["peak_streams"] == 4
    assert "<svg" in (tmp_path / "report" / "load.html").read_text()

    # Locust's final stats (written after its users stopped; its _stats.csv is only rewritten
    # every few seconds, so under load it can miss the last streams).
    entries = json.loads((tmp_path / "stats.json").read_text())
    rows = {(e["method"], e["name"]): e["num_requests"] for e in entries}
    assert set(rows) == {("connect", "/counter"), ("ttfe", "/counter"), ("stream", "/counter")}
    assert rows[("ttfe", "/counter")] == metrics["ttfe_ms"]["count"]
    assert rows[("connect", "/counter")] == metrics["connect_ms"]["count"]
    assert sum(rows.values()) * 5 < integrity["events"]  # a few rows per stream, not per event


def test_a_breach_sets_the_exit_code(server: str, tmp_path: Path) -> None:
    code, output, report = _run_local(
        server,
        tmp_path,
        "--sse-path", COUNTER + "&fault=skip_ids", "--sse-thresholds", THRESHOLDS,
    )  # fmt: skip
    assert code == 1, output
    assert report["integrity"]["lost"] > 0
    assert not report["gate"]["passed"]
    # ids 1, 4 ... 19 are skipped: holes are lost; the server still ends each stream cleanly,
    # and nothing promised more (--sse-max-events is a bound), so no stream failed
    assert [b["check"] for b in report["gate"]["breaches"]] == ["lost_events"]
    assert report["integrity"]["truncated_streams"] == report["streams"]["errors"] == 0
    assert "gate breach: lost_events" in output


def _worker_totals(output: str) -> list[dict[str, int]]:
    """The totals every worker logging into ``output`` wrote when it quit."""
    found = re.findall(r"sse-harness worker totals: (\{.*\})", output)
    return [json.loads(line) for line in found]


def test_distributed_run_merges_workers_into_one_report(server: str, tmp_path: Path) -> None:
    port = str(free_port())
    reports = tmp_path / "reports"
    common = ["--sse-path", COUNTER, "--sse-max-events", "20", "--sse-thresholds", THRESHOLDS]
    master = _locust(
        "--master", "--master-bind-host", "127.0.0.1", "--master-bind-port", port,
        "--expect-workers", "2", "--host", server, "-u", "6", "-r", "6", "-t", "4s",
        "--sse-report-dir", str(reports), *common,
        cwd=tmp_path,
    )  # fmt: skip
    workers = [
        _locust("--worker", "--master-host", "127.0.0.1", "--master-port", port, cwd=tmp_path)
        for _ in range(2)
    ]
    try:
        code, output = _finish(master)
        worker_outputs = [_finish(worker)[1] for worker in workers]
    finally:
        for process in (master, *workers):
            if process.poll() is None:
                process.kill()
    assert code == 0, output
    assert sorted(p.name for p in tmp_path.rglob("load.json")) == ["load.json"]
    report = _load(reports)
    assert (report["workers"], report["users"]) == (2, 6)
    totals = [total for text in worker_outputs for total in _worker_totals(text)]
    assert len(totals) == 2, worker_outputs
    assert all(t["events"] > 0 for t in totals)  # both workers streamed
    assert report["integrity"]["events"] == sum(t["events"] for t in totals)
    for name in ("connect", "ttfe", "gap", "latency", "lateness", "calibration"):
        merged = report["metrics"][f"{name}_ms"]["count"]
        assert merged == sum(t[f"{name}_count"] for t in totals) > 0, name
    shares = report["per_worker"].values()
    assert sum(w["events"] for w in shares) == report["integrity"]["events"]


def _emitter(count: int) -> Iterator[str]:
    """``harness.load.emitter`` in its own process: ``count`` events per stream, one each 50 ms."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "harness.load.emitter",
            "--interval-ms",
            "50",
            "--count",
            str(count),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        yield process.stdout.readline().strip().rstrip("/")
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="module")
def emitter() -> Iterator[str]:
    yield from _emitter(20)


@pytest.fixture(scope="module")
def long_emitter() -> Iterator[str]:
    """Streams that outlast the run: the workers stop them mid-way."""
    yield from _emitter(400)


def _own_master_port() -> list[str]:
    """A master port of this run's own: Locust's default, 5557, is shared by every run on the
    machine, and another run's workers would join this master."""
    port = str(free_port())
    return ["--master-bind-host", "127.0.0.1", "--master-bind-port", port, "--master-port", port]


def test_processes_merge_exactly_into_one_report(
    emitter: str, tmp_path: Path, lenient_thresholds: Path
) -> None:
    """Locust's ``--processes 2`` (what ``sse-harness load --processes 2`` passes on) forks a
    master and two workers; the merged histograms and counters are exactly the sums of what each
    worker measured (its own totals line, logged when it quits)."""
    reports = tmp_path / "report"
    lenient = lenient_thresholds  # merging is the point here, not the latency gate
    process = _locust(
        *_own_master_port(),
        "--processes", "2", "--host", emitter, "-u", "8", "-r", "8", "-t", "4s",
        "--sse-path", "/", "--sse-max-events", "20", "--sse-thresholds", str(lenient),
        "--sse-report-dir", str(reports),
        cwd=tmp_path,
    )  # fmt: skip
    code, text = _finish(process)
    assert code == 0, text
    report = _load(reports)
    assert report["workers"] == 2, text
    totals = _worker_totals(text)
    assert len(totals) == 2, text
    integrity = report["integrity"]
    assert integrity["events"] >= 8 * 20 and integrity["lost"] == 0
    assert integrity["events"] == sum(t["events"] for t in totals)
    shares = list(report["per_worker"].values())
    assert len(shares) == 2 and all(w["events"] > 0 for w in shares)
    assert sum(w["events"] for w in shares) == integrity["events"]
    for name in ("connect", "ttfe", "gap", "latency", "lateness", "calibration"):
        merged = report["metrics"][f"{name}_ms"]["count"]
        assert merged == sum(w["counts"][name] for w in shares) > 0, name
        assert merged == sum(t[f"{name}_count"] for t in totals), name
    assert report["metrics"]["latency_ms"]["count"] == integrity["events"]
    # Each worker's memory per stream held and open-file limit reach the master.
    processes = report["process"]["load_processes"]
    assert processes.keys() == report["per_worker"].keys()
    assert all(0 < p["peak_streams"] <= 8 < p["open_file_limit"] for p in processes.values())
    per_stream = [p["rss_per_stream_kib"] for p in processes.values()]
    assert report["process"]["rss_per_stream_kib"] == max(per_stream) > 0


def test_workers_still_stopping_are_waited_for(
    long_emitter: str, tmp_path: Path, lenient_thresholds: Path
) -> None:
    """Locust's master waits a fixed 0.5 s for the workers' final reports. With --stop-timeout 2
    each worker keeps reading for up to 2 s after "quit"; the merged report must still hold
    everything the workers measured (their own totals lines), not what arrived in 0.5 s."""
    reports = tmp_path / "report"
    lenient = lenient_thresholds
    process = _locust(
        *_own_master_port(),
        "--processes", "2", "--host", long_emitter, "-u", "4", "-r", "4", "-t", "2s",
        "--stop-timeout", "2", "--sse-path", "/", "--sse-max-events", "0",
        "--sse-thresholds", str(lenient), "--sse-report-dir", str(reports),
        cwd=tmp_path,
    )  # fmt: skip
    code, text = _finish(process)
    assert code == 0, text
    report = _load(reports)
    totals = _worker_totals(text)
    assert len(totals) == 2, text
    assert report["integrity"]["events"] == sum(t["events"] for t in totals) > 0
    assert report["metrics"]["latency_ms"]["count"] == sum(t["latency_count"] for t in totals)
    assert report["streams"]["ended"]["stopped"] == 4  # ended by the stop, after Locust's 0.5 s


def _probe(code: str) -> Any:
    """What ``code``, run in a child interpreter, printed last, as JSON."""
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


_GC_PROBE = """
import argparse, gc, json
import gevent
from locust.env import Environment
from harness.load.options import Defaults, add_arguments
from harness.load.plugin import LoadRun

parser = argparse.ArgumentParser()
add_arguments(parser, Defaults())
environment = Environment(parsed_options=parser.parse_args(["--sse-calibration-ms", "0"]))
environment.create_local_runner()
run = LoadRun(environment, Defaults())
old, new = [[] for _ in range(50_000)], []
before = gc.get_freeze_count(), gc.get_threshold()
run.start()
frozen, running = gc.get_freeze_count(), gc.get_threshold()
# Streams ending while others start: each object freed offsets one allocated, so CPython's
# count never reaches its threshold and the young generation only grows...
while old:
    old.pop()
    new.append([])
young = lambda: len(gc.get_objects(0)) + len(gc.get_objects(1))
churned = young()
gevent.sleep(0)  # ...until the run's first second collects it
collected = young()
for _ in range(3):
    gc.collect(1)
during = run.metrics.histograms["gc_pause"].count
run.stopping()
from harness.load import session
halted = session._halted
run.stop()
run.start()
resumed = not session._halted
run.stop()
gc.collect()
print(json.dumps({"halted": halted, "resumed": resumed, "churned": churned,
                  "collected": collected, "before": before, "frozen": frozen,
                  "running": running, "during": during,
                  "after": run.metrics.histograms["gc_pause"].count,
                  "restored": [gc.get_freeze_count(), gc.get_threshold()]}))
"""


def test_users_run_without_full_collections_and_the_pauses_left_are_timed() -> None:
    """Full collections paused every stream for hundreds of ms at 10,000 streams: while users
    run, start-up objects are frozen and only the young generations are collected, once a
    second too; each pause is timed. Both end with the run. In a child: importing the plugin
    imports Locust, which monkeypatches."""
    got = _probe(_GC_PROBE)
    (frozen_before, thresholds), running = got["before"], got["running"]
    assert frozen_before == 0 and got["frozen"] > 10_000
    assert running[:2] == thresholds[:2] and running[2] >= 10**9  # gen 2: never while running
    # Allocations balanced by frees start no young pass: the run collects once a second.
    assert got["churned"] >= 50_000 and got["collected"] < 1_000
    assert got["during"] >= 4 and got["after"] == got["during"]
    assert got["restored"] == [0, thresholds]
    # Stopping halts every stream's reading (no --stop-timeout), the next start resumes it.
    assert got["halted"] and got["resumed"]


_SPREAD_PROBE = """
import json
from harness.load.user import start_spread_s
print(json.dumps([start_spread_s(rate) for rate in (0, 0.5, 1.9, 2, 500, 500.5, 1000)]))
"""


def test_users_of_one_spawn_batch_start_spread_over_its_interval() -> None:
    """Locust starts floor(rate) users at once each floor(rate)/rate s; each waits a share of
    that interval before its first stream, so 500 streams do not connect in one instant. In a
    child: importing harness.load.user imports Locust, which monkeypatches."""
    spreads = _probe(_SPREAD_PROBE)
    assert spreads == pytest.approx([0.0, 0.0, 0.0, 1.0, 1.0, 500 / 500.5, 1.0])
