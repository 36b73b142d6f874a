"""Figure: one Locust process holding N concurrent 1-event/s streams (default 10,000): lost events,
p99 delivery latency and calibration, the CPU warning, the reader's CPU per event and its
resident memory per stream.

    python benchmarks/bench_load_streams.py [--users 10000] [--spawn-rate 500] [--hold 40]
                                            [--source emitter|reference] [--processes 1]

The source runs in its own process: ``harness.load.emitter`` (default: stamps each event right
before its write and costs little, so the figures are the reader's; as many processes as the
open-file limit asks for) or the reference server's ``/counter`` (``--source reference``).
Locust runs headless with the local runner (one process, which is what one worker is), or
``--processes N`` workers under a master. Every user reads one stream of ``hold`` events, one a
second; the run lasts the ramp plus the hold plus a margin.

CPU per event is taken in the steady state only: the Locust processes' CPU time is sampled once a
second, and the window runs from 3 s after the ramp to 3 s before the first streams end; it is
divided by the events of those seconds (the report's per-second series). With one event a second
per stream, it is also the CPU per stream-second; the source's CPU per event is taken in the same
window. Memory per stream is what the Locust processes' resident memory (``VmRSS``, summed) grew
by from before the first user spawned to the end of that window, over the streams open then.
Latency figures come from the run's load.json.

Each stream is a socket on both sides, so the source and every Locust process need an open-file
limit above the streams they hold: the script raises its own (which they inherit) to what the run
needs, past the hard limit when it may (root with CAP_SYS_RESOURCE, up to ``fs.nr_open``), and
says so, and says when it could not (then the streams past the limit fail to connect).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import resource
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from load_source import LENIENT, Source, emitter_source
from record import Figure, record  # benchmarks/ is the script's folder, first on sys.path
from steady import cpu_per_event, rss_per_stream, run_sampled

from reference_server.launch import serve_subprocess

ROOT = Path(__file__).resolve().parent.parent
#: Open files a process needs beyond its streams (the interpreter, Locust, the calibration).
_SPARE_FILES = 512


def _raise_open_files(per_process: int) -> tuple[int, str]:
    """Raise this process's open-file limit (inherited by the source and Locust) so that one
    process can hold ``per_process`` sockets, past the hard limit when allowed (root with
    CAP_SYS_RESOURCE, up to ``fs.nr_open``); the limit it got, and what it did in words."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    needed = per_process + _SPARE_FILES
    ceiling = int(Path("/proc/sys/fs/nr_open").read_text())
    wanted = min(max(hard, needed), ceiling)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, wanted))
    except (ValueError, OSError):  # not allowed past the hard limit
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        wanted = hard
    said = f"open-file limit: {wanted} (was soft {soft}, hard {hard}; {needed} needed per process)"
    if wanted < needed:
        said += ": TOO LOW, the hard limit could not be raised; streams past it fail to connect"
    return wanted, said


@contextlib.contextmanager
def _source(kind: str, hold: int, run_s: int, processes: int) -> Iterator[tuple[Source, str]]:
    """The source (base URL, process) and the path to stream."""
    if kind == "emitter":
        args = ["--interval-ms", "1000", "--count", str(hold)]
        if processes > 1:
            args += ["--processes", str(processes)]
        with emitter_source(*args) as source:
            yield source, "/"
        return
    server_args = ["--no-access-log", "--log-level", "warning", "--max-stream-s", str(run_s + 60)]
    with serve_subprocess(server_args) as server:
        yield Source(server.url, server.popen.pid), f"/counter?count={hold}&interval_ms=1000"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--spawn-rate", type=float, default=500.0)
    parser.add_argument("--hold", type=int, default=40, help="events (seconds) per stream")
    parser.add_argument("--source", choices=("emitter", "reference"), default="emitter")
    parser.add_argument("--processes", type=int, default=1)
    args = parser.parse_args()
    limit, said = _raise_open_files(math.ceil(args.users / args.processes))
    # The emitter's share of the streams must fit its processes' limit too.
    emitters = math.ceil(args.users / max(limit - _SPARE_FILES, 1))
    ramp = args.users / args.spawn_rate
    run_s = int(ramp + args.hold + 10)
    report_dir = Path(tempfile.mkdtemp(prefix="bench-load-streams-"))
    thresholds = report_dir / "lenient.toml"
    thresholds.write_text(LENIENT)
    print(said)
    if args.source == "emitter":
        print(f"emitter: {emitters} process(es)")
    print(f"{args.users} users, ramp {ramp:.0f} s, {args.hold} events a stream, run {run_s} s")
    with _source(args.source, args.hold, run_s, emitters) as (source, path):
        command = [
            sys.executable, "-m", "locust", "-f", str(ROOT / "locustfiles" / "stream.py"),
            "--headless", "--only-summary", "--host", source.url,
            "-u", str(args.users), "-r", str(args.spawn_rate), "-t", f"{run_s}s",
            "--sse-path", path,
            "--sse-max-events", str(args.hold), "--sse-max-seconds", str(args.hold + ramp + 30),
            "--sse-timeout", "60", "--sse-report-dir", str(report_dir),
            "--sse-thresholds", str(thresholds),
        ]  # fmt: skip
        if args.processes > 1:
            command += ["--processes", str(args.processes)]
        run = run_sampled(command, run_s + 120, source.pid)
    report = json.loads((report_dir / "load.json").read_text())
    integrity, metrics = report["integrity"], report["metrics"]
    steady = {"skip_s": ramp + 3, "keep_s": args.hold - 6}
    cpu_us = cpu_per_event(run, report, **steady)
    source_cpu_us = cpu_per_event(run, report, **steady, source=True)
    rss_kib, held = rss_per_stream(run, report, **steady)
    print(f"locust exit code {run.returncode}; report {report_dir}")
    if run.returncode not in (0, 1):
        print(run.output[-3000:])
    elif report["streams"]["errors"] and "Error report" in run.output:
        print(run.output[run.output.index("Error report") :][:2000])
    print(f"streams: {json.dumps(report['streams'])}")
    print(f"events/s by second: {report['series']['events_per_s']}")
    print(f"RSS before spawning {run.rss_before_kib} KiB; {held} streams held at the steady end")
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
            Figure("source CPU per event (steady)", source_cpu_us, "us", "lower"),
            Figure("reader RSS per stream (steady)", rss_kib, "KiB", "lower"),
            *exactness,
        ],
        title=f"{args.users} streams of 1 event/s from the {args.source}, "
        f"{args.processes} Locust process(es)",
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
