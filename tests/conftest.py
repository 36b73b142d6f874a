"""Shared fixtures: reference servers under real uvicorn on loopback ports, and wire readers.

``installed`` is the project as a user has it: the wheel, built once per session, installed into a
fresh virtualenv, and ``run_installed`` runs a command of it from any folder.

``reference_server_url`` is one server for the whole session, with the fast settings below (every
interval a few milliseconds, every bound small), so that tests finish quickly and never wait on
a clock. Tests that must see a whole server's state (live streams, task count) or need other
settings start their own with ``serve_reference(**overrides)``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import subprocess
import sys
import sysconfig
import time
import venv
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from multidict import CIMultiDictProxy

from harness.stream import Event, Parser, Violation
from reference_server.app import create_app
from reference_server.launch import serve_in_thread
from reference_server.settings import Settings

FAST_SETTINGS = Settings(
    char_interval_s=0.002,
    echo_interval_s=0.005,
    max_stream_s=30.0,
    shutdown_grace_s=0.5,
    slow_first_byte_s=0.3,
    leak_linger_s=1.0,
    chat_tokens=8,
    chat_tokens_per_s=2000.0,
    script_max_delay_s=5.0,
)


@pytest.fixture(scope="session")
def reference_server_url() -> Iterator[str]:
    """Base URL of a reference server (``FAST_SETTINGS``) shared by the whole session."""
    with serve_in_thread(create_app(FAST_SETTINGS)) as url:
        yield url


@pytest.fixture
async def serve_aiohttp() -> AsyncIterator[Callable[[web.Application], Awaitable[str]]]:
    """``await serve_aiohttp(app) -> base URL``: an aiohttp app on a free loopback port, in the
    test's own event loop, cleaned up after the test."""
    runners: list[web.AppRunner] = []

    async def start(app: web.Application) -> str:
        runner = web.AppRunner(app)
        await runner.setup()
        runners.append(runner)
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        host, port = runner.addresses[0][:2]
        return f"http://{host}:{port}"

    yield start
    for runner in runners:
        await runner.cleanup()


@pytest.fixture
def serve_reference() -> Iterator[Callable[..., str]]:
    """``serve_reference(**overrides) -> url``: a server of one's own, stopped after the test."""
    with ExitStack() as stack:

        def start(**overrides: Any) -> str:
            settings = dataclasses.replace(FAST_SETTINGS, **overrides)
            return stack.enter_context(serve_in_thread(create_app(settings)))

        yield start


@dataclass
class Wire:
    """One response as it arrived: status, headers, body, and when each chunk came."""

    status: int
    headers: CIMultiDictProxy[str]
    body: bytes
    #: (seconds since the request was sent, bytes) per chunk read.
    chunks: list[tuple[float, bytes]]
    headers_after_s: float
    #: The error that ended the body early, if any (e.g. an aborted connection).
    error: BaseException | None = None

    def parse(self) -> tuple[list[Event], list[Violation]]:
        """Events a conforming client dispatches, and the producer-rule breaches seen."""
        parser = Parser(validate=True)
        events = parser.feed(self.body)
        parser.close()
        return events, parser.violations

    @property
    def events(self) -> list[Event]:
        return self.parse()[0]

    @property
    def rules_broken(self) -> set[str]:
        return {v.rule for v in self.parse()[1]}


Fetch = Callable[..., Awaitable[Wire]]


async def _fetch(
    url: str,
    *,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    json: Any = None,
    data: bytes | None = None,
    decompress: bool = True,
    max_chunks: int | None = None,
    timeout_s: float = 10.0,
) -> Wire:
    """Read a response to its end (or ``max_chunks`` chunks), recording chunk arrival times."""
    timeout = aiohttp.ClientTimeout(total=timeout_s)
    async with aiohttp.ClientSession(auto_decompress=decompress, timeout=timeout) as session:
        started = time.monotonic()
        async with session.request(method, url, headers=headers, json=json, data=data) as response:
            wire = Wire(response.status, response.headers, b"", [], time.monotonic() - started)
            try:
                while max_chunks is None or len(wire.chunks) < max_chunks:
                    chunk = await response.content.readany()
                    if not chunk:
                        break
                    wire.chunks.append((time.monotonic() - started, chunk))
            except aiohttp.ClientPayloadError as error:
                wire.error = error
            wire.body = b"".join(chunk for _, chunk in wire.chunks)
            return wire


@pytest.fixture
def fetch() -> Fetch:
    """``await fetch(url, method=, headers=, json=, data=, decompress=, max_chunks=)`` -> Wire."""
    return _fetch


