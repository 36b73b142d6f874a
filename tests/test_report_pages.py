"""The report pages as a person sees them: opened offline in headless Chromium (Playwright driving
Debian's chromium), with no console errors, their content present, and a screenshot kept in
reports/screenshots/ as an artifact of the run."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.clients.browser import CHROMIUM_FLAGS
from harness.report.conformance import SEVERITY, verdict_line
from harness.report.load import load_verdict_line

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SCREENSHOTS = Path("reports") / "screenshots"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


def sse_harness(*args: str) -> None:
    """Run the command line as a user would (its own process, so its event loops are its own)."""
    subprocess.run([sys.executable, "-m", "harness", *args], check=True, timeout=120)


@pytest.fixture(scope="module")
def run_folder(
    reference_server_url: str, tmp_path_factory: pytest.TempPathFactory, lenient_thresholds: Path
) -> Path:
    folder = tmp_path_factory.mktemp("run")
    url = reference_server_url + "/counter?count=20&interval_ms=10"
    # These tests are about pages, not timing: a busy machine's latency cannot fail them.
    lenient = lenient_thresholds
    sse_harness("check", url, "--resumable", "--report-dir", str(folder), "--load-users", "20",
                "--load-seconds", "3", "--thresholds", str(lenient))  # fmt: skip
    cases = "client.lines.*,client.status.2*"
    sse_harness("clients", "--clients", "harness,httpx-sse", "--cases", cases,
                "--report-dir", str(folder), "-q")  # fmt: skip
    return folder


def open_page(browser: Any, path: Path) -> tuple[Any, list[str]]:
    page = browser.new_page(viewport={"width": 1300, "height": 1000})
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: None if r.url.startswith(("file:", "data:")) else errors.append(
        f"network request to {r.url}: pages must be self-contained"))  # fmt: skip
    page.goto(path.as_uri())
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{path.stem}.png"), full_page=False)
    return page, errors


def test_conformance_page(browser: Any, run_folder: Path) -> None:
    page, errors = open_page(browser, run_folder / "index.html")
    assert errors == []
    assert page.locator("#cases tr").count() > 40
    report = json.loads((run_folder / "conformance.json").read_text())
    assert page.locator("#verdict").inner_text() == verdict_line(report)  # the page opens with it
    shown = page.locator("#cases tr td:nth-child(2)").all_inner_texts()
    assert len(shown) == len(report["cases"]) and "OK" in shown
    assert shown == sorted(shown, key=SEVERITY.index) and shown[0] != "OK"  # failures first
    first = page.locator("#cases tr").nth(1)
    assert "Next step: " in first.inner_text()
    links = {a.inner_text(): a.get_attribute("href") for a in page.locator("nav a").all()}
    assert links == {"Conformance": "index.html", "Load": "load.html", "Clients": "clients.html"}
    page.close()


def test_load_page_has_its_plots(browser: Any, run_folder: Path) -> None:
    page, errors = open_page(browser, run_folder / "load.html")
    assert errors == []
    verdict = load_verdict_line(json.loads((run_folder / "load.json").read_text()))
    assert page.locator("#verdict").inner_text() == verdict
    assert page.locator("svg").count() >= 3  # latency, start and series plots (matplotlib)
    assert page.locator("svg text", has_text="percentile").count() >= 1
    page.close()


def test_clients_page(browser: Any, run_folder: Path) -> None:
    page, errors = open_page(browser, run_folder / "clients.html")
    assert errors == []
    assert page.locator("th.client").all_inner_texts() == ["harness", "httpx-sse"]
    assert page.locator("td.cell.FAILED").count() > 0  # httpx-sse's known deviations
    page.close()
