"""``--app module:attr``: the user's own app, imported from their folder, served by a real server
in its own process for the run (check, load, the pytest plugin), and stopped after it.

Each app is a file written to a temporary folder that the test makes the working folder, as a
user runs ``sse-harness check --app myapp:app`` next to ``myapp.py``. The ASGI apps note their
lifespan startup and shutdown in ``lifespan.txt``, so a run that skips the lifespan, or leaves
the app running, is caught.
"""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from conftest import RunInstalled
from test_pytest_front_end import PYTEST_VERDICT, junit_verdicts, run_pytest_elsewhere

from harness.cli import main

pytestmark = pytest.mark.timeout(120)

#: A lifespan that notes its two ends in the working folder.
LIFESPAN = """\
from contextlib import asynccontextmanager
from pathlib import Path


def note(word):
    with Path("lifespan.txt").open("a") as marker:
        marker.write(word + "\\n")


@asynccontextmanager
async def lifespan(app):
    note("startup")
    yield
    note("shutdown")
"""

#: FastAPI's native SSE: 20 events with ids, resumed after Last-Event-ID.
FASTAPI_APP = (
    LIFESPAN
    + """
import asyncio
from typing import Annotated

from fastapi import FastAPI, Header
from fastapi.sse import EventSourceResponse, ServerSentEvent

app = FastAPI(lifespan=lifespan)


@app.get("/events", response_class=EventSourceResponse)
async def events(last_event_id: Annotated[int | None, Header()] = None):
    start = 0 if last_event_id is None else last_event_id + 1
    for n in range(start, 20):
        yield ServerSentEvent(data={"n": n}, id=str(n))
        await asyncio.sleep(0.02)
"""
)

#: Starlette's StreamingResponse writing the wire format by hand.
STARLETTE_APP = (
    LIFESPAN
    + """
import asyncio

from starlette.applications import Starlette
from starlette.responses import StreamingResponse
from starlette.routing import Route


async def events(request):
    last = request.headers.get("last-event-id", "")
    start = int(last) + 1 if last.isdigit() else 0

    async def stream():
        for n in range(start, 20):
            yield f"id: {n}\\ndata: {n}\\n\\n"
            await asyncio.sleep(0.02)

    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    return StreamingResponse(stream(), media_type="text/event-stream", headers=headers)


app = Starlette(routes=[Route("/events", events)], lifespan=lifespan)
"""
)

#: Flask (WSGI) with a generator, as Flask's docs stream.
FLASK_APP = """\
import time

from flask import Flask, Response, request

app = Flask(__name__)


@app.get("/events")
def events():
    last = request.headers.get("Last-Event-ID", "")
    start = int(last) + 1 if last.isdigit() else 0

    def stream():
        for n in range(start, 20):
            yield f"id: {n}\\ndata: {n}\\n\\n"
            time.sleep(0.02)

    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    return Response(stream(), mimetype="text/event-stream", headers=headers)
"""

#: A plain WSGI callable, for machines without Flask.
WSGI_APP = """\
import time


def app(environ, start_response):
    last = environ.get("HTTP_LAST_EVENT_ID", "")
    start = int(last) + 1 if last.isdigit() else 0
    headers = [
        ("Content-Type", "text/event-stream"),
        ("Cache-Control", "no-store"),
        ("X-Accel-Buffering", "no"),
    ]
    start_response("200 OK", headers)
    for n in range(start, 20):
        yield f"id: {n}\\ndata: {n}\\n\\n".encode()
        time.sleep(0.02)
"""

NO_LOAD = ["--load-users", "0"]


@pytest.fixture
def user_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The user's project folder, made the working folder (where ``--app`` imports from)."""
    folder = tmp_path / "project"
    folder.mkdir()
    monkeypatch.chdir(folder)
    return folder


