"""``sse-harness gate``: thresholds and baseline regressions over load.json reports built by the
real report writer, with the exit codes CI relies on (0 pass, 1 breach, 2 usage)."""

from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from harness.cli import main
from harness.load import gate
from harness.load.metrics import Metrics
from harness.load.report import load_report

THRESHOLDS = gate.shipped_thresholds()


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
    argv = ["gate", str(path), "--thresholds", str(THRESHOLDS), *options]
    if baseline is not None:
        _write(baseline, tmp_path / "base")
        argv += ["--baseline", str(tmp_path / "base" / "load.json")]
    return main(argv)


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


def test_a_clean_run_passes_and_says_so_first(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _gate(tmp_path, _report()) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith("gate: PASS (10 checks; thresholds: ") and str(THRESHOLDS) in first


def test_a_breach_is_the_first_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _gate(tmp_path, _report(lost=3)) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("gate: BREACH lost_events (1 of 10 checks; thresholds: ")
    assert "lost_events: 3 measured, limit 0" in out  # the message, under the table


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
    assert main(["gate", str(tmp_path / "missing.json")]) == 2
    assert capsys.readouterr().err.startswith("sse-harness gate: cannot read report ")
    typo = tmp_path / "typo.toml"
    typo.write_text("[load]\nlatncy_p99_ms = 5\n")
    _write(_report(), tmp_path / "run")
    assert main(["gate", str(tmp_path / "run"), "--thresholds", str(typo)]) == 2
    assert capsys.readouterr().err == (
        f"sse-harness gate: {typo}: [load] unknown threshold 'latncy_p99_ms'"
        " (did you mean 'latency_p99_ms'?)\n"
    )


def test_the_shipped_thresholds_cover_the_issue_list() -> None:
    thresholds = gate.load_thresholds(THRESHOLDS)
    for key in ("ttfe_p99_ms", "gap_p99_ms", "lateness_p99_ms", "lost_events", "error_rate",
                "calibration_p99_ms"):  # fmt: skip
        assert key in thresholds.limits
    assert thresholds.cpu_warning and (thresholds.warn_pct, thresholds.fail_pct) == (20, 50)


def test_thresholds_are_found_in_order_and_recorded(tmp_path: Path) -> None:
    """--thresholds FILE, else ./sse-harness.toml, else [tool.sse-harness] in ./pyproject.toml,
    each merged over the shipped file; the verdict records the source and every value it used."""
    shipped = gate.resolve_thresholds(cwd=tmp_path)
    assert shipped.source.startswith("shipped defaults") and "latency_p99_ms" in shipped.limits
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\n\n[tool.sse-harness.load]\nlatency_p99_ms = 7.0\n'
    )
    from_pyproject = gate.resolve_thresholds(cwd=tmp_path)
    assert from_pyproject.limits == {**shipped.limits, "latency_p99_ms": 7.0}
    assert "[tool.sse-harness]" in from_pyproject.source
    (tmp_path / "sse-harness.toml").write_text("[load]\nlatency_p99_ms = 3.0\n")
    own = gate.resolve_thresholds(cwd=tmp_path)
    assert own.limits == {**shipped.limits, "latency_p99_ms": 3.0}
    assert own.source.endswith("sse-harness.toml")
    explicit = gate.resolve_thresholds(THRESHOLDS, cwd=tmp_path)
    assert explicit.limits == shipped.limits
    verdict = gate.evaluate(_report(latency_ms=5.0), own)
    assert [b.check for b in verdict.breaches] == ["latency_p99_ms"]
    recorded = verdict.as_json()["thresholds"]
    assert recorded["source"] == own.source
    assert recorded["load"]["latency_p99_ms"] == 3.0 and recorded["load"]["min_events"] == 1


def test_a_broken_user_file_is_an_error_not_a_fallback(tmp_path: Path) -> None:
    (tmp_path / "sse-harness.toml").write_text("[load\n")
    with pytest.raises(ValueError, match=r"sse-harness\.toml"):
        gate.resolve_thresholds(cwd=tmp_path)


def _assert_plain(finding: gate.GateCheck, key: str, unit: str = "") -> None:
    """A message a newcomer can act on: one line naming the threshold key, the figure measured
    and the limit, with no internal placeholder (None, a 10**18-sized sentinel) in it."""
    message = finding.message
    assert "\n" not in message and "None" not in message, message
    assert not re.search(r"\d{10,}|e\+\d", message), message
    assert key in message, message
    if finding.value is not None:
        assert gate.format_figure(finding.value, unit) in message, message
    assert finding.limit is not None and gate.format_figure(finding.limit, unit) in message


