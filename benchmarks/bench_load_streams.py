"""Figure: one Locust worker process holding N concurrent 1-event/s streams against the reference
server (default 10,000 for 60 s): lost events and p99 delivery latency, with the open-file limit.

    python benchmarks/bench_load_streams.py [--users 10000] [--spawn-rate 500] [--hold 60]

The reference server runs in its own process (uvicorn, one core); Locust runs headless with the
local runner (one process, which is what one worker is). Every user reads one stream of
``hold`` events, one a second; the run lasts the ramp plus the hold plus a margin, and the figure
is taken from the run's load.json.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from reference_server.launch import serve_subprocess

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--spawn-rate", type=float, default=500.0)
    parser.add_argument("--hold", type=int, default=60, help="events (seconds) per stream")
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # children inherit it
    ramp = args.users / args.spawn_rate
    run_s = int(ramp + args.hold + 10)
    report_dir = Path(tempfile.mkdtemp(prefix="bench-load-streams-"))
    print(f"open-file limit: {hard} (soft {soft} raised to the hard limit)")
    print(f"{args.users} users, ramp {ramp:.0f} s, {args.hold} events a stream, run {run_s} s")
    server_args = ["--no-access-log", "--log-level", "warning", "--max-stream-s", str(run_s + 60)]
    with serve_subprocess(server_args) as server:
        command = [
            sys.executable, "-m", "locust", "-f", str(ROOT / "locustfiles" / "stream.py"),
            "--headless", "--only-summary", "--host", server.url,
            "-u", str(args.users), "-r", str(args.spawn_rate), "-t", f"{run_s}s",
            "--sse-path", f"/counter?count={args.hold}&interval_ms=1000",
            "--sse-max-events", str(args.hold), "--sse-max-seconds", str(args.hold + ramp + 30),
            "--sse-timeout", "60", "--sse-report-dir", str(report_dir), "--sse-thresholds", "",
        ]  # fmt: skip
        started = time.monotonic()
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        elapsed = time.monotonic() - started
        server_cpu = sum(psutil.Process(server.popen.pid).cpu_times()[:2])
        locust = resource.getrusage(resource.RUSAGE_CHILDREN)  # the server is not reaped yet
    print(f"CPU s: server {server_cpu:.0f}, locust {locust.ru_utime + locust.ru_stime:.0f}")
    report = json.loads((report_dir / "load.json").read_text())
    integrity, metrics = report["integrity"], report["metrics"]
    print(f"locust exit code {done.returncode} after {elapsed:.0f} s; report {report_dir}")
    print(f"peak open streams: {report['throughput']['peak_streams']}")
    print(f"events: {integrity['events']}, lost: {integrity['lost']}")
    print(f"duplicated: {integrity['duplicated']}, truncated: {integrity['truncated_streams']}")
    print(f"streams: {json.dumps(report['streams'])}")
    for name in ("latency_ms", "lateness_ms", "ttfe_ms", "connect_ms", "calibration_ms"):
        print(f"{name}: {json.dumps(metrics[name])}")
    print(f"events/s: {report['throughput']['events_per_s']}, cpu warning: {report['cpu_warning']}")
    print(f"events/s by second: {report['series']['events_per_s']}")
    print(f"open streams by second: {report['series']['active_streams']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
