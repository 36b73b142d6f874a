"""``sse-harness gate``: thresholds and baseline regressions over load.json reports built by the
real report writer, with the exit codes CI relies on (0 pass, 1 breach, 2 usage)."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import pytest

from harness import gate
from harness.load.metrics import Metrics
from harness.report.load import load_report

ROOT = Path(__file__).resolve().parent.parent
THRESHOLDS = ROOT / "reports" / "thresholds.toml"


def _report(
    latency_ms: float = 5.0, lost: int = 0, events: int = 100, **extra: Any
) -> dict[str, Any]:
    metrics = Metrics()
    for _ in range(4):
        metrics.stream_opened()
        metrics.histograms["connect"].record(0.002)
        metrics.histograms["ttfe"].record(0.003)
    for _ in range(events):
        metrics.histograms["gap"].record(1.0)
        metrics.histograms["latency"].record(latency_ms / 1000)
        metrics.histograms["lateness"].record(latency_ms / 1000)
        metrics.histograms["calibration"].record(0.0002)
    metrics.counters.update(events=events, lost=lost, ended_bound=4)
    report = load_report(
        metrics,
        target={"url": "http://127.0.0.1:1/counter", "method": "GET", "profile": "stream"},
        users=4,
        workers=1,
        started=time.time() - 10,
        duration_s=10.0,
        cpu_warning=False,
    )
    report.update(extra)
    return report


def _write(report: dict[str, Any], directory: Path) -> None:
    directory.mkdir()
    (directory / "load.json").write_text(json.dumps(report))


def _gate(
    tmp_path: Path, report: dict[str, Any], *options: str, baseline: dict[str, Any] | None = None
) -> int:
    path = tmp_path / "run"
    _write(report, path)
    argv = [str(path), "--thresholds", str(THRESHOLDS), *options]
    if baseline is not None:
        _write(baseline, tmp_path / "base")
        argv += ["--baseline", str(tmp_path / "base" / "load.json")]
    parser = argparse.ArgumentParser()
    gate.add_arguments(parser)
    return gate.run(parser.parse_args(argv))


def test_report_has_the_contract_keys() -> None:
    report = _report()
    for key in ("schema_version", "target", "duration_s", "users", "workers", "metrics",
                "integrity", "throughput", "calibration", "gate"):  # fmt: skip
        assert key in report
    for name in ("connect_ms", "ttfe_ms", "gap_ms", "latency_ms", "lateness_ms"):
        assert set(report["metrics"][name]) == {"count", "p50", "p90", "p99", "max"}
    assert {"events", "lost", "duplicated", "out_of_order", "truncated_streams", "reconnects",
            "resume_exact"} <= set(report["integrity"])  # fmt: skip
    assert set(report["throughput"]) == {"events_per_s", "bytes_per_s", "peak_streams"}
    assert {"p50_ms", "p99_ms"} <= set(report["calibration"])
    assert set(report["gate"]) >= {"passed", "breaches"}


def test_a_clean_run_passes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _gate(tmp_path, _report()) == 0
    assert "PASS" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("report", "check"),
    [
        (_report(lost=1), "lost_events"),
        (_report(latency_ms=400), "latency_p99_ms lateness_p99_ms"),
        (_report(events=0), "min_events"),
        (_report(cpu_warning=True), "cpu_warning"),
    ],
)
def test_a_breach_exits_1_and_names_it(tmp_path: Path, report: dict[str, Any], check: str) -> None:
    assert _gate(tmp_path, report, "--json") == 1
    written = json.loads((tmp_path / "run" / "load.json").read_text())
    verdict = gate.evaluate(written, gate.load_thresholds(THRESHOLDS))
    assert [b.check for b in verdict.breaches] == check.split()


@pytest.mark.parametrize(("before", "now", "code", "warned"), [
    (10.0, 16.0, 1, False),  # +60%: fail
    (10.0, 13.0, 0, True),   # +30%: warn
    (10.0, 11.5, 0, False),  # +15%: fine
    (0.2, 0.5, 0, False),    # +150% but 0.3 ms: noise
])  # fmt: skip
def test_baseline_regressions(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    before: float,
    now: float,
    code: int,
    warned: bool,
) -> None:
    assert (
        _gate(tmp_path, _report(latency_ms=now), "--json", baseline=_report(latency_ms=before))
        == code
    )
    verdict = json.loads(capsys.readouterr().out)
    assert bool(verdict["warnings"]) == warned
    assert verdict["passed"] == (code == 0)


def test_usage_errors_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser()
    gate.add_arguments(parser)
    assert gate.run(parser.parse_args([str(tmp_path / "missing.json")])) == 2
    typo = tmp_path / "typo.toml"
    typo.write_text("[load]\nlatncy_p99_ms = 5\n")
    _write(_report(), tmp_path / "run")
    assert gate.run(parser.parse_args([str(tmp_path / "run"), "--thresholds", str(typo)])) == 2
    assert "unknown threshold 'latncy_p99_ms'" in capsys.readouterr().err


def test_the_checked_in_thresholds_cover_the_issue_list() -> None:
    thresholds = gate.load_thresholds(THRESHOLDS)
    for key in ("ttfe_p99_ms", "gap_p99_ms", "lateness_p99_ms", "lost_events", "error_rate",
                "calibration_p99_ms"):  # fmt: skip
        assert key in thresholds.limits
    assert thresholds.cpu_warning and (thresholds.warn_pct, thresholds.fail_pct) == (20, 50)
