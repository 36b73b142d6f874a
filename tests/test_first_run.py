"""A newcomer's first run: the README's commands, from a fresh folder with the installed wheel,
against the reference server and against a small app of the user's own shaped like the seeds (a
finite stream of characters, an endless echo). Each test asserts on the verdict and the words a
newcomer reads, not only on the exit code: a clean target is never FAILED, breached or PASSED by
omission, and every front end gives it the same verdict.
"""

from __future__ import annotations

import json
import queue
import re
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest

from reference_server.launch import serve_subprocess

pytestmark = pytest.mark.timeout(400)

#: ``run_installed`` of tests/conftest.py.
RunInstalled = Callable[..., "subprocess.CompletedProcess[str]"]

#: The user's own app, as a newcomer writes it from sse-starlette's README.
USER_APP = """\
import asyncio

from fastapi import FastAPI
from sse_starlette import EventSourceResponse

app = FastAPI()
SENTENCE = "Server-Sent Events, one character at a time."


@app.get("/chars")
async def chars():
    async def characters():
        for number, char in enumerate(SENTENCE, 1):
            yield {"id": str(number), "data": char}
            await asyncio.sleep(0.01)

    return EventSourceResponse(characters())


@app.get("/echo")
async def echo(message: str = "hello"):
    async def echoes():
        number = 0
        while True:
            number += 1
            yield {"event": "echo", "id": str(number), "data": f"{message} {number}"}
            await asyncio.sleep(0.2)

    return EventSourceResponse(echoes())
"""
#: A finite stream of the reference server: it ends cleanly after 20 events.
FINITE = "/counter?count=20&interval_ms=50"
#: The load probe of a check, small enough for a test.
PROBE = ("--load-users", "5", "--load-seconds", "3")


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with serve_subprocess(["--no-access-log", "--log-level", "warning"]) as process:
        yield process.url


@pytest.fixture
def fresh(tmp_path: Path) -> Path:
    """A new user's folder: nothing of the checkout is reachable from it. The tests gate on
    ``lenient_thresholds``: a busy machine's latency is not what they are about."""
    folder = tmp_path / "my-project"
    folder.mkdir()
    return folder


@pytest.fixture(scope="module")
def user_app(installed: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The user's app under uvicorn, as they would start it: ``uvicorn myapp:app``."""
    folder = tmp_path_factory.mktemp("user-app")
    (folder / "myapp.py").write_text(USER_APP, encoding="utf-8")
    command = [
        str(installed / "python"),
        "-m",
        "uvicorn",
        "myapp:app",
        "--port",
        "0",
        "--no-access-log",
    ]
    process = subprocess.Popen(command, cwd=folder, stderr=subprocess.PIPE, text=True)
    try:
        yield _listening_url(process)
    finally:
        process.terminate()
        process.wait(timeout=10)


def _listening_url(process: subprocess.Popen[str], timeout_s: float = 60.0) -> str:
    """The URL uvicorn says it is running on, read from its log as it starts. A thread reads
    the lines: a selector on the pipe misses lines already buffered by an earlier readline."""
    assert process.stderr is not None
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(x) for x in process.stderr], daemon=True).start()
    deadline = time.monotonic() + timeout_s
    while (left := deadline - time.monotonic()) > 0:
        try:
            line = lines.get(timeout=left)
        except queue.Empty:
            break
        if match := re.search(r"Uvicorn running on (http://\S+)", line):
            return match.group(1)
    raise AssertionError(f"uvicorn did not listen within {timeout_s:g} s ({process.poll()})")


def _verdicts(stdout: str) -> list[str]:
    return [line for line in stdout.splitlines() if re.match(r"(conformance|load): ", line)]


