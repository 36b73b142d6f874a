"""Figure: one Locust process holding N concurrent 1-event/s streams (default 10,000): lost events,
p99 delivery latency and calibration, the CPU warning, and the reader's CPU per event.

    python benchmarks/bench_load_streams.py [--users 10000] [--spawn-rate 500] [--hold 40]
                                            [--source emitter|reference] [--processes 1]

The source runs in its own process: ``harness.load.emitter`` (default: stamps each event right
before its write and costs little, so the figures are the reader's) or the reference server's
``/counter`` (``--source reference``). Locust runs headless with the local runner (one process,
which is what one worker is), or ``--processes N`` workers under a master. Every user reads one
stream of ``hold`` events, one a second; the run lasts the ramp plus the hold plus a margin.

CPU per event is taken in the steady state only: the Locust processes' CPU time is sampled once a
second, and the window runs from 3 s after the ramp to 3 s before the first streams end; it is
divided by the events of those seconds (the report's per-second series). With one event a second
per stream, it is also the CPU per stream-second. Latency figures come from the run's load.json.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import resource
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from load_source import LENIENT, emitter
from record import Figure, record  # benchmarks/ is the script's folder, first on sys.path
from steady import cpu_per_event, run_sampled

from reference_server.launch import serve_subprocess

ROOT = Path(__file__).resolve().parent.parent


@contextlib.contextmanager
def _source(kind: str, hold: int, run_s: int) -> Iterator[tuple[str, str]]:
    """(base URL, path) of the source."""
    if kind == "emitter":
        with emitter("--interval-ms", "1000", "--count", str(hold)) as url:
            yield url, "/"
        return
    server_args = ["--no-access-log", "--log-level", "warning", "--max-stream-s", str(run_s + 60)]
    with serve_subprocess(server_args) as server:
        yield server.url, f"/counter?count={hold}&interval_ms=1000"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--spawn-rate", type=float, default=500.0)
    parser.add_argument("--hold", type=int, default=40, help="events (seconds) per stream")
    parser.add_argument("--source", choices=("emitter", "reference"), default="emitter")
    parser.add_argument("--processes", type=int, default=1)
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # children inherit it
    ramp = args.users / args.spawn_rate
    run_s = int(ramp + args.hold + 10)
    report_dir = Path(tempfile.mkdtemp(prefix="bench-load-streams-"))
    thresholds = report_dir / "lenient.toml"
    thresholds.write_text(LENIENT)
    print(f"open-file limit: {hard} (soft {soft} raised to the hard limit)")
    print(f"{args.users} users, ramp {ramp:.0f} s, {args.hold} events a stream, run {run_s} s")
    with _source(args.source, args.hold, run_s) as (url, path):
        command = [
            sys.executable, "-m", "locust", "-f", str(ROOT / "locustfiles" / "stream.py"),
            "--headless", "--only-summary", "--host", url,
            "-u", str(args.users), "-r", str(args.spawn_rate), "-t", f"{run_s}s",
            "--sse-path", path,
            "--sse-max-events", str(args.hold), "--sse-max-seconds", str(args.hold + ramp + 30),
            "--sse-timeout", "60", "--sse-report-dir", str(report_dir),
            "--sse-thresholds", str(thresholds),
        ]  # fmt: skip
        if args.processes > 1:
            command += ["--processes", str(args.processes)]
        run = run_sampled(command, run_s + 120)
    report = json.loads((report_dir / "load.json").read_text())
    integrity, metrics = report["integrity"], report["metrics"]
    cpu_us = cpu_per_event(run, report, skip_s=ramp + 3, keep_s=args.hold - 6)
    print(f"locust exit code {run.returncode}; report {report_dir}")
    if run.returncode not in (0, 1):
        print(run.output[-3000:])
    elif report["streams"]["errors"] and "Error report" in run.output:
        print(run.output[run.output.index("Error report") :][:2000])
    print(f"streams: {json.dumps(report['streams'])}")
    print(f"events/s by second: {report['series']['events_per_s']}")
    latency, calibration = metrics["latency_ms"], metrics["calibration_ms"]
    per_worker = report["per_worker"]
    exactness: list[Figure] = []
    if per_worker:  # --processes: the merged report must be the exact sum of the workers'
        summed = sum(w["events"] for w in per_worker.values())
        counts = {
            name: sum(w["counts"][name] for w in per_worker.values())
            for name in ("latency", "gap", "connect")
        }
        merged = {name: metrics[f"{name}_ms"]["count"] for name in counts}
        print(f"workers: {len(per_worker)}; events merged {integrity['events']}, summed {summed}")
        print(f"histogram counts merged {merged}, summed {counts}")
        exactness = [
            Figure("merged minus summed events", integrity["events"] - summed, "events", "lower")
        ]
    gc_pause = metrics.get("gc_pause_ms", {})
    record(
        "load_streams",
        [
            Figure("peak open streams", report["throughput"]["peak_streams"], "streams"),
            Figure("events", integrity["events"], "events"),
            Figure("lost", integrity["lost"], "events", "lower"),
            Figure("truncated streams", integrity["truncated_streams"], "streams", "lower"),
            Figure("latency p50", latency["p50"] or 0, "ms", "lower"),
            Figure("latency p99", latency["p99"] or 0, "ms", "lower"),
            Figure("calibration p99", calibration["p99"] or 0, "ms", "lower"),
            Figure("cpu warning", int(report["cpu_warning"]), "bool", "lower"),
            Figure("gc pauses", gc_pause.get("count", 0), "pauses", "lower"),
            Figure("gc pause max", gc_pause.get("max") or 0, "ms", "lower"),
            Figure("reader CPU per event (steady)", cpu_us, "us", "lower"),
            *exactness,
        ],
        title=f"{args.users} streams of 1 event/s from the {args.source}, "
        f"{args.processes} Locust process(es)",
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
