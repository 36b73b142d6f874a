"""The load gate: a verdict on a ``load.json`` report, against thresholds and a baseline.

The Locust run gives it when it quits, and ``sse-harness gate`` gives the same verdict after
the fact (the same :func:`evaluate`, the same thresholds), optionally with regressions against a
baseline run: a percentile that grew by ``warn_pct`` or more warns, by ``fail_pct`` or more
fails, unless it grew by less than ``min_delta_ms`` (noise on sub-millisecond figures).

Which thresholds (:func:`resolve_thresholds`): the file the user names, else ``sse-harness.toml``
in the working directory, else ``[tool.sse-harness]`` in its ``pyproject.toml``, else the shipped
``harness/load/thresholds.toml``. The source and the values used go into every report's
``gate.thresholds``, so a reader knows what a PASS was measured against. The TOML has a table
``[load]`` (``[tool.sse-harness.load]`` in pyproject.toml):

``<metric>_<p50|p90|p99|max>_ms``  upper bound on a latency figure, e.g. ``ttfe_p99_ms``
    (metrics: connect, ttfe, gap, latency, lateness, calibration, tls; chat: ttft, itl, tpot)
``lost_events``, ``duplicated_events``, ``out_of_order_events``, ``truncated_streams``  maxima
``error_rate``   most failed streams (error or truncated) over streams started, 0..1
``min_events``   fewest events the run must have measured (a run that saw nothing never passes)
``cpu_warning``  true: Locust's CPU-usage warning during the run is a breach

and table ``[baseline]``: ``percentile``, ``warn_pct``, ``fail_pct``, ``min_delta_ms``.
An unknown key is a usage error: a typo must not quietly switch a check off.
"""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import asdict, dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any

from harness.load import chat, metrics

__all__ = [
    "GateCheck",
    "GateVerdict",
    "Thresholds",
    "compare_figures",
    "evaluate",
    "load_thresholds",
    "read_report",
    "resolve_thresholds",
    "shipped_thresholds",
]

#: The user's own thresholds file, looked for in the working directory.
USER_FILE = "sse-harness.toml"

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

    def as_json(self) -> dict[str, Any]:
        """What a report records: where the thresholds came from and every value used."""
        return {
            "source": self.source,
            "load": {**self.limits, "min_events": self.min_events, "cpu_warning": self.cpu_warning},
            "baseline": {
                "percentile": self.percentile,
                "warn_pct": self.warn_pct,
                "fail_pct": self.fail_pct,
                "min_delta_ms": self.min_delta_ms,
                "metrics": list(self.baseline_metrics),
            },
        }


def shipped_thresholds() -> Path:
    """The defaults that ship in the wheel."""
    return Path(str(files("harness.load").joinpath("thresholds.toml")))


def resolve_thresholds(explicit: Path | None = None, cwd: Path | None = None) -> Thresholds:
    """The thresholds a run is gated on (see the module docstring for the order).

    ``ValueError`` names what is wrong with a file that is there but unreadable: a gate that
    cannot be read must not quietly fall back to another.
    """
    if explicit is not None:
        return load_thresholds(explicit)
    here = cwd or Path.cwd()
    if (here / USER_FILE).is_file():
        return load_thresholds(here / USER_FILE)
    pyproject = here / "pyproject.toml"
    if pyproject.is_file():
        try:
            tool = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("tool", {})
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ValueError(f"cannot read {pyproject}: {exc}") from exc
        if "sse-harness" in tool:
            return _thresholds(tool["sse-harness"], f"{pyproject} [tool.sse-harness]")
    shipped = shipped_thresholds()
    return load_thresholds(shipped, source=f"shipped defaults ({shipped})")