def test_check_on_the_defaults_grades_the_reference_server(
    run_installed: RunInstalled, fresh: Path, lenient_thresholds: Path
) -> None:
    done = run_installed(
        fresh, "sse-harness", "check", *PROBE, "--thresholds", str(lenient_thresholds)
    )
    assert done.returncode == 0, done.stdout + done.stderr[-2000:]
    conformance, load = _verdicts(done.stdout)
    assert done.stdout.splitlines()[0] == conformance  # the verdict comes first
    assert conformance.startswith("conformance: PASS: none of 47 cases FAILED")
    assert load.startswith("load: PASS: ") and "None" not in load
    assert re.search(r"\d+ rows not shown: \d+ OK", done.stdout), done.stdout
    report = json.loads(next(fresh.glob("reports/*/conformance.json")).read_text())
    assert report["summary"]["FAILED"] == report["summary"]["ERROR"] == 0


def test_a_finite_stream_is_clean_for_every_front_end(
    run_installed: RunInstalled, fresh: Path, server: str, lenient_thresholds: Path
) -> None:
    """The stream ends after 20 events, cleanly: check, load and locust -f all pass it."""
    url = server + FINITE
    gate = ("--thresholds", str(lenient_thresholds))
    check = run_installed(fresh, "sse-harness", "check", url, *PROBE, *gate, "--report-dir", "c")
    assert check.returncode == 0, check.stdout
    assert [v.split(":")[1] for v in _verdicts(check.stdout)] == [" PASS", " PASS"]

    load = run_installed(fresh, "sse-harness", "load", url, "-u", "5", "-t", "4s", *gate)
    assert load.returncode == 0, load.stdout[-3000:]
    assert load.stdout.splitlines()[-1].startswith("load: PASS: "), load.stdout[-3000:]
    assert "truncated" not in load.stdout + load.stderr

    locustfile = run_installed(fresh, "sse-harness", "locustfiles", "--path", "stream")
    locust = run_installed(
        fresh, "python", "-m", "locust", "-f", locustfile.stdout.strip(), "--headless",
        "--host", server, "--sse-path", FINITE, "-u", "5", "-r", "5", "-t", "4s",
        "--sse-report-dir", "k", "--sse-thresholds", str(lenient_thresholds), "--only-summary",
    )  # fmt: skip
    assert locust.returncode == 0, locust.stderr[-3000:]
    report = json.loads((fresh / "k" / "load.json").read_text())
    assert report["gate"]["passed"] and report["integrity"]["truncated_streams"] == 0
    assert report["integrity"]["events"] >= 20


def test_a_declared_promise_is_what_makes_a_short_stream_truncated(
    run_installed: RunInstalled, fresh: Path, server: str, lenient_thresholds: Path
) -> None:
    done = run_installed(
        fresh, "sse-harness", "load", server + FINITE, "-u", "3", "-t", "3s",
        "--thresholds", str(lenient_thresholds), "--locust", "--sse-expect-events 60",
    )  # fmt: skip
    assert done.returncode == 1
    verdict = done.stdout.splitlines()[-1]
    assert verdict.startswith("load: BREACH: ") and "error_rate" in verdict, verdict
    assert "--sse-expect-events promised 60" in done.stdout + done.stderr


def _check_the_users_app(
    run_installed: RunInstalled, fresh: Path, url: str, lenient: Path, *window: str
) -> list[dict[str, Any]]:
    """check on the user's route: PASS twice, and the UNIMPLEMENTED cases it found, each saying
    what would run it (the app is neither resumable nor mounts the scripting contract)."""
    check = run_installed(
        fresh, "sse-harness", "check", url, *PROBE, "--thresholds", str(lenient),
        "--report-dir", "c", *window,
    )  # fmt: skip
    assert check.returncode == 0, check.stdout
    conformance, load = _verdicts(check.stdout)
    assert conformance.startswith("conformance: PASS") and load.startswith("load: PASS")
    report = json.loads((fresh / "c" / "conformance.json").read_text())
    unimplemented = [c for c in report["cases"] if c["outcome"] == "UNIMPLEMENTED"]
    assert unimplemented and all(c["evidence"]["next_step"] for c in unimplemented)
    steps = " ".join(c["evidence"]["next_step"] for c in unimplemented)
    assert "--resumable" in steps and "make_router()" in steps
    return unimplemented


