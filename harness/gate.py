"""``sse-harness gate REPORT [--baseline REPORT]``: a CI verdict on a load run.

The verdict is the one the Locust run gave when it quit (the same :func:`evaluate` with the
same checked-in thresholds), given again after the fact, optionally with regressions against a
baseline run: a percentile that grew by ``warn_pct`` or more warns, by ``fail_pct`` or more
fails, unless it grew by less than ``min_delta_ms`` (noise on sub-millisecond figures).

Thresholds live in a TOML file (default ``reports/thresholds.toml``), table ``[load]``:

``<metric>_<p50|p90|p99|max>_ms``  upper bound on a latency figure, e.g. ``ttfe_p99_ms``
    (metrics: connect, ttfe, gap, latency, lateness, calibration; chat runs: ttft, itl, tpot)
``lost_events``, ``duplicated_events``, ``out_of_order_events``, ``truncated_streams``  maxima
``error_rate``   most failed streams (error or truncated) over streams started, 0..1
``min_events``   fewest events the run must have measured (a run that saw nothing never passes)
``cpu_warning``  true: Locust's CPU-usage warning during the run is a breach

and table ``[baseline]``: ``percentile``, ``warn_pct``, ``fail_pct``, ``min_delta_ms``.
An unknown key is a usage error: a typo must not quietly switch a check off.

Exit codes: 0 pass (warnings allowed), 1 a breach, 2 usage error (unreadable report or file).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from harness.load import chat, metrics

__all__ = [
    "DEFAULT_THRESHOLDS",
    "Finding",
    "Thresholds",
    "Verdict",
    "add_arguments",
    "evaluate",
    "load_thresholds",
    "run",
]

DEFAULT_THRESHOLDS = Path("reports/thresholds.toml")
EXIT_PASS, EXIT_BREACH, EXIT_USAGE = 0, 1, 2

_METRICS = "|".join((*metrics.HISTOGRAMS, *chat.HISTOGRAMS))
_PERCENTILE = re.compile(rf"^(?P<metric>{_METRICS})_(?P<stat>p50|p90|p99|max)_ms$")
#: Count limits: threshold key -> (report section, key). Each is a maximum.
_COUNTS = {
    "lost_events": ("integrity", "lost"),
    "duplicated_events": ("integrity", "duplicated"),
    "out_of_order_events": ("integrity", "out_of_order"),
    "truncated_streams": ("integrity", "truncated_streams"),
    "error_rate": ("streams", "error_rate"),
}
_BASELINE_KEYS = {"percentile", "warn_pct", "fail_pct", "min_delta_ms", "metrics"}


@dataclass(frozen=True)
class Thresholds:
    limits: dict[str, float] = field(default_factory=dict)
    min_events: int = 1
    cpu_warning: bool = True
    percentile: str = "p99"
    warn_pct: float = 20.0
    fail_pct: float = 50.0
    min_delta_ms: float = 1.0
    #: Metrics compared with a baseline (``<name>_ms`` entries of ``metrics``).
    baseline_metrics: tuple[str, ...] = ("connect", "ttfe", "gap", "latency", "lateness")
    source: str = "built-in defaults"


def load_thresholds(path: Path) -> Thresholds:
    """Read and check a thresholds file; ``ValueError`` names what is wrong."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ValueError(f"cannot read thresholds {path}: {exc}") from exc
    unknown_tables = set(data) - {"load", "baseline"}
    if unknown_tables:
        raise ValueError(f"{path}: unknown tables {sorted(unknown_tables)}")
    load, baseline = dict(data.get("load", {})), dict(data.get("baseline", {}))
    options: dict[str, Any] = {"source": str(path)}
    for key in ("min_events", "cpu_warning"):
        if key in load:
            options[key] = load.pop(key)
    for key, value in load.items():
        if not (_PERCENTILE.match(key) or key in _COUNTS):
            raise ValueError(f"{path}: unknown threshold {key!r}")
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"{path}: threshold {key} must be a number, got {value!r}")
    unknown = set(baseline) - _BASELINE_KEYS
    if unknown:
        raise ValueError(f"{path}: unknown baseline keys {sorted(unknown)}")
    if "metrics" in baseline:
        options["baseline_metrics"] = tuple(baseline.pop("metrics"))
    return Thresholds(limits={k: float(v) for k, v in load.items()}, **options, **baseline)


@dataclass(frozen=True)
class Finding:
    check: str
    value: float | None
    limit: float | None
    message: str


@dataclass
class Verdict:
    breaches: list[Finding] = field(default_factory=list)
    warnings: list[Finding] = field(default_factory=list)
    #: Every check made, passed or not, for the table.
    checks: list[Finding] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.breaches

    def as_json(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "breaches": [asdict(f) for f in self.breaches],
            "warnings": [asdict(f) for f in self.warnings],
        }


