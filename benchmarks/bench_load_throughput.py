"""Figure: events parsed and recorded per second by one Locust process, and per CPU second of it,
against the common recipe (a plain Locust user that reports every event as a request), in the
same benchmark run.

    python benchmarks/bench_load_throughput.py [--users 20] [--seconds 15]

The source is ``harness.load.emitter`` in its own process at interval 0 (batches of 200 stamped
counter events, as fast as the socket takes them, 100,000 per stream), so the figure is the
reader's, not a Python server's. Rates are events over the seconds that had events. Run 1 is
``locustfiles/stream.py`` (parse with harness.stream, HDR-record connect, TTFE, gap, latency,
lateness, check ids); run 2 is the recipe below, on Locust's FastHttpUser: iterate lines, fire
one request event per ``data:`` line. Run 1 is gated on a lenient thresholds file (any event
passes): the figure is the rate, not a verdict. Events per CPU second (the Locust process's
user + system time in the steady state, from 2 s after the first events to 2 s before the end:
see ``steady.py``) is the figure that holds on a busy machine.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from load_source import LENIENT, emitter
from record import Figure, record  # benchmarks/ is the script's folder, first on sys.path
from steady import cpu_per_event, run_sampled

ROOT = Path(__file__).resolve().parent.parent
EMITTER = ["--interval-ms", "0", "--batch", "200", "--count", "100000"]

RECIPE = '''
import time
from locust import constant, task
from locust.contrib.fasthttp import FastHttpUser


class PlainSSEUser(FastHttpUser):
    """The common recipe: one Locust request per event, timed since the previous one."""

    wait_time = constant(0)

    @task
    def stream(self):
        last = time.perf_counter()
        for line in self.client.iter_lines("/"):
            if line.startswith("data:"):
                now = time.perf_counter()
                self.environment.events.request.fire(
                    request_type="SSE", name="event", response_time=(now - last) * 1000,
                    response_length=len(line), exception=None, context={},
                )
                last = now
'''


def _command(locustfile: Path, url: str, users: int, seconds: int, *extra: str) -> list[str]:
    return [
        sys.executable, "-m", "locust", "-f", str(locustfile), "--headless", "--only-summary",
        "--host", url, "-u", str(users), "-r", str(users), "-t", f"{seconds}s", *extra,
    ]  # fmt: skip


def _locust(locustfile: Path, url: str, users: int, seconds: int, *extra: str) -> str:
    command = _command(locustfile, url, users, seconds, *extra)
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--seconds", type=int, default=15)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-load-throughput-"))
    with emitter(*EMITTER) as url:
        thresholds = work / "lenient.toml"
        thresholds.write_text(LENIENT)
        run = run_sampled(
            _command(
                ROOT / "locustfiles" / "stream.py", url, args.users, args.seconds,
                "--sse-path", "/", "--sse-max-events", "0", "--sse-max-seconds", "3600",
                "--sse-report-dir", str(work / "harness"), "--sse-thresholds", str(thresholds),
            ),
            args.seconds + 120,
        )  # fmt: skip
        report = json.loads((work / "harness" / "load.json").read_text())
        per_second = [n for n in report["series"]["events_per_s"] if n]
        ours = sum(per_second) / len(per_second)
        cpu_us = cpu_per_event(run, report, skip_s=2, keep_s=args.seconds - 4)
        recipe = work / "recipe.py"
        recipe.write_text(RECIPE)
        stats = json.loads(_locust(recipe, url, args.users, args.seconds, "--json"))
        (entry,) = [e for e in stats if e["name"] == "event"]
        theirs = entry["num_requests"] / (entry["last_request_timestamp"] - entry["start_time"])
    print(f"lost {report['integrity']['lost']}, cpu warning: {report['cpu_warning']}")
    print(f"latency {json.dumps(report['metrics']['latency_ms'])}")
    record(
        "load_throughput",
        [
            Figure("harness events/s (SSEUser)", ours, "events/s"),
            Figure("harness events per CPU second (steady)", 1e6 / cpu_us, "events/cpu-s"),
            Figure("harness CPU per event (steady)", cpu_us, "µs", "lower"),
            Figure("plain recipe events/s", theirs, "events/s"),
            Figure("harness / recipe", ours / theirs, "x"),
        ],
        title=f"{args.users} streams, {args.seconds} s each run, one Locust process",
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
