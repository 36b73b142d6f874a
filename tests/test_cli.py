"""The sse-harness command line: exit codes, one-line errors, reports, re-rendering."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.cli import main


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A TCP port that accepts connections and never answers."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        yield server.getsockname()[1]


@pytest.fixture
def not_http_port() -> Iterator[int]:
    """A TCP port that answers every connection with an SSH banner, not HTTP."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                return
            with conn:
                conn.sendall(b"SSH-2.0-OpenSSH_9.2\r\n")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    server.close()
    thread.join(5)


def one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err
    assert len(err.splitlines()) == 1, err
    return err


def test_refused_target_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    assert main(["check", f"http://127.0.0.1:{port}/stream"]) == 2
    assert "cannot connect" in one_line_error(capsys)


def test_silent_target_times_out_in_one_line(
    silent_port: int, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"http://127.0.0.1:{silent_port}/stream"
    assert main(["check", url, "--header-timeout", "0.5"]) == 2
    assert "no answer" in one_line_error(capsys)


def test_target_that_is_not_http_is_one_line(
    not_http_port: int, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", f"http://127.0.0.1:{not_http_port}/"]) == 2
    assert "cannot reach" in one_line_error(capsys)


def test_the_load_probe_runs_its_default_users_when_none_are_given(
    reference_server_url: str, tmp_path: Path, lenient_thresholds: Path
) -> None:
    """Without --load-users the probe runs its default 200 users (a regression once crashed
    here: the option's default became None when the mcp profile learned to refuse it)."""
    url = reference_server_url + "/counter?count=5&interval_ms=10"
    probe = ["--load-seconds", "2", "--thresholds", str(lenient_thresholds)]
    code = main(["check", url, "--cases", "server.status", "--report-dir", str(tmp_path), *probe])
    assert code == 0
    assert json.loads((tmp_path / "load.json").read_text())["users"] == 200


def test_clean_target_exits_0_and_writes_the_report(
    reference_server_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    lenient_thresholds: Path,
) -> None:
    url = reference_server_url + "/counter?count=20&interval_ms=10"
    # The exit code is the point here, not the latency of a busy machine.
    probe = ["--load-users", "10", "--load-seconds", "3", "--thresholds", str(lenient_thresholds)]
    code = main(["check", url, "--resumable", "--report-dir", str(tmp_path), "--json", *probe])
    report = json.loads(capsys.readouterr().out)  # stdout holds the JSON alone
    assert code == 0
    assert report["summary"]["FAILED"] == 0
    names = {p.name for p in tmp_path.iterdir()}
    assert names == {"conformance.json", "junit.xml", "index.html", "load.json", "load.html"}
    load = json.loads((tmp_path / "load.json").read_text())
    assert load["users"] == 10
    assert load["integrity"]["events"] > 0
    assert load["gate"]["passed"]


def test_a_failed_case_exits_1(reference_server_url: str, tmp_path: Path) -> None:
    url = reference_server_url + "/counter?count=5&interval_ms=10&fault=wrong_content_type"
    args = ["--cases", "server.headers.*", "--load-users", "0", "--report-dir", str(tmp_path)]
    assert main(["check", url, *args]) == 1
    report = json.loads((tmp_path / "conformance.json").read_text())
    assert [c["id"] for c in report["cases"] if c["outcome"] == "FAILED"] == ["server.headers.1"]


def test_report_rerenders_pages_from_json(reference_server_url: str, tmp_path: Path) -> None:
    url = reference_server_url + "/counter?count=5&interval_ms=10"
    quick = ["--cases", "server.status.*", "--load-users", "0"]
    main(["check", url, *quick, "--report-dir", str(tmp_path)])
    page = tmp_path / "index.html"
    page.unlink()
    assert main(["report", str(tmp_path)]) == 0
    assert "server.status.1" in page.read_text()


def test_report_without_json_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", str(tmp_path)]) == 2
    assert "no JSON report" in one_line_error(capsys)


def test_no_command_prints_help_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "check" in capsys.readouterr().out


def test_load_against_a_refused_target_is_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    assert main(["load", f"http://127.0.0.1:{port}/stream", "-t", "2s"]) == 2
    assert "cannot connect" in one_line_error(capsys)


def test_clients_json_prints_the_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["--clients", "harness", "--cases", "client.lines.1", "--report-dir", str(tmp_path)]
    assert main(["clients", *args, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [(r["client"], r["case"], r["outcome"]) for r in data["results"]] == [
        ("harness", "client.lines.1", "OK")
    ]


def test_cases_pattern_takes_prefixes_and_refuses_nothing(
    reference_server_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = reference_server_url + "/counter?count=5&interval_ms=10"
    assert main(["check", url, "--cases", "server.framin", "--load-users", "0"]) == 2
    error = one_line_error(capsys)
    assert "matches no case" in error and "server.framing" in error and "server.headers" in error
    args = ["--cases", "server.status", "--load-users", "0", "--report-dir", str(tmp_path)]
    assert main(["check", url, *args]) == 0
    report = json.loads((tmp_path / "conformance.json").read_text())
    assert [c["id"] for c in report["cases"]] == ["server.status.1"]


def test_a_load_probe_that_cannot_start_is_exit_2_not_a_pass(
    reference_server_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from harness.load import run as load_run

    def cannot(_options: object) -> None:
        raise load_run.LoadError("locust is not installed")

    monkeypatch.setattr(load_run, "run_load", cannot)
    url = reference_server_url + "/counter?count=5&interval_ms=10"
    args = ["--cases", "server.status.*", "--load-users", "3", "--report-dir", str(tmp_path)]
    assert main(["check", url, *args]) == 2
    assert "the load probe could not run: locust is not installed" in capsys.readouterr().err
    assert (tmp_path / "conformance.json").is_file()  # what did run is still reported


def test_ctrl_c_writes_the_partial_report_and_exits_130(
    reference_server_url: str, tmp_path: Path
) -> None:
    """Ctrl-C mid-run: what finished is reported, the rest is ERROR naming the interruption, the
    exit code is 130 and no traceback is printed."""
    import signal
    import subprocess
    import sys
    import time
    import urllib.request

    url = reference_server_url + "/counter?count=100000&interval_ms=100"
    started = time.time()
    process = subprocess.Popen(
        [sys.executable, "-m", "harness", "check", url, "--load-users", "0",
         "--window-seconds", "60", "--window-events", "100000", "--report-dir", str(tmp_path)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:  # until the run's main capture is streaming (bounded)
            with urllib.request.urlopen(reference_server_url + "/_observe/streams") as answer:
                live = json.load(answer)["live"]
            # >= 5 blocks: the run's own capture, not the reachability probe (closed at once)
            if any(r["started"] >= started and r["blocks"] >= 5 for r in live):
                break
            assert process.poll() is None and time.monotonic() < deadline, "the run never streamed"
            time.sleep(0.05)  # polling the target's own record, bounded by the deadline
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, err[-2000:]
    assert "Traceback" not in err
    report = json.loads((tmp_path / "conformance.json").read_text())
    cut = [c for c in report["cases"] if "interrupted" in c["evidence"]["observed"]]
    assert cut and all(c["outcome"] == "ERROR" for c in cut)
    assert report["summary"]["ERROR"] >= len(cut)
    assert (tmp_path / "index.html").is_file() and (tmp_path / "junit.xml").is_file()


@pytest.mark.parametrize("profile", ["stream", "llm", "broadcast", "reconnect", "mcp"])
def test_locustfiles_options_lists_every_sse_option_with_its_help(profile: str) -> None:
    """Locust answers ``--help`` before it reads a locustfile; ``locustfiles --options`` is where
    a user finds the ``--sse-*`` options on the command line. In its own process: it imports
    Locust, which patches the standard library for gevent."""
    import argparse
    import subprocess
    import sys

    from harness.load.options import Defaults, add_arguments

    parser = argparse.ArgumentParser()
    add_arguments(parser, Defaults())
    options = [action for action in parser._actions if action.option_strings != ["-h", "--help"]]
    assert len(options) >= 18
    done = subprocess.run(
        [sys.executable, "-m", "harness", "locustfiles", "--options", profile],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Usage: locust -f ") and f"{profile}.py" in done.stdout
    listed = {line.split()[0] for line in done.stdout.splitlines() if line.startswith("  --sse-")}
    text = " ".join(done.stdout.split())
    for action in options:
        (name,) = action.option_strings
        assert name in listed, f"{name} missing from --options {profile}"
        assert " ".join(str(action.help).split()) in text, f"{name}'s help missing"


def test_a_probe_does_not_count_duplicates_in_ids_the_cases_found_not_one_sequence(
    reference_server_url: str,
    tmp_path: Path,
    lenient_thresholds: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """/sse3 merges two id sequences (0, 0, 1, 1, ...): server.ids.1 grades that NON-STRICT, and
    the probe must not breach duplicated_events over the same ids (pytest passes this target)."""
    url = reference_server_url + "/sse3?message=hi&count=5&interval_ms=20"
    probe = ["--load-users", "3", "--load-seconds", "2", "--thresholds", str(lenient_thresholds)]
    code = main(["check", url, "--report-dir", str(tmp_path), *probe])
    out = capsys.readouterr().out
    report = json.loads((tmp_path / "conformance.json").read_text())
    assert {c["id"]: c["outcome"] for c in report["cases"]}["server.ids.1"] == "NON-STRICT"
    load = json.loads((tmp_path / "load.json").read_text())
    assert load["target"]["ids"] == "none" and load["gate"]["passed"], load["gate"]
    assert code == 0 and "lost not counted (ids not tracked)" in out