def load_thresholds(path: Path, source: str | None = None) -> Thresholds:
    """Read and check a thresholds file; ``ValueError`` names what is wrong."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ValueError(f"cannot read thresholds {path}: {exc}") from exc
    return _thresholds(data, source or str(path))


def _thresholds(data: dict[str, Any], path: str) -> Thresholds:
    unknown_tables = set(data) - {"load", "baseline"}
    if unknown_tables:
        raise ValueError(f"{path}: unknown tables {sorted(unknown_tables)}")
    load, baseline = dict(data.get("load", {})), dict(data.get("baseline", {}))
    options: dict[str, Any] = {"source": path}
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
class GateCheck:
    check: str
    value: float | None
    limit: float | None
    message: str


@dataclass
class GateVerdict:
    breaches: list[GateCheck] = field(default_factory=list)
    warnings: list[GateCheck] = field(default_factory=list)
    #: Every check made, passed or not, for the table.
    checks: list[GateCheck] = field(default_factory=list)
    thresholds: dict[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return not self.breaches

    def as_json(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "breaches": [asdict(f) for f in self.breaches],
            "warnings": [asdict(f) for f in self.warnings],
            "thresholds": self.thresholds,
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
) -> GateVerdict:
    """The verdict on a ``load.json`` report: thresholds, then regressions against ``baseline``."""
    verdict = GateVerdict(thresholds=thresholds.as_json())

    def check(name: str, value: float | None, limit: float | None, ok: bool, text: str) -> None:
        finding = GateCheck(name, value, limit, text)
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
            finding = GateCheck(key, None, limit, f"{key}: not measured in this run")
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
    report: dict[str, Any], baseline: dict[str, Any], thresholds: Thresholds, verdict: GateVerdict
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
        finding = GateCheck(name, now, before, text)
        verdict.checks.append(finding)
        if now - before < thresholds.min_delta_ms:
            continue
        if growth >= thresholds.fail_pct:
            verdict.breaches.append(finding)
        elif growth >= thresholds.warn_pct:
            verdict.warnings.append(finding)


def compare_figures(
    report: dict[str, Any], baseline: dict[str, Any] | None, thresholds: Thresholds
) -> GateVerdict:
    """The verdict on a benchmark record (``benchmarks/record.py``) against a saved one: a figure
    that got worse by ``warn_pct`` warns, by ``fail_pct`` fails (the load gate's rule). A figure
    the baseline lacks is compared with nothing; one the run lost is a breach."""
    verdict = GateVerdict(thresholds=thresholds.as_json())
    before = {f["name"]: f for f in (baseline or {}).get("figures", [])}
    now = {f["name"]: f for f in report["figures"]}
    for name, figure in now.items():
        old = before.get(name)
        if old is None:
            verdict.checks.append(GateCheck(name, figure["value"], None, f"{name}: no baseline"))
            continue
        value, reference = float(figure["value"]), float(old["value"])
        worse = (reference - value) if figure["better"] == "higher" else (value - reference)
        pct = worse / abs(reference) * 100 if reference else 0.0
        text = f"{name}: {reference:g} -> {value:g} {figure['unit']} ({-pct:+.0f}% better)"
        check = GateCheck(name, value, reference, text)
        verdict.checks.append(check)
        if pct >= thresholds.fail_pct:
            verdict.breaches.append(check)
        elif pct >= thresholds.warn_pct:
            verdict.warnings.append(check)
    for name in before.keys() - now.keys():
        check = GateCheck(name, None, before[name]["value"], f"{name}: missing from this run")
        verdict.checks.append(check)
        verdict.breaches.append(check)
    return verdict


def read_report(path: Path) -> dict[str, Any]:
    """A ``load.json`` (or a run folder holding one) or a benchmark record."""
    if path.is_dir():
        path = path / "load.json"
    try:
        report: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValueError(f"cannot read report {path}: {exc}") from exc
    if isinstance(report, dict) and report.get("kind") == "benchmark" and "figures" in report:
        return report
    if not isinstance(report, dict) or "metrics" not in report or "integrity" not in report:
        raise ValueError(f"{path} is neither a load.json report nor a benchmark record")
    return report
