"""The load gate: a verdict on a ``load.json`` report, against thresholds and a baseline.

The Locust run gives it when it quits, and ``sse-harness gate`` gives the same verdict after
the fact (the same :func:`evaluate`, the same thresholds), optionally with regressions against a
baseline run: a percentile that grew by ``warn_pct`` or more warns, by ``fail_pct`` or more
fails, unless it grew by less than ``min_delta_ms`` (noise on sub-millisecond figures).

Which thresholds (:func:`resolve_thresholds`): the shipped ``harness/load/thresholds.toml``,
with the user's file merged over it key by key. The user's file is the one named
(``--thresholds FILE``), else ``sse-harness.toml`` in the working directory, else
``[tool.sse-harness]`` in its ``pyproject.toml``. A user file that sets one key changes that key
only: every other shipped check still holds, so tuning a latency never stops ``lost_events``
from being gated. To switch a shipped check off, say so: ``lost_events = false`` (any ``[load]``
key takes ``false``; ``min_events = false`` and ``cpu_warning = false`` too). Every report's
``gate.thresholds`` records the user's file (``source``), every value used (``load``,
``baseline``; a switched-off check shows ``false``) and which file set each one (``sources``),
so a reader knows what a PASS was measured against.

The TOML has a table ``[load]`` (``[tool.sse-harness.load]`` in pyproject.toml):

``<metric>_<p50|p90|p99|max>_ms``  upper bound on a latency figure, e.g. ``ttfe_p99_ms``
    (metrics: connect, ttfe, gap, latency, lateness, calibration, tls, gc_pause;
    chat: ttft, itl, tpot)
``lost_events``, ``duplicated_events``, ``out_of_order_events``, ``truncated_streams``  maxima
``error_rate``   most failed streams (error or truncated) over streams started, 0..1
``min_events``   fewest events the run must have measured (a run that saw nothing never passes)
``cpu_warning``  true: Locust's CPU-usage warning during the run is a breach
``mcp_*``        the mcp profile's figures (``harness.load.mcp_figures``): the percentiles of
    ``mcp_priming``, ``mcp_result``, ``mcp_resume_wait`` and ``mcp_replay`` as above, maxima
    ``mcp_lost_per_1000_drops``, ``mcp_duplicated_per_1000_drops``, ``mcp_session_errors`` and
    ``mcp_call_error_rate``, minima ``mcp_min_calls``, ``mcp_min_drops`` and
    ``mcp_min_peak_sessions``; checked only in a report that has an ``mcp`` section, so the
    shipped ones cost the other profiles nothing
``soak_*``       a soak run's verdicts (``harness.load.soak``), maxima: ``soak_streams_left`` and
    ``soak_tasks_left`` (still live on the target after the clients left),
    ``soak_target_growth_mib_per_h``, ``soak_target_kib_per_stream`` (the target's memory over
    the steady part, per hour and per finished stream), ``soak_harness_growth_mib_per_h`` and
    ``soak_harness_kib_per_stream`` (the same of each load process); checked only in a soak's
    report

and table ``[baseline]``: ``percentile`` (p50, p90, p99 or max), ``warn_pct``, ``fail_pct``,
``min_delta_ms`` and ``metrics`` (the metrics compared; ``[]`` compares none).
An unknown key or a value of the wrong kind is a usage error (``ValueError`` naming the file,
the key and what it takes): a typo must not quietly switch a check off.
"""

from __future__ import annotations

import difflib
import json
import re
import tomllib
from dataclasses import asdict, dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any

from harness.load import chat, mcp_figures, metrics, soak

__all__ = [
    "GateCheck",
    "GateVerdict",
    "Thresholds",
    "compare_figures",
    "evaluate",
    "format_figure",
    "load_thresholds",
    "read_report",
    "resolve_thresholds",
    "shipped_thresholds",
]

