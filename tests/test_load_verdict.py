"""The load verdict in one line (``harness.report.load.load_verdict_line``), from a load.json
alone: PASS or BREACH first, the figures a newcomer acts on, each breach as key, figure and
limit, where the thresholds came from, and never a bare ``None`` for what was not measured."""

from __future__ import annotations

from typing import Any

from harness.report.load import load_verdict_line

SHIPPED = "shipped defaults (/site-packages/harness/load/thresholds.toml)"


def _report(
    *, latency: float | None = 2.04, breaches: list[dict[str, Any]] | None = None, **gate: Any
) -> dict[str, Any]:
    return {
        "integrity": {"events": 400, "lost": 0, "truncated_streams": 4},
        "streams": {"started": 25, "errors": 1},
        "metrics": {
            "ttfe_ms": {"count": 25, "p99": 3.1},
            "latency_ms": {"count": 0 if latency is None else 400, "p99": latency},
        },
        "gate": {
            "passed": not breaches,
            "breaches": breaches or [],
            "warnings": [],
            "thresholds": {"source": gate.get("source", SHIPPED)},
        },
    }


def test_a_pass_says_the_figures_and_the_shipped_gate() -> None:
    assert load_verdict_line(_report()) == (
        "load: PASS: 25 streams, 400 events, 0 lost, 5 failed; TTFE p99 3.1 ms;"
        " latency p99 2 ms (gate: shipped defaults)"
    )


def test_a_breach_names_each_key_figure_and_limit() -> None:
    breaches = [
        {"check": "error_rate", "value": 0.736842, "limit": 0.01, "message": "error_rate: ..."},
        {"check": "latency_p99_ms", "value": 312.5, "limit": 250.0, "message": "latency..."},
        {"check": "cpu_warning", "value": 1.0, "limit": 0.0, "message": "Locust warned of CPU"},
    ]
    line = load_verdict_line(_report(breaches=breaches, source="/work/sse-harness.toml"))
    assert line.startswith("load: BREACH: 25 streams, 400 events, 0 lost, 5 failed; ")
    assert line.endswith(
        "; error_rate 0.737 > 0.01; latency_p99_ms 312.5 > 250; Locust warned of CPU"
        " (gate: /work/sse-harness.toml over the shipped defaults)"
    )


def test_a_figure_not_measured_is_said_so_not_printed_as_none() -> None:
    line = load_verdict_line(_report(latency=None))
    assert "latency not measured (events carry no send stamp)" in line
    assert "None" not in line


def test_an_unreadable_gate_is_the_breach_in_its_own_words() -> None:
    unreadable = {
        "check": "thresholds",
        "value": None,
        "limit": None,
        "message": "x.toml: no such file",
    }
    line = load_verdict_line(_report(breaches=[unreadable]))
    assert line.startswith("load: BREACH: ") and "; x.toml: no such file (gate: " in line
    assert "None" not in line