def check_app(folder: Path, source: str, *args: str) -> tuple[int, dict[str, Any], Path]:
    """``check --app myapp:app --path /events`` on ``source`` saved as ``myapp.py``: the exit
    code, conformance.json and the report folder."""
    (folder / "myapp.py").write_text(source, encoding="utf-8")
    report_dir = folder / "report"
    code = main(
        ["check", "--app", "myapp:app", "--path", "/events", "--resumable", *NO_LOAD,
         "--report-dir", str(report_dir), *args]
    )  # fmt: skip
    conformance = report_dir / "conformance.json"
    report = json.loads(conformance.read_text(encoding="utf-8")) if conformance.is_file() else {}
    return code, report, report_dir


def outcomes(report: dict[str, Any]) -> dict[str, str]:
    return {case["id"]: case["outcome"] for case in report["cases"]}


def assert_stopped(url: str) -> None:
    """Nothing listens at ``url``'s port any more: the app was stopped, not left behind."""
    parts = urlsplit(url)
    with pytest.raises(ConnectionRefusedError), socket.socket() as sock:
        sock.connect((parts.hostname, parts.port))


@pytest.mark.parametrize("source", [FASTAPI_APP, STARLETTE_APP], ids=["fastapi-sse", "starlette"])
def test_check_serves_an_asgi_app_with_its_lifespan(user_folder: Path, source: str) -> None:
    code, report, report_dir = check_app(user_folder, source)
    assert code == 0, report.get("summary")
    assert report["summary"]["FAILED"] == report["summary"]["ERROR"] == 0
    graded = outcomes(report)
    # The route was the one --path named, resumed as the app resumes it.
    assert graded["server.resume.1"] == graded["server.resume.2"] == "OK"
    assert report["target"]["url"].endswith("/events")
    assert (user_folder / "lifespan.txt").read_text() == "startup\nshutdown\n"
    log = (report_dir / "app.log").read_text()
    assert "Application startup complete" in log and "GET /events HTTP/1.1" in log
    assert_stopped(report["target"]["url"])


def test_check_serves_a_wsgi_app_on_a_threaded_server(user_folder: Path) -> None:
    """Flask's own streaming (or a bare WSGI generator without Flask) streams through the WSGI
    server: events arrive as they are yielded, and 100 concurrent streams are all answered."""
    pytest.importorskip("flask", reason="the bare WSGI callable below stands in")
    code, report, report_dir = check_app(user_folder, FLASK_APP)
    assert code == 0, report.get("summary")
    graded = outcomes(report)
    assert graded["server.resume.1"] == graded["server.capacity.1"] == "OK"
    assert graded["server.timing.3"] == "OK"  # streamed as yielded, not buffered to the end
    assert "GET /events HTTP/1.1" in (report_dir / "app.log").read_text()
    assert_stopped(report["target"]["url"])


def test_check_serves_a_bare_wsgi_callable(user_folder: Path) -> None:
    code, report, _ = check_app(user_folder, WSGI_APP)
    assert code == 0, report.get("summary")
    graded = outcomes(report)
    assert graded["server.resume.1"] == graded["server.timing.1"] == "OK"


def test_check_app_over_http2_runs_under_hypercorn(user_folder: Path) -> None:
    code, report, report_dir = check_app(user_folder, FASTAPI_APP, "--http2")
    assert code == 0, report.get("summary")
    assert report["target"]["http_version"] == "HTTP/2"
    assert outcomes(report)["server.headers.7"] == "OK"  # runs only over HTTP/2
    assert (user_folder / "lifespan.txt").read_text() == "startup\nshutdown\n"
    assert '"GET /events 2"' in (report_dir / "app.log").read_text()


FAILS_AT_IMPORT = 'raise RuntimeError("DATABASE_URL is not set")\n'
STARTUP_FAILS = """\
from contextlib import asynccontextmanager

from starlette.applications import Starlette


@asynccontextmanager
async def lifespan(app):
    raise RuntimeError("no database at DATABASE_URL")
    yield


app = Starlette(lifespan=lifespan)
"""