#: The user's own thresholds file, looked for in the working directory.
USER_FILE = "sse-harness.toml"
#: What ``gate.thresholds.sources`` says of a value the user's file left as shipped.
SHIPPED = "shipped defaults"

_METRIC_NAMES = (*metrics.HISTOGRAMS, *chat.HISTOGRAMS, *mcp_figures.HISTOGRAMS)
_STATS = ("p50", "p90", "p99", "max")
_PERCENTILE = re.compile(
    rf"^(?P<metric>{'|'.join(_METRIC_NAMES)})_(?P<stat>{'|'.join(_STATS)})_ms$"
)
#: Count limits: threshold key -> (report section, key). Each is a maximum.
_COUNTS = {
    "lost_events": ("integrity", "lost"),
    "duplicated_events": ("integrity", "duplicated"),
    "out_of_order_events": ("integrity", "out_of_order"),
    "truncated_streams": ("integrity", "truncated_streams"),
    "error_rate": ("streams", "error_rate"),
    **{key: ("mcp", name) for key, name in mcp_figures.LIMITS.items()},
    **{f"soak_{name}": ("soak", name) for name in soak.LIMITS},
}
#: Count minima: threshold key -> (report section, key). Each is a least value.
_MINIMA = {key: ("mcp", name) for key, name in mcp_figures.MINIMA.items()}
#: The prefix of the keys that only a report with that section is checked against.
_SECTION_PREFIXES = {"mcp_": "mcp", "soak_": "soak"}
#: ``[load]`` keys that are not upper limits.
_LOAD_SWITCHES = ("min_events", "cpu_warning")
_LOAD_KEYS = (
    *(f"{m}_{s}_ms" for m in _METRIC_NAMES for s in _STATS),
    *_COUNTS,
    *_MINIMA,
    *_LOAD_SWITCHES,
)
_BASELINE_NUMBERS = ("warn_pct", "fail_pct", "min_delta_ms")
#: What a duplicated-events breach may mean besides events delivered twice: the id model cannot
#: tell a repeated id from a re-delivery (harness.load.integrity), and some streams reuse ids on
#: purpose (two merged sequences; ids on only some events), which check grades NON-STRICT.
_REPEATED_IDS = (
    " (ids seen twice: events delivered twice, or a stream whose ids are not one sequence;"
    " for the latter, run with --sse-ids none)"
)
_BASELINE_KEYS = ("percentile", *_BASELINE_NUMBERS, "metrics")
#: A file's tables after checking: ``{"load": {...}, "baseline": {...}}``.
Tables = dict[str, dict[str, Any]]


@dataclass(frozen=True)
class Thresholds:
    #: Upper limits in force (switched-off ones are in ``switched_off``, not here).
    limits: dict[str, float] = field(default_factory=dict)
    #: None: switched off (``min_events = false``).
    min_events: int | None = 1
    cpu_warning: bool = True
    percentile: str = "p99"
    warn_pct: float = 20.0
    fail_pct: float = 50.0
    min_delta_ms: float = 1.0
    #: Metrics compared with a baseline (``<name>_ms`` entries of ``metrics``).
    baseline_metrics: tuple[str, ...] = ("connect", "ttfe", "gap", "latency", "lateness")
    #: The user's file, or the shipped one when the user has none.
    source: str = "built-in defaults"
    #: ``[load]`` keys a file set to ``false``.
    switched_off: tuple[str, ...] = ()
    #: Which file set each value: table ("load", "baseline") -> key -> source.
    origins: dict[str, dict[str, str]] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        """What a report records: where the thresholds came from, every value used and which
        file set it (``false``: a check switched off on purpose)."""
        load: dict[str, Any] = {
            **self.limits,
            "min_events": False if self.min_events is None else self.min_events,
            "cpu_warning": self.cpu_warning,
            **dict.fromkeys(self.switched_off, False),
        }
        baseline = {
            "percentile": self.percentile,
            "warn_pct": self.warn_pct,
            "fail_pct": self.fail_pct,
            "min_delta_ms": self.min_delta_ms,
            "metrics": list(self.baseline_metrics),
        }
        tables = {"load": load, "baseline": baseline}
        sources = {
            table: {key: self.origins.get(table, {}).get(key, "built-in default") for key in values}
            for table, values in tables.items()
        }
        return {"source": self.source, **tables, "sources": sources}