def test_the_users_finite_stream_gets_the_same_verdict_from_check_and_pytest(
    run_installed: RunInstalled, fresh: Path, user_app: str, lenient_thresholds: Path
) -> None:
    url = user_app + "/chars"
    unimplemented = _check_the_users_app(run_installed, fresh, url, lenient_thresholds)
    pytest_run = run_installed(
        fresh, "python", "-m", "pytest", "--pyargs", "harness.scenarios", "--sse-url", url,
        "-k", "test_case", "-p", "no:cacheprovider", "--junitxml", "junit.xml",
    )  # fmt: skip
    assert pytest_run.returncode == 0, pytest_run.stdout[-3000:]
    assert f"target GET {url}" in pytest_run.stdout and "profile sse" in pytest_run.stdout
    skipped = {
        case.get("name", "").split(":")[0]
        for case in ElementTree.parse(fresh / "junit.xml").iter("testcase")
        if case.find("skipped") is not None
    }
    assert {f"test_case[{c['id']}]" for c in unimplemented} == skipped


def test_the_users_endless_stream_passes_check(
    run_installed: RunInstalled, fresh: Path, user_app: str, lenient_thresholds: Path
) -> None:
    """An endless stream is read for the whole window by every case: a short one here (and a
    short keep-alive bound), since what is asserted is the verdict, not the default's timing."""
    window = ("--window-seconds", "2", "--keepalive-bound", "1")
    _check_the_users_app(run_installed, fresh, user_app + "/echo", lenient_thresholds, *window)


def test_a_route_that_is_not_an_event_stream_is_one_line_and_no_load(
    run_installed: RunInstalled, fresh: Path, server: str
) -> None:
    done = run_installed(
        fresh, "sse-harness", "check", server + "/no-such-route", "--report-dir", "c"
    )
    assert done.returncode == 1
    (verdict, *_) = _verdicts(done.stdout)
    assert "is not an event stream: it answered 404 Not Found" in verdict
    assert "is the path right" in verdict
    assert not (fresh / "c" / "load.json").exists()  # no load probe against it
    report = json.loads((fresh / "c" / "conformance.json").read_text())
    assert [c["id"] for c in report["cases"]] == ["server.status.1", "server.headers.1"]


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("127.0.0.1:{port}/sse", "has no scheme: did you mean 'http://127.0.0.1:{port}/sse'"),
        ("https://127.0.0.1:{port}/sse", "does not speak TLS on that port"),
        ("ftp://127.0.0.1:{port}/sse", "over http:// or https://, not ftp://"),
    ],
)
def test_url_mistakes_are_said_in_plain_words(
    run_installed: RunInstalled, fresh: Path, server: str, url: str, words: str
) -> None:
    port = server.rsplit(":", 1)[1]
    for command in ("check", "load"):
        done = run_installed(fresh, "sse-harness", command, url.format(port=port))
        assert done.returncode == 2
        (line,) = done.stderr.strip().splitlines()
        assert line.startswith(f"sse-harness {command}: ") and words.format(port=port) in line
        assert "Error" not in line  # no exception class names


def test_a_one_key_thresholds_file_keeps_every_other_shipped_check(
    run_installed: RunInstalled, fresh: Path, server: str
) -> None:
    (fresh / "sse-harness.toml").write_text("[load]\nttfe_p99_ms = 5000.0\n")
    done = run_installed(
        fresh, "sse-harness", "load", server + FINITE, "-u", "2", "-t", "2s", "--report-dir", "l"
    )
    thresholds = json.loads((fresh / "l" / "load.json").read_text())["gate"]["thresholds"]
    assert thresholds["load"]["ttfe_p99_ms"] == 5000.0
    assert thresholds["load"]["lost_events"] == 0 and thresholds["load"]["error_rate"] == 0.01
    assert thresholds["sources"]["load"]["error_rate"] == "shipped defaults", done.stdout
    (fresh / "sse-harness.toml").write_text("[load]\nttfe_p99ms = 5000.0\n")
    bad = run_installed(fresh, "sse-harness", "check", server + FINITE)
    assert bad.returncode == 2 and not (fresh / "reports").exists()  # refused before any run
    assert "did you mean 'ttfe_p99_ms'" in bad.stderr and "4611686018427387904" not in bad.stderr
