"""Every load front end on its defaults against the reference server, as a new user runs it:
``locust -f`` with each shipped locustfile and ``run_load`` (what ``sse-harness load`` and
``check``'s probe call) give a clean verdict on clean endpoints, and a failure only for what the
user declared (``--sse-expect-events``, ``--sse-expect-endless``), in words that name the promise.
Thresholds and options that cannot work stop Locust before it runs (exit 2, one line); every
``--sse-*`` option is in the web UI's start form.

Locust runs as subprocesses: importing it monkeypatches the process for gevent.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.clients.browser import CHROMIUM_FLAGS
from harness.load.options import Defaults, add_arguments
from harness.load.run import PROFILES, LoadOptions, locustfile, run_load
from harness.report.load import load_verdict_line
from reference_server.launch import free_port, serve_subprocess

pytestmark = pytest.mark.timeout(120)

#: The issue's counter, shortened: 5 events, then the server ends the stream cleanly.
COUNTER = "/counter?count=5&interval_ms=20"
#: What ``check``'s load probe passes (harness/commands/check.py).
CHECK_PROBE = ("--sse-max-events", "0", "--sse-max-seconds", "2")
CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    """The reference server on its own defaults, in its own process."""
    with serve_subprocess(["--no-access-log", "--log-level", "warning"]) as process:
        yield process.url


def _locust(profile: str, *args: str, cwd: Path, timeout_s: float = 60) -> tuple[int, str]:
    done = subprocess.run(
        [sys.executable, "-m", "locust", "-f", str(locustfile(profile)), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout_s,
    )
    return done.returncode, done.stdout + done.stderr


def _headless(server: str, tmp_path: Path, *args: str) -> tuple[int, str, dict[str, Any]]:
    """A short headless run of the stream locustfile on the reference counter (shipped gate)."""
    reports = tmp_path / "report"
    code, output = _locust(
        "stream", "--headless", "--host", server, "-u", "3", "-r", "3", "-t", "2s",
        "--sse-path", COUNTER, "--sse-report-dir", str(reports), *args,
        cwd=tmp_path,
    )  # fmt: skip
    report: dict[str, Any] = json.loads((reports / "load.json").read_text())
    return code, output, report


@pytest.mark.parametrize("extra", [(), CHECK_PROBE], ids=["defaults", "check-probe-args"])
def test_a_stream_the_server_ends_cleanly_passes(
    server: str, tmp_path: Path, extra: tuple[str, ...]
) -> None:
    """The server sends 5 events and ends each stream; the default read bound (60) is no
    promise, so every stream is a clean end: the same PASS as ``check``'s probe arguments."""
    code, output, report = _headless(server, tmp_path, *extra)
    assert code == 0, output
    assert report["gate"]["passed"] and report["gate"]["breaches"] == [], report["gate"]
    assert report["streams"]["ended"].get("eof", 0) >= 3, report["streams"]
    assert report["integrity"]["truncated_streams"] == report["streams"]["errors"] == 0
    assert "StreamFailed" not in output
    assert load_verdict_line(report).startswith("load: PASS: ")