def shipped_thresholds() -> Path:
    """The defaults that ship in the wheel."""
    return Path(str(files("harness.load").joinpath("thresholds.toml")))


def resolve_thresholds(explicit: Path | None = None, cwd: Path | None = None) -> Thresholds:
    """The thresholds a run is gated on: the user's file (see the module docstring for where it
    is looked for) merged over the shipped defaults.

    ``ValueError`` says ``<file>: <problem>`` for a file that is there but unreadable or wrong
    (a named file that is not there is one too): a gate that cannot be read must not quietly
    fall back to another.
    """
    if explicit is not None:
        return load_thresholds(explicit)
    here = cwd or Path.cwd()
    if (here / USER_FILE).is_file():
        return load_thresholds(here / USER_FILE)
    pyproject = here / "pyproject.toml"
    if pyproject.is_file():
        tool = _read_toml(pyproject).get("tool", {})
        if "sse-harness" in tool:
            tables = _check_tables(tool["sse-harness"], str(pyproject), "tool.sse-harness.")
            return _merged(tables, f"{pyproject} [tool.sse-harness]")
    shipped = shipped_thresholds()
    return _merged({"load": {}, "baseline": {}}, f"{SHIPPED} ({shipped})")


def load_thresholds(path: Path, source: str | None = None) -> Thresholds:
    """A thresholds file merged over the shipped defaults; ``ValueError`` names what is wrong."""
    return _merged(_check_tables(_read_toml(path), str(path)), source or str(path))


def _read_toml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ValueError(f"{path}: {'not a file' if path.exists() else 'no such file'}")
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValueError(f"{path}: cannot read it ({exc.strerror or exc})") from exc
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ValueError(f"{path}: not valid TOML ({exc})") from exc


def _merged(user: Tables, source: str) -> Thresholds:
    """The shipped tables with ``user``'s keys over them, one key at a time."""
    shipped = shipped_thresholds()
    values = _check_tables(_read_toml(shipped), str(shipped))
    origins = {table: dict.fromkeys(keys, SHIPPED) for table, keys in values.items()}
    for table, keys in user.items():
        values[table].update(keys)
        origins[table].update(dict.fromkeys(keys, source))
    load, baseline = values["load"], values["baseline"]
    options: dict[str, Any] = {k: baseline[k] for k in _BASELINE_KEYS if k in baseline}
    if "metrics" in options:
        options["baseline_metrics"] = tuple(options.pop("metrics"))
    if "min_events" in load:
        options["min_events"] = None if load["min_events"] is False else load["min_events"]
    if "cpu_warning" in load:
        options["cpu_warning"] = load["cpu_warning"]
    return Thresholds(
        limits={k: float(v) for k, v in load.items() if k not in _LOAD_SWITCHES and v is not False},
        switched_off=tuple(k for k, v in load.items() if v is False),
        source=source,
        origins=origins,
        **options,
    )


def _check_tables(data: Any, path: str, prefix: str = "") -> Tables:
    """``[load]`` and ``[baseline]`` of one file, every key and value checked."""
    if not isinstance(data, dict):
        raise ValueError(f"{path}: [{prefix.rstrip('.')}] must be a table")
    for name, table in data.items():
        if name not in ("load", "baseline"):
            where = f"[{prefix}{name}]" if isinstance(table, dict) else f"key {name!r}"
            raise ValueError(
                f"{path}: unknown {where}; thresholds go in [{prefix}load] and [{prefix}baseline]"
            )
        if not isinstance(table, dict):
            raise ValueError(f"{path}: [{prefix}{name}] must be a table")
        check = _load_problem if name == "load" else _baseline_problem
        for key, value in table.items():
            problem = check(key, value)
            if problem is not None:
                raise ValueError(f"{path}: [{prefix}{name}] {problem}")
    return {"load": dict(data.get("load", {})), "baseline": dict(data.get("baseline", {}))}


