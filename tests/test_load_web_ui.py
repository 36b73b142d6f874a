"""The streams where Locust users look (issue 22, items 1-3), in real Chromium during real runs.

A real ``locust -f <shipped stream locustfile>`` with its web UI on loopback, ``--autostart``,
against the reference server: locally, and as a master with 2 workers under
``--web-base-path``. While the run goes, the "SSE streams" tab of Locust's own UI and the live
charts page it links to must show the streams (all users' streams open, events counted, none
lost). The run is then ended as a user ends it (Ctrl-C): ``load.json`` is the truth the live
figures are held to (counted no more than the final, never nothing), and Locust's own
``--html`` report and ``--csv`` files carry the same final figures. ``--web-login`` guards our
routes as it guards Locust's.

Locust runs as subprocesses: importing it monkeypatches the process for gevent.
"""

from __future__ import annotations

import csv
import http.cookiejar
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import pytest

from harness.clients.browser import CHROMIUM_FLAGS
from harness.load.live import FIGURES, TOTAL, LiveFigures
from harness.load.metrics import Metrics
from harness.load.run import locustfile
from reference_server.launch import free_port, serve_subprocess

pytestmark = pytest.mark.timeout(120)

CHROMIUM = Path("/usr/bin/chromium")
USERS = 6
#: Endless streams (no client bound): every user holds one stream for the whole run.
STREAM = ("--sse-path", "/counter?count=1000000&interval_ms=50", "--sse-max-events", "0",
          "--sse-max-seconds", "600")  # fmt: skip
#: A bound, not a schedule: every run here is ended by Ctrl-C once the browser has looked.
RUN_TIME = "90s"
#: The tab's columns: the endpoint's name, then every figure.
COLUMNS = ["name", *(key for key, _ in FIGURES)]


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with serve_subprocess(["--no-access-log", "--log-level", "warning"]) as process:
        yield process.url


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


@contextmanager
def locust_ui(cwd: Path, *args: str, script: Path | None = None) -> Iterator[tuple[Any, str]]:
    """(process, web UI root URL) of a real Locust whose web UI listens on loopback; its log is
    drained meanwhile (a full pipe would stall it) into ``process.log``.

    Its own master port (Locust's default, 5557, is shared by every run on the machine: another
    run's workers would join), and its own session, so that its forked workers end with it."""
    port, master = free_port(), str(free_port())
    command = [sys.executable, "-m", "locust", "-f", str(script or locustfile("stream")),
               "--web-host", "127.0.0.1", "--web-port", str(port),
               "--master-bind-host", "127.0.0.1", "--master-bind-port", master,
               "--master-host", "127.0.0.1", "--master-port", master, *args]  # fmt: skip
    process = subprocess.Popen(
        command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,
    )  # fmt: skip
    log: list[str] = []
    process.log = log  # type: ignore[attr-defined]
    listening, spawned = threading.Event(), threading.Event()
    process.spawned = spawned  # type: ignore[attr-defined]

    def drain() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            log.append(line)
            if "Starting web interface" in line:
                listening.set()
            if "All users spawned" in line:
                spawned.set()
        listening.set()
        spawned.set()

    threading.Thread(target=drain, daemon=True).start()
    try:
        assert listening.wait(60) and process.poll() is None, "".join(log)
        base = next((args[i + 1] for i, a in enumerate(args) if a == "--web-base-path"), "")
        url = f"http://127.0.0.1:{port}{base}"
        _wait_listening(url + "/")
        yield process, url
    finally:
        with suppress(ProcessLookupError):  # the master, and any worker it left behind
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)


def _wait_listening(url: str) -> None:
    """Locust binds its web UI a moment after it logs that it starts it."""
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(url, timeout=10).close()
            return
        except urllib.error.HTTPError:
            return  # it answers (e.g. a redirect to its login page)
        except urllib.error.URLError as exc:
            if not isinstance(exc.reason, ConnectionRefusedError) or time.monotonic() > deadline:
                raise


def _interrupt(process: Any) -> str:
    """Ctrl-C, as a user ends a run in the web UI's terminal; Locust's log."""
    process.send_signal(signal.SIGINT)
    process.wait(timeout=90)
    return "".join(process.log)


def _tab_total(process: Any, page: Any, url: str) -> dict[str, Any]:
    """The Total row of the "SSE streams" tab, once it shows every user's stream open and
    events counted (the UI polls every two seconds). The page is opened once every user runs:
    opened before the run starts, Locust's UI stays on its start form."""
    assert process.spawned.wait(60) and process.poll() is None, "".join(process.log)
    page.goto(url + "/?tab=sse-streams")
    shown = "() => [...document.querySelectorAll('tbody tr')].map(r => r.innerText).join('; ')"
    handle = _wait(
        page,
        shown,
        """([users]) => {
            for (const row of document.querySelectorAll("tbody tr")) {
                const cells = [...row.querySelectorAll("td")].map(td => td.textContent);
                if (cells[0] === "Total" && Number(cells[1]) === users && Number(cells[5]) > 0)
                    return cells;
            }
            return null;
        }""",
        arg=[USERS],
        timeout=60_000,
    )
    return _typed(dict(zip(COLUMNS, handle.json_value(), strict=True)))


