"""What the client matrix costs, and how far its timing limits sit from its measurement noise.

    python benchmarks/bench_matrix.py [--clients harness] [--jobs 1 4] [--rounds 2]

For each ``--jobs`` value, runs the selected clients on the whole catalog ``--rounds`` times and
prints the wall time, cells per second, and the dispatch latency the matrix measured for every
event it could match to the chunk that completed it (client dispatch stamp minus the server's
write stamp, one host, one clock): p50, p99 and max. The timing cases fail a client at 300 ms
(first event, each event) and 500 ms (CR at a chunk end); the p99 of a conforming client shows
the margin those limits leave.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from harness.clients.adapters import CLIENTS
from harness.clients.catalog import CASES
from harness.clients.matrix import MatrixResult, run_columns


def latencies(result: MatrixResult) -> list[float]:
    """Dispatch latency of every event that is where the catalog expects it: the client's
    dispatch stamp minus the server's write stamp of the chunk that completed it."""
    out: list[float] = []
    for column in result.columns:
        for r in column.results:
            events, served = r.observed.get("events"), r.observed.get("served")
            expected = r.case.expect.events
            if not isinstance(events, list) or not isinstance(served, list):
                continue
            if expected is None or [(e["type"], e["data"], e["last_event_id"]) for e in events] != [
                (e.type, e.data, e.last_event_id) for e in expected
            ]:
                continue
            for (resp, chunk, _), seen in zip(r.case.parsed(), events, strict=True):
                out.append(seen["t"] - served[resp]["chunks_at"][chunk])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", default="harness", help="comma-separated client names")
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    specs = [CLIENTS[name] for name in args.clients.split(",")]
    for jobs in args.jobs:
        walls: list[float] = []
        lat: list[float] = []
        for _ in range(args.rounds):
            started = time.perf_counter()
            result = asyncio.run(run_columns(specs, CASES, jobs=jobs))
            walls.append(time.perf_counter() - started)
            lat += latencies(result)
        cells = len(CASES) * len(specs)
        best = min(walls)
        q = statistics.quantiles(lat, n=100) if len(lat) >= 2 else [float("nan")] * 99
        print(
            f"jobs={jobs}: {cells} cells, best of {args.rounds} {best:.1f} s"
            f" ({cells / best:.1f} cells/s); dispatch latency over {len(lat)} events:"
            f" p50 {q[49] * 1000:.1f} ms, p99 {q[98] * 1000:.1f} ms,"
            f" max {max(lat) * 1000:.1f} ms"
        )


if __name__ == "__main__":
    main()