def _load_problem(key: str, value: Any) -> str | None:
    """What is wrong with ``key = value`` in ``[load]``, if anything."""
    if key not in _LOAD_KEYS:
        return _unknown("threshold", key, _LOAD_KEYS)
    said = f"{key} = {json.dumps(value)}"
    if key == "cpu_warning":
        return None if isinstance(value, bool) else f"{said}: must be true or false"
    if value is False:
        return None  # the check switched off, on purpose
    if key == "min_events":
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            return None
        return f"{said}: must be a whole number >= 0 (or false to switch the check off)"
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        return f"{said}: must be a number >= 0 (or false to switch the check off)"
    if key in ("error_rate", "mcp_call_error_rate") and value > 1:
        return f"{said}: a rate, between 0 and 1 (0.01 is 1% of streams)"
    return None


def _baseline_problem(key: str, value: Any) -> str | None:
    """What is wrong with ``key = value`` in ``[baseline]``, if anything."""
    said = f"{key} = {json.dumps(value)}"
    if key == "percentile":
        return None if value in _STATS else f"{said}: must be one of {', '.join(_STATS)}"
    if key in _BASELINE_NUMBERS:
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            return f"{said}: must be a number >= 0"
        return None
    if key == "metrics":
        if isinstance(value, list) and all(m in _METRIC_NAMES for m in value):
            return None
        return f"{said}: must be a list of metric names ({', '.join(_METRIC_NAMES)})"
    return _unknown("baseline key", key, _BASELINE_KEYS)


