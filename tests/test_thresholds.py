"""Thresholds files: merged over the shipped defaults key by key, a check switched off only by
``key = false``, and a file that is wrong refused in one line (exit 2) by every command that
gates, before it runs anything."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from harness.cli import main
from harness.load import gate

SHIPPED = gate.resolve_thresholds(gate.shipped_thresholds())


def _user_file(route: str, directory: Path, load: str, baseline: str = "") -> Path:
    """Write ``[load]`` / ``[baseline]`` lines where ``route`` finds them; the file written."""
    if route == "pyproject":
        path = directory / "pyproject.toml"
        text = f'[project]\nname = "app"\n\n[tool.sse-harness.load]\n{load}\n'
        text += f"[tool.sse-harness.baseline]\n{baseline}\n" if baseline else ""
    else:
        path = directory / ("mine.toml" if route == "explicit" else "sse-harness.toml")
        text = f"[load]\n{load}\n" + (f"[baseline]\n{baseline}\n" if baseline else "")
    path.write_text(text, encoding="utf-8")
    return path


def _resolve(route: str, directory: Path, path: Path) -> gate.Thresholds:
    return gate.resolve_thresholds(path if route == "explicit" else None, cwd=directory)


ROUTES = ("explicit", "sse-harness.toml", "pyproject")


@pytest.mark.parametrize("route", ROUTES)
def test_one_key_changes_that_key_only(tmp_path: Path, route: str) -> None:
    path = _user_file(route, tmp_path, "latency_p99_ms = 300", "fail_pct = 30")
    mine = _resolve(route, tmp_path, path)
    assert mine.limits == {**SHIPPED.limits, "latency_p99_ms": 300.0}
    assert "lost_events" in mine.limits and "error_rate" in mine.limits
    assert (mine.min_events, mine.cpu_warning) == (1, True)
    assert (mine.warn_pct, mine.fail_pct) == (SHIPPED.warn_pct, 30.0)
    assert mine.baseline_metrics == SHIPPED.baseline_metrics
    recorded = mine.as_json()
    assert recorded["source"] == mine.source and str(path) in mine.source
    shipped_json = SHIPPED.as_json()
    assert recorded["load"] == {**shipped_json["load"], "latency_p99_ms": 300.0}
    assert recorded["baseline"] == {**shipped_json["baseline"], "fail_pct": 30}
    sources = recorded["sources"]
    assert set(sources["load"]) == set(recorded["load"])
    assert set(sources["baseline"]) == set(recorded["baseline"])
    mine_set = {(t, k) for t in sources for k, s in sources[t].items() if s == mine.source}
    assert mine_set == {("load", "latency_p99_ms"), ("baseline", "fail_pct")}
    assert all(
        s == gate.SHIPPED for t in sources for k, s in sources[t].items() if (t, k) not in mine_set
    )


def test_the_shipped_file_alone_is_every_value_from_the_shipped_file(tmp_path: Path) -> None:
    shipped = gate.resolve_thresholds(cwd=tmp_path)
    assert shipped.source == f"shipped defaults ({gate.shipped_thresholds()})"
    recorded = shipped.as_json()
    assert {s for table in recorded["sources"].values() for s in table.values()} == {gate.SHIPPED}
    assert recorded["load"] == SHIPPED.as_json()["load"]


@pytest.mark.parametrize("route", ROUTES)
def test_false_switches_a_check_off_and_the_record_says_so(tmp_path: Path, route: str) -> None:
    load = "lost_events = false\nmin_events = false\ncpu_warning = false"
    mine = _resolve(route, tmp_path, _user_file(route, tmp_path, load))
    assert "lost_events" not in mine.limits and "error_rate" in mine.limits
    assert (mine.min_events, mine.cpu_warning) == (None, False)
    recorded = mine.as_json()
    for key in ("lost_events", "min_events", "cpu_warning"):
        assert recorded["load"][key] is False
        assert recorded["sources"]["load"][key] == mine.source


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("[load\n", "not valid TOML (Expected ']'"),
        ("latency_p99_ms = 5\n", "unknown key 'latency_p99_ms'; thresholds go in [load] and"),
        ("[limits]\nx = 1\n", "unknown [limits]; thresholds go in [load] and [baseline]"),
        ("load = 5\n", "[load] must be a table"),
        ("[load]\nlatncy_p99_ms = 5\n", "unknown threshold 'latncy_p99_ms' (did you mean"),
        ("[load]\nlatency_p99_ms = true\n", "latency_p99_ms = true: must be a number >= 0"),
        ("[load]\nlost_events = -1\n", "lost_events = -1: must be a number >= 0"),
        ('[load]\nttfe_p99_ms = "1s"\n', 'ttfe_p99_ms = "1s": must be a number'),
        ("[load]\nerror_rate = 5\n", "error_rate = 5: a rate, between 0 and 1"),
        ("[load]\nmin_events = 1.5\n", "min_events = 1.5: must be a whole number"),
        ("[load]\ncpu_warning = 1\n", "cpu_warning = 1: must be true or false"),
        ('[baseline]\npercentile = "p95"\n', 'percentile = "p95": must be one of p50'),
        ("[baseline]\nwarn_pct = false\n", "warn_pct = false: must be a number >= 0"),
        ('[baseline]\nmetrics = ["latncy"]\n', 'metrics = ["latncy"]: must be a list'),
        ("[baseline]\nfail_percent = 50\n", "unknown baseline key 'fail_percent'"),
    ],
)
def test_a_wrong_file_says_file_and_problem(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "sse-harness.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError) as raised:
        gate.resolve_thresholds(cwd=tmp_path)
    message = str(raised.value)
    assert message.startswith(f"{path}: ") and problem in message
    assert "\n" not in message


def test_a_wrong_pyproject_table_is_named_as_written(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.sse-harness.load]\nlost = 0\n")
    with pytest.raises(ValueError, match=r"pyproject\.toml: \[tool\.sse-harness\.load\] unknown"):
        gate.resolve_thresholds(cwd=tmp_path)


def test_a_named_file_that_is_not_there_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"missing\.toml: no such file$"):
        gate.resolve_thresholds(tmp_path / "missing.toml", cwd=tmp_path)


# -- every command refuses a wrong file before it runs anything ------------------------------


BAD_KEY = "[load]\nlatncy_p99_ms = 5\n"


def _commands(url: str, report: Path) -> dict[str, list[str]]:
    """Each command that gates, with arguments that would run it: against a live server (or,
    for ``load`` with no URL, one it would start itself)."""
    return {
        "check": ["check", url + "/counter?count=3&interval_ms=5"],
        "load": ["load", url + "/counter?count=3&interval_ms=5", "-t", "2s"],
        "load-own-server": ["load", "-t", "2s"],
        "gate": ["gate", str(report)],
    }


@pytest.mark.parametrize("command", ["check", "load", "load-own-server", "gate"])
@pytest.mark.parametrize("route", ROUTES)
def test_every_command_exits_2_before_anything_runs(
    reference_server_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    command: str,
    route: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "app"\n')  # no table: no say
    path = _user_file(route, tmp_path, "latncy_p99_ms = 5")
    report = tmp_path / "load.json"
    report.write_text("{}")
    argv = _commands(reference_server_url, report)[command]
    if route == "explicit":
        argv += ["--thresholds", str(path)]
    before = sorted(tmp_path.iterdir())
    assert main(argv) == 2
    captured = capsys.readouterr()
    table = "[tool.sse-harness.load]" if route == "pyproject" else "[load]"
    assert captured.err == (
        f"sse-harness {argv[0]}: {path}: {table} unknown threshold 'latncy_p99_ms'"
        " (did you mean 'latency_p99_ms'?)\n"
    )
    assert captured.out == ""
    assert sorted(tmp_path.iterdir()) == before  # no reports/ folder, nothing written


def test_the_installed_command_says_it_in_one_line(
    reference_server_url: str, tmp_path: Path
) -> None:
    """The console entry point as a user runs it: one line on stderr, no traceback, exit 2."""
    (tmp_path / "sse-harness.toml").write_text("[load\n")
    done = subprocess.run(
        [sys.executable, "-m", "harness", "check", reference_server_url + "/counter?count=3"],
        cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith(f"sse-harness check: {tmp_path / 'sse-harness.toml'}: not valid")
    assert len(done.stderr.splitlines()) == 1 and "Traceback" not in done.stderr
    assert not (tmp_path / "reports").exists()


def test_a_load_run_records_which_file_set_each_value(
    reference_server_url: str, tmp_path: Path
) -> None:
    """Through Locust: the run's own gate merges the user's file over the shipped one, and
    load.json shows each value with its source."""
    mine = tmp_path / "mine.toml"
    mine.write_text("[load]\nlatency_p99_ms = 300.0\ncalibration_p99_ms = false\n")
    reports = tmp_path / "run"
    code = main([
        "load", reference_server_url + "/counter?count=5&interval_ms=5", "-u", "2", "-r", "2",
        "-t", "2s", "--report-dir", str(reports), "--thresholds", str(mine),
    ])  # fmt: skip
    recorded = json.loads((reports / "load.json").read_text(encoding="utf-8"))["gate"]
    assert code == (0 if recorded["passed"] else 1), recorded["breaches"]
    thresholds = recorded["thresholds"]
    assert thresholds["source"] == str(mine)
    expected = {**SHIPPED.as_json()["load"], "latency_p99_ms": 300.0, "calibration_p99_ms": False}
    assert thresholds["load"] == expected
    assert thresholds["sources"]["load"] == {
        key: str(mine) if key in ("latency_p99_ms", "calibration_p99_ms") else gate.SHIPPED
        for key in expected
    }
    checked = {b["check"] for b in recorded["breaches"] + recorded["warnings"]}
    assert "calibration_p99_ms" not in checked