@pytest.mark.parametrize(
    ("source", "spec", "said"),
    [
        (None, "nosuch:app", "ModuleNotFoundError: No module named 'nosuch'"),
        ("app = None\n", "myapp:api", "AttributeError: module 'myapp' has no attribute 'api'"),
        (FAILS_AT_IMPORT, "myapp:app", "RuntimeError: DATABASE_URL is not set"),
        (STARTUP_FAILS, "myapp:app", "RuntimeError: no database at DATABASE_URL"),
        ("raise SystemExit(3)\n", "myapp:app", "exit code 3"),
    ],
    ids=["no-module", "no-attribute", "import-raises", "startup-raises", "exits-at-once"],
)
def test_an_app_that_does_not_start_is_one_line_and_exit_2(
    user_folder: Path, capsys: pytest.CaptureFixture[str], source: str | None, spec: str, said: str
) -> None:
    if source is not None:
        (user_folder / "myapp.py").write_text(source, encoding="utf-8")
    started = time.monotonic()
    code = main(["check", "--app", spec, *NO_LOAD, "--report-dir", "report"])
    elapsed = time.monotonic() - started
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert err.startswith(f"sse-harness check: the app {spec} did not start: ") and said in err
    assert "its output: report/app.log" in err and (user_folder / "report/app.log").is_file()
    assert elapsed < 20  # a process start and an import, not the 30 s start bound