def _unknown(what: str, key: str, known: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(key, known, n=1)
    return f"unknown {what} {key!r}" + (f" (did you mean {close[0]!r}?)" if close else "")


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

    def headline(self) -> str:
        """The verdict in one line, first thing a reader sees: ``gate: PASS ...`` or
        ``gate: BREACH <checks> ...``, with the checks switched off and the thresholds' source."""
        source = self.thresholds.get("source", "no thresholds")
        off = [key for key, value in self.thresholds.get("load", {}).items() if value is False]
        switched_off = f"; switched off: {', '.join(off)}" if off else ""
        if self.passed:
            warned = f", {_count(len(self.warnings), 'warning')}" if self.warnings else ""
            checked = f"{_count(len(self.checks), 'check')}{warned}"
            return f"gate: PASS ({checked}{switched_off}; thresholds: {source})"
        names = ", ".join(f.check for f in self.breaches)
        of = f"{len(self.breaches)} of {_count(len(self.checks), 'check')}"
        return f"gate: BREACH {names} ({of}{switched_off}; thresholds: {source})"

    def as_json(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "breaches": [asdict(f) for f in self.breaches],
            "warnings": [asdict(f) for f in self.warnings],
            "thresholds": self.thresholds,
        }


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def format_figure(value: float | None, unit: str = "") -> str:
    """A figure as a message shows it: ``400 ms``, ``0.8``, ``-`` for one not measured."""
    if value is None:
        return "-"
    shown = str(int(value)) if float(value).is_integer() else f"{value:.6g}"
    return f"{shown} {unit}" if unit else shown


def _unit(key: str) -> str:
    return "ms" if key.endswith("_ms") else ""


def _limit_value(report: dict[str, Any], key: str) -> float | None:
    match = _PERCENTILE.match(key)
    if match:
        summary = report["metrics"].get(f"{match['metric']}_ms") or {}
        value: float | None = summary.get(match["stat"])
        return value
    section, name = _COUNTS.get(key) or _MINIMA[key]
    counted: float | None = report[section][name]
    return counted


def evaluate(
    report: dict[str, Any], thresholds: Thresholds, baseline: dict[str, Any] | None = None
) -> GateVerdict:
    """The verdict on a ``load.json`` report: thresholds, then regressions against ``baseline``.

    Every message names the threshold key, the measured figure and the limit, as the file
    says them, so a breach reads without the source code."""
    verdict = GateVerdict(thresholds=thresholds.as_json())

    def check(name: str, value: float | None, limit: float | None, ok: bool, text: str) -> None:
        finding = GateCheck(name, value, limit, text)
        verdict.checks.append(finding)
        if not ok:
            verdict.breaches.append(finding)

    if thresholds.min_events is not None:
        events, least = report["integrity"]["events"], thresholds.min_events
        text = f"min_events: {format_figure(events)} events measured, at least {least} required"
        check("min_events", events, least, events >= least, text)
    for key, limit in thresholds.limits.items():
        if any(key.startswith(p) and s not in report for p, s in _SECTION_PREFIXES.items()):
            continue  # not an MCP run, not a soak: nothing of theirs to gate
        value, unit = _limit_value(report, key), _unit(key)
        if value is None:
            text = f"{key}: not measured in this run (limit {format_figure(limit, unit)})"
            finding = GateCheck(key, None, limit, text)
            verdict.warnings.append(finding)
            verdict.checks.append(finding)
            continue
        if key in _MINIMA:
            text = (
                f"{key}: {format_figure(value)} measured, at least {format_figure(limit)} required"
            )
            check(key, value, limit, value >= limit, text)
            continue
        text = f"{key}: {format_figure(value, unit)} measured, limit {format_figure(limit, unit)}"
        if key == "duplicated_events" and value > limit:
            text += _REPEATED_IDS
        check(key, value, limit, value <= limit, text)
    if thresholds.cpu_warning:
        hot = bool(report.get("cpu_warning"))
        text = (
            "cpu_warning: Locust warned of CPU usage over 90% (cpu_warning = true allows none):"
            " figures may be the generator's, not the target's"
            if hot
            else "cpu_warning: no CPU-usage warning"
        )
        check("cpu_warning", float(hot), 0.0, not hot, text)
    if baseline is not None:
        _compare(report, baseline, thresholds, verdict)
    return verdict


def _growth_rule(thresholds: Thresholds) -> str:
    warn, fail = format_figure(thresholds.warn_pct), format_figure(thresholds.fail_pct)
    return f"warn_pct {warn}%, fail_pct {fail}%"


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
        text = (
            f"{name}: {format_figure(before, 'ms')} -> {format_figure(now, 'ms')}"
            f" ({growth:+.0f}%; {_growth_rule(thresholds)})"
        )
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
        unit = figure["unit"]
        if old is None:
            text = f"{name}: {format_figure(figure['value'], unit)}, no baseline to compare with"
            verdict.checks.append(GateCheck(name, figure["value"], None, text))
            continue
        value, reference = float(figure["value"]), float(old["value"])
        worse = (reference - value) if figure["better"] == "higher" else (value - reference)
        pct = worse / abs(reference) * 100 if reference else 0.0
        change = f"{abs(pct):.0f}% {'worse' if pct > 0 else 'better'}" if round(pct) else "same"
        text = (
            f"{name}: {format_figure(reference, unit)} -> {format_figure(value, unit)}"
            f" ({change}; {_growth_rule(thresholds)})"
        )
        check = GateCheck(name, value, reference, text)
        verdict.checks.append(check)
        if pct >= thresholds.fail_pct:
            verdict.breaches.append(check)
        elif pct >= thresholds.warn_pct:
            verdict.warnings.append(check)
    for name in before.keys() - now.keys():
        old = before[name]
        was = format_figure(old["value"], old["unit"])
        text = f"{name}: {was} in the baseline, missing from this run"
        check = GateCheck(name, None, old["value"], text)
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