def test_sse_harness_load_says_its_verdict_last(server: str, tmp_path: Path) -> None:
    """The issue's command, shortened: exit 0, and the last line on stdout is the verdict in
    words, the same line load.html opens with."""
    reports = tmp_path / "report"
    done = subprocess.run(
        [sys.executable, "-m", "harness", "load", server + COUNTER, "-u", "3", "-t", "2s",
         "--report-dir", str(reports)],
        cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    line = done.stdout.strip().splitlines()[-1]
    report = json.loads((reports / "load.json").read_text())
    assert line == load_verdict_line(report)
    assert re.fullmatch(
        r"load: PASS: \d+ streams, \d+ events, 0 lost, 0 failed; TTFE p99 [\d.]+ ms;"
        r" latency p99 [\d.]+ ms \(gate: shipped defaults\)",
        line,
    ), line
    assert f"<strong>{line}</strong>" in (reports / "load.html").read_text()


@pytest.mark.parametrize(
    ("promise", "words"),
    [
        (("--sse-expect-events", "8"), "after 5 events; --sse-expect-events promised 8"),
        (
            ("--sse-expect-endless",),
            "after 5 events; --sse-expect-endless promised it would not end",
        ),
    ],
    ids=["expect-events", "expect-endless"],
)
def test_a_declared_promise_the_server_breaks_is_a_breach(
    server: str, tmp_path: Path, promise: tuple[str, ...], words: str
) -> None:
    code, output, report = _headless(server, tmp_path, *promise)
    assert code == 1, output
    ended = report["streams"]["ended"]
    assert ended.get("truncated", 0) >= 3 and ended.get("eof", 0) == 0, ended
    assert report["integrity"]["truncated_streams"] == ended["truncated"]
    assert [b["check"] for b in report["gate"]["breaches"]] == ["error_rate"]
    # Locust's failures table names the promise and what came.
    assert f"StreamFailed('truncated: the server ended the stream {words}')" in output
    line = load_verdict_line(report)
    assert line.startswith("load: BREACH: ") and "; error_rate " in line and " > 0.01" in line


@pytest.mark.parametrize("profile", PROFILES)
def test_every_profile_passes_on_its_defaults(server: str, tmp_path: Path, profile: str) -> None:
    """What ``sse-harness load --profile P`` runs, on the reference server's own endpoint for
    that profile, with the shipped gate: no verdict nobody asked for."""
    result = run_load(
        LoadOptions(url=server, profile=profile, users=3, spawn_rate=3, run_time="2s",
                    report_dir=tmp_path / "report")
    )  # fmt: skip
    report = json.loads(result.report_path.read_text())
    assert result.exit_code == 0, report["gate"]
    assert report["streams"]["errors"] == report["integrity"]["truncated_streams"] == 0
    assert report["integrity"]["events"] > 0


def test_unreadable_thresholds_stop_locust_before_it_runs(server: str, tmp_path: Path) -> None:
    bad = tmp_path / "typo.toml"
    bad.write_text("[load]\nlatency_p99ms = 3\n")
    reports = tmp_path / "report"
    code, output = _locust(
        "stream", "--headless", "--host", server, "-u", "2", "-t", "30s",
        "--sse-thresholds", str(bad), "--sse-report-dir", str(reports),
        cwd=tmp_path,
    )  # fmt: skip
    assert code == 2, output
    said = [line for line in output.splitlines() if line.startswith("sse-harness: ")]
    assert len(said) == 1 and str(bad) in said[0] and "latency_p99ms" in said[0], output
    assert "Traceback" not in output and "Spawning" not in output
    assert not reports.exists()  # nothing ran, nothing was gated


def test_options_no_stream_could_honour_stop_locust_before_it_runs(
    server: str, tmp_path: Path
) -> None:
    code, output = _locust(
        "stream", "--headless", "--host", server, "-u", "2", "-t", "30s",
        "--sse-max-events", "10", "--sse-expect-events", "20",
        cwd=tmp_path,
    )  # fmt: skip
    assert code == 2, output
    assert "expecting 20 events per stream but reading at most 10" in output
    assert "Traceback" not in output and "Spawning" not in output


# -- the web UI --------------------------------------------------------------------------------

#: Options a locustfile adds beyond the shared ones.
_OWN_OPTIONS = {
    "broadcast": {"sse_publish_ms", "sse_publish_max"},
    "mcp": {"sse_mcp_tool", "sse_mcp_drop_share", "sse_mcp_parallel", "sse_mcp_version"},
}


def _shared_options() -> dict[str, str]:
    """Every shared ``--sse-*`` option's dest and help, as ``add_arguments`` defines them."""
    parser = argparse.ArgumentParser()
    add_arguments(parser, Defaults())
    return {a.dest: str(a.help) for a in parser._actions if a.dest.startswith("sse_")}


@pytest.fixture(scope="module", params=PROFILES)
def web_ui(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, str]]:
    """(profile, URL) of a real Locust with its web UI on loopback, not started, bounded."""
    profile: str = request.param
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "locust", "-f", str(locustfile(profile)),
         "--web-host", "127.0.0.1", "--web-port", str(port), "--host", "http://127.0.0.1:9"],
        cwd=tmp_path_factory.mktemp("ui"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        assert process.stderr is not None
        for line in process.stderr:  # Locust says when its web UI listens
            if "Starting web interface" in line:
                break
        else:
            pytest.fail(f"Locust's web UI for {profile} never started")
        yield profile, f"http://127.0.0.1:{port}/"
    finally:
        process.terminate()
        process.wait(timeout=30)


def _template_args(url: str) -> dict[str, Any]:
    """What the web UI's page hands its start form (``window.templateArgs``)."""
    deadline = time.monotonic() + 30
    while True:  # Locust binds its web UI a moment after it logs that it starts it
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                html = response.read().decode("utf-8")
            break
        except urllib.error.URLError as exc:
            if not isinstance(exc.reason, ConnectionRefusedError) or time.monotonic() > deadline:
                raise
    start = html.index("window.templateArgs = ") + len("window.templateArgs = ")
    args, _ = json.JSONDecoder().raw_decode(html[start:])
    return dict(args)


def test_every_option_is_in_the_web_ui_start_form(web_ui: tuple[str, str]) -> None:
    profile, url = web_ui
    shown = _template_args(url)["extra_options"]
    shared = _shared_options()
    assert set(shown) == set(shared) | _OWN_OPTIONS.get(profile, set())
    for dest, help_text in shared.items():
        assert shown[dest]["help_text"] == help_text, dest


@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed")
def test_every_option_is_a_field_of_the_form_in_chromium(web_ui: tuple[str, str]) -> None:
    from playwright.sync_api import sync_playwright

    profile, url = web_ui
    _template_args(url)  # listening
    expected = set(_shared_options()) | _OWN_OPTIONS.get(profile, set())
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page()
            page.goto(url)
            page.get_by_text("Custom parameters").click()  # the section starts folded
            page.wait_for_selector("form input[name=ssePath]")  # visible
            names = page.eval_on_selector_all("form [name]", "els => els.map(e => e.name)")
            text = page.locator("form").inner_text()
        finally:
            browser.close()
    # The form names its fields in camelCase: sse_max_events is sseMaxEvents.
    camel = {re.sub(r"_(\w)", lambda m: m[1].upper(), dest) for dest in expected}
    assert camel <= set(names), camel - set(names)
    assert "Custom parameters" in text
    assert "--sse-expect-events" not in text and "a stream it ends sooner is truncated" in text