def test_an_app_that_never_listens_gives_up_at_the_bound(
    user_folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A startup that never finishes is stopped at ``--app-timeout``, not waited on forever (and
    killed: a stuck startup does not heed SIGTERM)."""
    (user_folder / "myapp.py").write_text(
        "import asyncio\n" + LIFESPAN.replace('note("startup")', "await asyncio.Event().wait()")
        + "from starlette.applications import Starlette\napp = Starlette(lifespan=lifespan)\n",
        encoding="utf-8",
    )  # fmt: skip
    started = time.monotonic()
    code = main(["check", "--app", "myapp:app", "--app-timeout", "1.5", *NO_LOAD])
    elapsed = time.monotonic() - started
    err = capsys.readouterr().err
    assert code == 2
    assert "the app myapp:app did not listen within 1.5 s" in err and err.count("\n") == 1
    assert 1.5 <= elapsed < 15


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["http://127.0.0.1:9/events", "--app", "myapp:app"], "give a URL or --app, not both"),
        (["http://127.0.0.1:9/events", "--path", "/events"], "--path and --factory go with --app"),
        (["--app", "myapp:app", "--path", "events"], "--path must start with '/'"),
    ],
)
def test_app_usage_errors(
    user_folder: Path, capsys: pytest.CaptureFixture[str], args: list[str], said: str
) -> None:
    assert main(["check", *args, *NO_LOAD]) == 2
    assert said in capsys.readouterr().err
    assert not (user_folder / "reports").exists()  # nothing was started or written


def test_a_factory_is_called_with_factory(user_folder: Path) -> None:
    source = FASTAPI_APP.replace(
        "app = FastAPI(lifespan=lifespan)",
        "def create():\n    return app\n\n\napp = FastAPI(lifespan=lifespan)",
    )
    (user_folder / "myapp.py").write_text(source, encoding="utf-8")
    code = main(
        [
            "check",
            "--app",
            "myapp:create",
            "--factory",
            "--path",
            "/events",
            *NO_LOAD,
            "--cases",
            "server.status.1",
        ]
    )
    assert code == 0


def test_load_serves_the_app_once_for_the_locust_run(
    user_folder: Path, lenient_thresholds: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (user_folder / "myapp.py").write_text(FASTAPI_APP, encoding="utf-8")
    code = main(
        ["load", "--app", "myapp:app", "--path", "/events", "-u", "4", "-r", "4", "-t", "3s",
         "--thresholds", str(lenient_thresholds), "--report-dir", "report"]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0, out[-2000:]
    report = json.loads((user_folder / "report/load.json").read_text())
    integrity = report["integrity"]
    assert integrity["events"] >= 20 and integrity["lost"] == integrity["truncated_streams"] == 0
    assert report["streams"]["errors"] == 0 and report["gate"]["passed"]
    assert out.strip().splitlines()[-1].startswith("load: PASS: ")
    log = (user_folder / "report/app.log").read_text()
    assert log.count("Application startup complete") == 1  # one app for the whole run
    assert log.count("GET /events HTTP/1.1") >= 4
    assert (user_folder / "lifespan.txt").read_text() == "startup\nshutdown\n"


def test_pytest_sse_app_gives_each_case_the_verdict_check_gives_it(user_folder: Path) -> None:
    """The plugin's ``--sse-app`` serves the app as ``check --app`` does: same verdicts, case by
    case, in the JUnit file."""
    code, report, report_dir = check_app(user_folder, STARLETTE_APP)
    assert code == 0
    done = run_pytest_elsewhere(
        user_folder, "--sse-app", "myapp:app", "--sse-path", "/events", "--sse-resumable"
    )
    ran = junit_verdicts(user_folder / "junit.xml")
    assert set(ran) == set(outcomes(report)), done.stdout[-3000:]
    check_junit = junit_verdicts(report_dir / "junit.xml")
    for case_id, outcome in outcomes(report).items():
        assert ran[case_id][0] == PYTEST_VERDICT[outcome] == check_junit[case_id][0], case_id
    assert "of the app myapp:app" in done.stdout  # the report header names the target
    assert (user_folder / "lifespan.txt").read_text() == "startup\nshutdown\n" * 2


def test_pytest_sse_app_that_does_not_start_fails_with_its_error(user_folder: Path) -> None:
    (user_folder / "myapp.py").write_text(FAILS_AT_IMPORT, encoding="utf-8")
    done = run_pytest_elsewhere(user_folder, "--sse-app", "myapp:app")
    assert done.returncode == 1, done.stdout[-2000:]
    assert "RuntimeError: DATABASE_URL is not set" in done.stdout


def test_the_installed_tool_serves_an_app_from_the_users_folder(
    run_installed: RunInstalled, tmp_path: Path
) -> None:
    """The wheel, not the checkout: ``--app`` imports from the folder the user runs it in, with
    the virtualenv's interpreter."""
    (tmp_path / "myapp.py").write_text(FASTAPI_APP, encoding="utf-8")
    done = run_installed(
        tmp_path, "sse-harness", "check", "--app", "myapp:app", "--path", "/events", *NO_LOAD
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith("conformance: PASS: none of "), done.stdout[:500]
    (report_dir,) = (tmp_path / "reports").iterdir()
    assert "Application startup complete" in (report_dir / "app.log").read_text()
    assert (tmp_path / "lifespan.txt").read_text() == "startup\nshutdown\n"


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--sse-app", "myapp:app", "--sse-url", "http://127.0.0.1:9/"], "name two targets"),
        (["--sse-path", "/events"], "--sse-path goes with --sse-app"),
        (["--sse-app", "myapp"], "expected the app as module:attribute"),
    ],
)
def test_pytest_app_usage_errors_stop_the_session(
    user_folder: Path, args: list[str], said: str
) -> None:
    done = run_pytest_elsewhere(user_folder, *args)
    assert done.returncode == pytest.ExitCode.USAGE_ERROR, done.stdout[-2000:]
    assert said in done.stderr


def test_an_app_that_dies_on_the_first_request_is_named_with_its_last_words(
    user_folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (user_folder / "myapp.py").write_text(
        "import os\n\n\ndef app(environ, start_response):\n"
        "    print('MemoryError: the handler gave up', flush=True)\n    os._exit(7)\n",
        encoding="utf-8",
    )
    assert main(["check", "--app", "myapp:app", *NO_LOAD, "--report-dir", "report"]) == 2
    err = capsys.readouterr().err
    assert "the app myapp:app stopped (exit code 7): MemoryError: the handler gave up" in err, err
