"""One way for every benchmark to print its table and remember it.

Each benchmark script ends with :func:`record`: it prints one table and writes
``reports/bench/<name>.json``, which ``sse-harness gate NEW --baseline OLD`` compares with a
saved run (a figure that got worse by 20% warns, by 50% fails). This machine is shared and noisy,
so the figures worth gating are the ratios to a peer measured in the same run; absolute rates
are kept for the record.
"""

from __future__ import annotations

import json
import shlex
import sys
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

__all__ = ["Figure", "record"]

SCHEMA_VERSION = 1


@dataclass(frozen=True, slots=True)
class Figure:
    name: str
    value: float
    unit: str
    #: Which way is better: "higher" (rates, ratios) or "lower" (latencies, CPU per event).
    better: Literal["higher", "lower"] = "higher"


def record(name: str, figures: list[Figure], *, title: str, directory: Path | None = None) -> Path:
    """Print the table and write the JSON; returns the JSON's path."""
    width = max(len(f.name) for f in figures)
    print(f"\n{title}")
    for figure in figures:
        print(f"  {figure.name:<{width}}  {figure.value:>14,.3f} {figure.unit}")
    folder = directory or Path("reports") / "bench"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.json"
    document = {
        "schema_version": SCHEMA_VERSION,
        "kind": "benchmark",
        "name": name,
        "title": title,
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": shlex.join([Path(sys.argv[0]).name, *sys.argv[1:]]),
        "figures": [asdict(f) for f in figures],
    }
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    print(f"  written to {path} (compare: sse-harness gate {path} --baseline OLD.json)")
    return path