def test_every_breach_says_key_figure_and_limit(tmp_path: Path) -> None:
    """Every kind of limit breached at once, plus a regression and a figure not measured."""
    strict = tmp_path / "strict.toml"
    strict.write_text("[load]\nmin_events = 1000\nerror_rate = 0.01\ntls_p99_ms = 100\n")
    report = _report(latency_ms=400, lost=2, events=100, cpu_warning=True)
    report["streams"]["error_rate"] = 0.5
    verdict = gate.evaluate(report, gate.load_thresholds(strict), baseline=_report(latency_ms=10))
    found = {f.check: f for f in verdict.breaches + verdict.warnings}
    assert set(found) == {
        "min_events", "latency_p99_ms", "lateness_p99_ms", "lost_events", "error_rate",
        "cpu_warning", "tls_p99_ms", "baseline latency p99", "baseline lateness p99",
    }  # fmt: skip
    assert found["min_events"].message == "min_events: 100 events measured, at least 1000 required"
    assert found["lost_events"].message == "lost_events: 2 measured, limit 0"
    assert found["error_rate"].message == "error_rate: 0.5 measured, limit 0.01"
    assert found["tls_p99_ms"].message == "tls_p99_ms: not measured in this run (limit 100 ms)"
    assert "cpu_warning = true" in found.pop("cpu_warning").message
    for name, finding in found.items():
        if name.startswith("baseline"):
            _assert_plain(finding, "fail_pct 50%", "ms")
            assert finding.message.startswith(f"{name}: ")
        else:
            _assert_plain(finding, name, "ms" if name.endswith("_ms") else "")


def test_every_benchmark_breach_is_plain(tmp_path: Path) -> None:
    old = _bench(tmp_path, "old", vs_peer=2.0, p99_ms=10.0, gone_ms=3.0)
    new = _bench(tmp_path, "new", vs_peer=0.9, p99_ms=10.0)
    verdict = gate.compare_figures(
        gate.read_report(new), gate.read_report(old), gate.load_thresholds(THRESHOLDS)
    )
    found = {f.check: f for f in verdict.breaches}
    assert (
        found["vs_peer"].message == "vs_peer: 2 x -> 0.9 x (55% worse; warn_pct 20%, fail_pct 50%)"
    )
    assert found["gone_ms"].message == "gone_ms: 3 ms in the baseline, missing from this run"
    assert set(found) == {"vs_peer", "gone_ms"}


def _bench(tmp_path: Path, name: str, **figures: float) -> Path:
    """A benchmark record written by the benchmarks' own recorder."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    try:
        from record import Figure, record
    finally:
        sys.path.pop(0)
    rows = [
        Figure(key, value, "ms" if key.endswith("_ms") else "x",
               "lower" if key.endswith("_ms") else "higher")
        for key, value in figures.items()
    ]  # fmt: skip
    return record("demo", rows, title="demo", directory=tmp_path / name)


@pytest.mark.parametrize(("ratio", "p99_ms", "code", "warned"), [
    (2.0, 10.0, 0, False),  # unchanged
    (1.5, 10.0, 0, True),   # ratio 25% worse: warn
    (0.9, 10.0, 1, False),  # ratio 55% worse: fail
    (2.0, 16.0, 1, False),  # latency 60% worse: fail
    (3.0, 5.0, 0, False),   # better on both
])  # fmt: skip
def test_benchmarks_are_gated_against_a_saved_run(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    ratio: float,
    p99_ms: float,
    code: int,
    warned: bool,
) -> None:
    old = _bench(tmp_path, "old", vs_peer=2.0, p99_ms=10.0)
    new = _bench(tmp_path, "new", vs_peer=ratio, p99_ms=p99_ms)
    capsys.readouterr()
    args = ["gate", str(new), "--baseline", str(old), "--thresholds", str(THRESHOLDS), "--json"]
    assert main(args) == code
    verdict = json.loads(capsys.readouterr().out)
    assert bool(verdict["warnings"]) == warned


def test_a_benchmark_is_not_compared_with_a_load_report(tmp_path: Path) -> None:
    bench = _bench(tmp_path, "b", vs_peer=2.0)
    _write(_report(), tmp_path / "run")
    assert main(["gate", str(bench), "--baseline", str(tmp_path / "run")]) == 2


def test_a_duplicated_events_breach_says_what_else_repeated_ids_can_mean(tmp_path: Path) -> None:
    report = _report()
    report["integrity"]["duplicated"] = 3
    shipped = gate.load_thresholds(gate.shipped_thresholds())
    (breach,) = [
        b for b in gate.evaluate(report, shipped).breaches if b.check == "duplicated_events"
    ]
    assert breach.message.startswith("duplicated_events: 3 measured, limit 0 (ids seen twice")
    assert "--sse-ids none" in breach.message