Observe = Callable[..., Awaitable[dict[str, Any]]]


async def _observe(
    base: str, stream_id: str | int, *, finished: bool = True, timeout_s: float = 5.0
) -> dict[str, Any]:
    """The record of a stream, polled until it has ended when ``finished`` (bounded)."""
    deadline = time.monotonic() + timeout_s
    async with aiohttp.ClientSession() as session:
        while True:
            async with session.get(f"{base}/_observe/streams/{stream_id}") as response:
                record: dict[str, Any] = await response.json() if response.status == 200 else {}
            if record and (not finished or record["ended"] is not None):
                return record
            if time.monotonic() > deadline:
                raise AssertionError(f"stream {stream_id} did not end in {timeout_s} s: {record}")
            await asyncio.sleep(0.01)


@pytest.fixture
def observe() -> Observe:
    """``await observe(base, stream_id, finished=True)`` -> the stream's observation record."""
    return _observe


ROOT = Path(__file__).resolve().parents[1]
#: The installed tool runs a command (a check with its load probe, a pytest run) in this time.
INSTALLED_TIMEOUT_S = 240
RunInstalled = Callable[..., "subprocess.CompletedProcess[str]"]


@pytest.fixture(scope="session")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(out), str(ROOT)],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    (built,) = out.glob("sse_harness-*.whl")
    return built


@pytest.fixture(scope="session")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bin folder of a virtualenv that holds the wheel.

    The dependencies come from the environment that runs these tests (installing locust,
    matplotlib and the rest again would only time the network): its site-packages folders are put
    on the new environment's path, after the environment's own. Not ``system_site_packages=True``:
    from inside a virtualenv that means the base interpreter's packages, which a user who
    installed the project into a virtualenv does not have. The project itself comes from the
    wheel alone (``tests/test_installed.py`` proves it).
    """
    env = tmp_path_factory.mktemp("venv")
    venv.EnvBuilder(with_pip=False).create(env)
    bin_dir = env / "bin"
    python = bin_dir / "python"
    site_packages = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True, env=_without_pythonpath(),
    ).stdout.strip()  # fmt: skip
    running = dict.fromkeys(sysconfig.get_paths()[key] for key in ("purelib", "platlib"))
    (Path(site_packages) / "_running_environment.pth").write_text("\n".join(running) + "\n")
    # --ignore-installed: the running environment's own sse-harness (an editable checkout) is on
    # the path too, and pip would call the wheel "already satisfied" by it.
    subprocess.run(
        [str(python), "-m", "pip", "install", "--no-deps", "--ignore-installed", "-q", str(wheel)],
        check=True, capture_output=True, text=True, env=_without_pythonpath(),
    )  # fmt: skip
    return bin_dir


def _without_pythonpath() -> dict[str, str]:
    """The environment, less PYTHONPATH: what the installed tool imports comes from its own
    virtualenv, never from a folder the test run put first."""
    return {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}


@pytest.fixture
def run_installed(installed: Path) -> RunInstalled:
    """``run_installed(cwd, "sse-harness", "check", ..., env={...})``: a command of the installed
    tool (or any program, found on a PATH that starts with the virtualenv's), from ``cwd``."""

    def run(
        cwd: Path, *command: str, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        environment = _without_pythonpath()
        environment["PATH"] = f"{installed}{os.pathsep}{environment['PATH']}"
        own = installed / command[0]
        return subprocess.run(
            [str(own) if own.exists() else command[0], *command[1:]],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=INSTALLED_TIMEOUT_S,
            env={**environment, **(env or {})},
        )

    return run


#: Thresholds for tests about what a command does, not how fast a busy machine is: every timing
#: check of the shipped defaults switched off (they merge under a user's file), the integrity
#: checks (lost, duplicated, error rate, at least one event) kept.
LENIENT_THRESHOLDS = """\
[load]
min_events = 1
cpu_warning = false
ttfe_p99_ms = false
gap_p99_ms = false
latency_p99_ms = false
lateness_p99_ms = false
calibration_p99_ms = false
mcp_priming_p99_ms = false
mcp_result_p99_ms = false
mcp_resume_wait_p99_ms = false
mcp_replay_p99_ms = false
"""


@pytest.fixture(scope="session")
def lenient_thresholds(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A thresholds file of :data:`LENIENT_THRESHOLDS`."""
    path = tmp_path_factory.mktemp("thresholds") / "lenient.toml"
    path.write_text(LENIENT_THRESHOLDS, encoding="utf-8")
    return path
