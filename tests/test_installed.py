"""The installed tool, not the checkout: the wheel in a fresh virtualenv (``installed`` in
tests/conftest.py) runs every command from an unrelated folder against a served reference server.
The project comes from the wheel alone, which the second test proves; each command must produce
its report.
"""

from __future__ import annotations

import json
import subprocess
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from reference_server.launch import serve_subprocess

pytestmark = pytest.mark.timeout(300)

#: ``run_installed`` of tests/conftest.py.
RunInstalled = Callable[..., "subprocess.CompletedProcess[str]"]


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with serve_subprocess(["--no-access-log", "--log-level", "warning"]) as process:
        yield process.url


@pytest.fixture
def elsewhere(tmp_path: Path) -> Path:
    """An unrelated working folder: nothing of the checkout is reachable from it."""
    folder = tmp_path / "user-project"
    folder.mkdir()
    return folder


def test_the_wheel_holds_everything_under_the_harness_namespace(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    tops = {name.split("/")[0] for name in names if not name.endswith(".dist-info/RECORD")}
    assert {t for t in tops if not t.endswith(".dist-info")} == {"harness", "reference_server"}
    for shipped in (
        "harness/locustfiles/stream.py",
        "harness/scenarios/conftest.py",
        "harness/scenarios/test_cases.py",
        "harness/load/thresholds.toml",
        "harness/report/templates/conformance.html.j2",
        "harness/clients/js/page.html",
        "harness/clients/js/package-lock.json",
        "harness/clients/pins/sseclient.txt",
        "harness/load/live_charts.html",
        "harness/servers/js/package-lock.json",
    ):
        assert shipped in names, shipped


def test_the_virtualenv_runs_the_wheel_not_the_checkout(
    installed: Path, run_installed: RunInstalled, elsewhere: Path
) -> None:
    done = run_installed(
        elsewhere, "python", "-c",
        "import harness, harness.locustfiles, harness.scenarios; print(harness.__file__)",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert Path(done.stdout.strip()).is_relative_to(installed.parent), done.stdout


def test_check_with_a_load_probe(run_installed: RunInstalled, elsewhere: Path, server: str) -> None:
    done = run_installed(
        elsewhere, "sse-harness", "check", f"{server}/counter?count=20&interval_ms=20",
        "--resumable", "--load-users", "5", "--load-seconds", "3", "--report-dir", "run",
    )  # fmt: skip
    report = json.loads((elsewhere / "run" / "conformance.json").read_text())
    assert report["summary"]["FAILED"] == report["summary"]["ERROR"] == 0, done.stdout
    load = json.loads((elsewhere / "run" / "load.json").read_text())
    assert load["integrity"]["events"] > 0 and load["gate"]["thresholds"]["source"]
    # 1 only for a load-gate breach (timing on a busy machine), never for a probe that did not run
    assert done.returncode == (0 if load["gate"]["passed"] else 1), done.stderr[-2000:]
    assert (elsewhere / "run" / "index.html").is_file()


def test_load_and_a_user_thresholds_file(
    run_installed: RunInstalled, elsewhere: Path, server: str
) -> None:
    # A busy machine's calibration is not the point here: the user switches that check off.
    (elsewhere / "sse-harness.toml").write_text(
        "[load]\nlost_events = 0\ncalibration_p99_ms = false\n"
    )
    done = run_installed(
        elsewhere, "sse-harness", "load", f"{server}/counter?count=10&interval_ms=50",
        "-u", "3", "-r", "3", "-t", "3s", "--report-dir", "load",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    load = json.loads((elsewhere / "load" / "load.json").read_text())
    assert load["gate"]["thresholds"]["source"].endswith("sse-harness.toml")
    thresholds = load["gate"]["thresholds"]
    assert thresholds["load"]["lost_events"] == 0 and thresholds["load"]["error_rate"] == 0.01
    assert thresholds["sources"]["load"]["lost_events"] == thresholds["source"]
    assert thresholds["sources"]["load"]["error_rate"] == "shipped defaults"
    assert thresholds["load"]["calibration_p99_ms"] is False


def test_locust_with_a_shipped_locustfile(
    run_installed: RunInstalled, elsewhere: Path, server: str
) -> None:
    path = run_installed(elsewhere, "sse-harness", "locustfiles", "--path", "stream")
    assert path.returncode == 0 and Path(path.stdout.strip()).is_file(), path.stderr
    listing = run_installed(elsewhere, "sse-harness", "locustfiles")
    assert [line.split()[0] for line in listing.stdout.splitlines()] == [
        "stream", "llm", "broadcast", "reconnect", "mcp",
    ]  # fmt: skip
    done = run_installed(
        elsewhere, "python", "-m", "locust", "-f", path.stdout.strip(), "--headless",
        "--host", server, "--sse-path", "/counter?count=10&interval_ms=50", "-u", "2", "-r", "2",
        "-t", "3s", "--sse-report-dir", "locust", "--only-summary",
    )  # fmt: skip
    assert (elsewhere / "locust" / "load.json").is_file(), done.stderr[-2000:]


def test_clients_harness_column(run_installed: RunInstalled, elsewhere: Path) -> None:
    done = run_installed(
        elsewhere, "sse-harness", "clients", "--clients", "harness",
        "--cases", "client.lines", "--report-dir", "clients", "-q",
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    report = json.loads((elsewhere / "clients" / "clients.json").read_text())
    assert {r["outcome"] for r in report["results"]} == {"OK"}


def test_pytest_runs_the_shipped_conformance_suite(
    run_installed: RunInstalled, elsewhere: Path, server: str
) -> None:
    done = run_installed(
        elsewhere, "python", "-m", "pytest", "--pyargs", "harness.scenarios",
        "--sse-url", f"{server}/counter?count=20&interval_ms=20", "--sse-resumable",
        "-p", "no:cacheprovider", "-q", "--junitxml", "junit.xml",
        env={"SSE_HARNESS_EXAMPLES": "3"},
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:]
    junit = (elsewhere / "junit.xml").read_text()
    assert "server.framing.1" in junit and 'failures="0"' in junit


def test_check_the_embedded_mcp_endpoint(run_installed: RunInstalled, elsewhere: Path) -> None:
    """The wheel carries the reference server's /mcp (reference_server.mcp) and the profile."""
    done = run_installed(
        elsewhere, "sse-harness", "check", "--profile", "mcp", "--cases", "server.mcp",
        "--report-dir", "mcp", "--json",
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    report = json.loads((elsewhere / "mcp" / "conformance.json").read_text())
    assert report["target"]["profile"] == "mcp" and report["summary"]["OK"] >= 15
