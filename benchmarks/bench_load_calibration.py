"""Figure: the delivery latency the harness adds itself (calibration), p50 and p99.

    python benchmarks/bench_load_calibration.py [--seconds 20] [--interval-ms 10]

A local emitter stamps each event right before writing it; the harness reads it through the
same transport, parser and recorder as any load stream, in one gevent process with nothing else
running. Every load report carries the same measurement taken beside its own load.
"""

from __future__ import annotations

import argparse
import json

from harness.load.calibration import Calibration


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--interval-ms", type=float, default=10.0)
    args = parser.parse_args()
    histogram = Calibration(args.interval_ms / 1000).measure(args.seconds)
    print(f"calibration over {args.seconds:.0f} s at one event per {args.interval_ms:g} ms:")
    print(json.dumps(histogram.summary()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