def _limit_value(report: dict[str, Any], key: str) -> float | None:
    match = _PERCENTILE.match(key)
    if match:
        summary = report["metrics"].get(f"{match['metric']}_ms") or {}
        value: float | None = summary.get(match["stat"])
        return value
    section, name = _COUNTS[key]
    counted: float | None = report[section][name]
    return counted


def evaluate(
    report: dict[str, Any], thresholds: Thresholds, baseline: dict[str, Any] | None = None
) -> Verdict:
    """The verdict on a ``load.json`` report: thresholds, then regressions against ``baseline``."""
    verdict = Verdict()

    def check(name: str, value: float | None, limit: float | None, ok: bool, text: str) -> None:
        finding = Finding(name, value, limit, text)
        verdict.checks.append(finding)
        if not ok:
            verdict.breaches.append(finding)

    events = report["integrity"]["events"]
    check(
        "min_events",
        events,
        thresholds.min_events,
        events >= thresholds.min_events,
        f"{events} events measured (at least {thresholds.min_events} required)",
    )
    for key, limit in thresholds.limits.items():
        value = _limit_value(report, key)
        if value is None:
            finding = Finding(key, None, limit, f"{key}: not measured in this run")
            verdict.warnings.append(finding)
            verdict.checks.append(finding)
            continue
        check(key, value, limit, value <= limit, f"{key} = {value} (limit {limit})")
    if thresholds.cpu_warning:
        hot = bool(report.get("cpu_warning"))
        text = (
            "Locust warned of CPU usage over 90%: figures may be the generator's, not the target's"
        )
        check("cpu_warning", float(hot), 0.0, not hot, text if hot else "no CPU-usage warning")
    if baseline is not None:
        _compare(report, baseline, thresholds, verdict)
    return verdict


def _compare(
    report: dict[str, Any], baseline: dict[str, Any], thresholds: Thresholds, verdict: Verdict
) -> None:
    stat = thresholds.percentile
    for metric in thresholds.baseline_metrics:
        now = (report["metrics"].get(f"{metric}_ms") or {}).get(stat)
        before = (baseline["metrics"].get(f"{metric}_ms") or {}).get(stat)
        if now is None or before is None:
            continue
        growth = (now - before) / before * 100 if before > 0 else (0.0 if now <= 0 else 100.0)
        name = f"baseline {metric} {stat}"
        text = f"{name}: {before} -> {now} ms ({growth:+.0f}%)"
        finding = Finding(name, now, before, text)
        verdict.checks.append(finding)
        if now - before < thresholds.min_delta_ms:
            continue
        if growth >= thresholds.fail_pct:
            verdict.breaches.append(finding)
        elif growth >= thresholds.warn_pct:
            verdict.warnings.append(finding)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("report", type=Path, help="a load.json, or the run folder holding one")
    parser.add_argument("--baseline", type=Path, help="an earlier load.json (or its folder)")
    parser.add_argument(
        "--thresholds",
        type=Path,
        default=DEFAULT_THRESHOLDS,
        help="thresholds file (default: %(default)s)",
    )
    parser.add_argument("--json", action="store_true", help="print the verdict as JSON")


def _read_report(path: Path) -> dict[str, Any]:
    if path.is_dir():
        path = path / "load.json"
    try:
        report: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValueError(f"cannot read report {path}: {exc}") from exc
    if not isinstance(report, dict) or "metrics" not in report or "integrity" not in report:
        raise ValueError(f"{path} is not a load.json report")
    return report


def run(args: argparse.Namespace) -> int:
    try:
        report = _read_report(args.report)
        baseline = _read_report(args.baseline) if args.baseline else None
        thresholds = load_thresholds(args.thresholds)
    except ValueError as exc:
        print(f"sse-harness gate: {exc}", file=sys.stderr)
        return EXIT_USAGE
    verdict = evaluate(report, thresholds, baseline)
    if args.json:
        print(json.dumps(verdict.as_json(), indent=2))
    else:
        _print_table(verdict, thresholds)
    return EXIT_PASS if verdict.passed else EXIT_BREACH


def _print_table(verdict: Verdict, thresholds: Thresholds) -> None:
    from rich.console import Console
    from rich.table import Table

    breaches = {id(f) for f in verdict.breaches}
    warnings = {id(f) for f in verdict.warnings}
    table = Table(title=f"load gate ({thresholds.source})")
    for column in ("check", "value", "limit", "verdict"):
        table.add_column(column)
    for finding in verdict.checks:
        mark = (
            "[red]FAIL[/]"
            if id(finding) in breaches
            else "[yellow]WARN[/]"
            if id(finding) in warnings
            else "[green]ok[/]"
        )
        table.add_row(finding.check, str(finding.value), str(finding.limit), mark)
    console = Console()
    console.print(table)
    for finding in verdict.breaches + verdict.warnings:
        console.print(finding.message)
    console.print("[green]PASS[/]" if verdict.passed else "[red]FAIL[/]")