def _wait(page: Any, shown: str, condition: str, **kw: Any) -> Any:
    """``page.wait_for_function``; on a timeout, what the page showed instead."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        return page.wait_for_function(condition, **kw)
    except PlaywrightTimeout:
        pytest.fail(f"{condition}\nnever held; the page shows: {page.evaluate(shown)}")


def _charts(page: Any) -> dict[str, Any]:
    """The charts page the tab links to: its Total row and chart points, once it has polled
    twice, has two points per chart and shows every stream open."""
    with page.context.expect_page() as opened:
        page.locator("#sse-harness-charts-link").click()
    charts = opened.value
    shown = "() => document.body.innerText"
    _wait(
        charts,
        shown,
        """([users]) => Number(document.body.dataset.polls || 0) >= 2
            && [...document.querySelectorAll("canvas")].every(c => Number(c.dataset.points) >= 2)
            && Number(document.querySelector('tr[data-name="Total"] td[data-key="open_streams"]')
                      ?.textContent) === users""",
        arg=[USERS],
        timeout=60_000,
    )
    total = charts.eval_on_selector_all(
        'tr[data-name="Total"] td',
        "tds => Object.fromEntries(tds.map(td => [td.dataset.key, td.textContent]))",
    )
    status = charts.locator("#status").inner_text()
    legend = charts.locator("#chart-latency + .legend").inner_text()
    charts.close()
    return {"total": _typed(total), "status": status, "legend": legend}


def _typed(row: dict[str, str]) -> dict[str, Any]:
    return {k: (v if k == "name" else float(v) if v else None) for k, v in row.items()}


def _check_live_against_final(live: dict[str, Any], report: dict[str, Any]) -> None:
    final = report["integrity"]
    assert 0 < live["events"] <= final["events"], (live, final)
    assert live["lost"] == 0 and final["lost"] == 0 and final["duplicated"] == 0
    assert 0 < live["streams_started"] <= report["streams"]["started"]
    assert live["latency_p99_ms"] is not None and live["ttfe_p50_ms"] is not None


def test_a_local_run_shows_its_streams_in_the_ui_the_charts_and_locusts_reports(
    server: str, browser: Any, tmp_path: Path
) -> None:
    reports = tmp_path / "report"
    with locust_ui(
        tmp_path, "--host", server, "--autostart", "-u", str(USERS), "-r", str(USERS),
        "-t", RUN_TIME, *STREAM, "--sse-report-dir", str(reports),
        "--html", "locust/report.html", "--csv", "locust/run",
    ) as (process, url):  # fmt: skip
        page = browser.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        tab = _tab_total(process, page, url)
        assert page.locator("#sse-harness-charts-link").is_visible()
        charts = _charts(page)
        with urllib.request.urlopen(url + "/sse-harness/stats") as answer:
            document = json.load(answer)
        assert document["state"] == "running", "the browser looked after the run"
        page.close()
        log = _interrupt(process)
    assert not errors, errors
    report = json.loads((reports / "load.json").read_text())
    for live in (tab, charts["total"]):
        _check_live_against_final(live, report)
    assert charts["status"].startswith("run running"), charts["status"]
    assert "latency p99: " in charts["legend"], charts["legend"]
    assert report["users"] == USERS and report["workers"] == 1, log

    # Locust's own CSV and HTML report carry the final figures (no more live: the final).
    with (tmp_path / "locust" / "run_sse_stats.csv").open(encoding="utf-8") as file:
        csv_rows = {row["Name"]: row for row in csv.DictReader(file)}
    assert set(csv_rows) == {"/counter", TOTAL}
    titles = dict(FIGURES)
    for row in csv_rows.values():
        assert int(row[titles["events"]]) == report["integrity"]["events"]
        assert int(row[titles["streams_started"]]) == report["streams"]["started"] == USERS
        assert int(row[titles["lost"]]) == 0
    assert (tmp_path / "locust" / "run_stats.csv").is_file()  # Locust's own, untouched
    html_page = browser.new_page()
    html_page.goto((tmp_path / "locust" / "report.html").as_uri())
    section = html_page.locator("#sse-harness-streams")
    assert section.is_visible()
    assert str(report["integrity"]["events"]) in section.inner_text()
    link = section.get_by_text("load.html").get_attribute("href")
    assert link is not None
    assert ((tmp_path / "locust") / link).resolve() == (reports / "load.html").resolve()
    html_page.close()


def test_a_master_with_two_workers_merges_them_live_under_a_base_path(
    server: str, browser: Any, tmp_path: Path
) -> None:
    reports = tmp_path / "report"
    with locust_ui(
        tmp_path, "--host", server, "--autostart", "-u", str(USERS), "-r", str(USERS),
        "-t", RUN_TIME, "--processes", "2", "--web-base-path", "/x", *STREAM,
        "--sse-report-dir", str(reports),
    ) as (process, url):  # fmt: skip
        assert url.endswith("/x")
        page = browser.new_page()
        tab = _tab_total(
            process, page, url
        )  # every user's stream open: both workers' streams summed
        charts = _charts(page)
        with urllib.request.urlopen(url + "/sse-harness/stats") as answer:
            document = json.load(answer)
        assert document["state"] == "running", "the browser looked after the run"
        page.close()
        log = _interrupt(process)
    report = json.loads((reports / "load.json").read_text())
    assert report["workers"] == 2 and len(report["per_worker"]) == 2, log
    for live in (tab, charts["total"]):
        _check_live_against_final(live, report)


def test_web_login_guards_the_streams_routes_as_it_guards_locusts_own(tmp_path: Path) -> None:
    """Locust's ``--web-login`` asks the locustfile for its users; this one signs a tester in at
    ``/x/sign-in``. Before that our routes send to Locust's login page, after it they answer."""
    script = tmp_path / "login_locustfile.py"
    script.write_text(
        "from flask_login import UserMixin, login_user\n"
        "from locust import events\n"
        "from harness.locustfiles.stream import StreamUser  # noqa: F401  (the shipped profile)\n"
        "class Tester(UserMixin):\n"
        "    def __init__(self, id):\n"
        "        self.id = id\n"
        "@events.init.add_listener\n"
        "def _sign_in(environment, **_kw):\n"
        "    app = environment.web_ui.app\n"
        "    app.secret_key = 'test only'\n"
        "    environment.web_ui.login_manager.user_loader(Tester)\n"
        "    @app.route('/x/sign-in')\n"
        "    def sign_in():\n"
        "        login_user(Tester('tester'))\n"
        "        return 'signed in'\n",
        encoding="utf-8",
    )
    cookies = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(_NoRedirect(), urllib.request.HTTPCookieProcessor(cookies))
    routes = ("/sse-harness/stats", "/sse-harness/charts", "/sse-harness/stats.csv")
    with locust_ui(
        tmp_path, "--host", "http://127.0.0.1:9", "--web-base-path", "/x", "--web-login",
        script=script,
    ) as (_process, url):  # fmt: skip
        for route in ("/", *routes):
            with pytest.raises(urllib.error.HTTPError) as refused:
                opener.open(url + route)
            assert refused.value.code == 302, route
            assert "/x/login" in refused.value.headers["Location"], route
        opener.open(url + "/sign-in").close()
        answers = {route: opener.open(url + route) for route in routes}
        document = json.load(answers["/sse-harness/stats"])
        assert document["state"] == "ready" and document["rows"][-1]["name"] == TOTAL
        assert b"SSE streams: live" in answers["/sse-harness/charts"].read()
        assert answers["/sse-harness/stats.csv"].read().startswith(b"Name,Open streams,")
        with pytest.raises(urllib.error.HTTPError) as outside:  # nothing outside the base path
            opener.open(url.removesuffix("/x") + "/sse-harness/stats")
        assert outside.value.code == 404


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *_args: Any, **_kw: Any) -> None:
        return None


def test_live_points_hold_the_percentiles_of_their_own_tick_and_a_whole_second_rate() -> None:
    """A spike shows in the point of the tick it arrived in, not averaged away over the run;
    events/s counts only whole seconds every process has reported."""
    total, live = Metrics(), LiveFigures()

    def arrive(latencies_s: list[float], second: int, events: int) -> None:
        batch = Metrics()
        batch.histogram("latency").record_many(latencies_s)
        batch.events_per_s[second] = events
        batch.counters["events"] = events
        delta = batch.drain()
        total.absorb(delta)
        live.absorb(delta)

    arrive([0.001] * 1000, second=100, events=50)
    live.tick(101.5, total, endpoint="/e", open_streams=3, complete_to=100)
    arrive([0.5] * 10, second=101, events=500)  # the second not complete yet
    live.tick(101.9, total, endpoint="/e", open_streams=3, complete_to=100)
    calm, spike = live.history
    assert calm["latency_p99_ms"] == pytest.approx(1.0, rel=0.01)
    assert spike["latency_p50_ms"] == pytest.approx(500, rel=0.01)  # only the tick's own
    assert total.histograms["latency"].percentile_ms(50) == pytest.approx(1.0, rel=0.01)
    assert calm["events_per_s"] == spike["events_per_s"] == 50 / 5
    assert [row["name"] for row in live.rows] == ["/e", TOTAL]
    assert live.rows[1]["events"] == 550 and live.rows[1]["open_streams"] == 3
    assert live.document("running", since=101.5)["history"] == [spike]
