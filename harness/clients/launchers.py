"""The matrix's side of a client runner: start it, send it commands, collect its records.

Two transports carry the one protocol (:mod:`.protocol`): a pipe to a process (Python worker,
Node runner) and the fuzzing server's control channel to a browser page. Every runner is started
in its own process group and killed as a group, so a client that hangs, and anything it forked,
goes with it.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import shutil
import signal
import sys
import tempfile
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any

from harness.clients import browser
from harness.clients.adapters import ClientSpec
from harness.clients.errors import Unavailable
from harness.clients.node import NodeClients
from harness.clients.protocol import Record, decode
from harness.clients.server import FuzzServer

__all__ = ["Launcher", "PageLauncher", "PipeLauncher", "make_launcher"]

_STDERR_TAIL = 4096
#: How long a browser page's long poll is held before it answers "idle" and is polled again.
_POLL_S = 10.0
_pages = itertools.count(1)


class Launcher(ABC):
    """A started client runner. Records arrive in :attr:`records`; :attr:`wake`, when set by the
    matrix, is set on each one so a waiting cell re-checks its end conditions."""

    startup_s = 30.0

    def __init__(self, spec: ClientSpec) -> None:
        self.spec = spec
        self.version = ""
        self.records: asyncio.Queue[Record] = asyncio.Queue()
        self.wake: asyncio.Event | None = None
        self.current_run = 0
        self._stderr = bytearray()
        self._process: asyncio.subprocess.Process | None = None
        self._tasks: list[asyncio.Task[None]] = []

    def push(self, record: Record) -> None:
        self.records.put_nowait(record)
        if self.wake is not None:
            self.wake.set()

    @property
    def stderr_tail(self) -> str:
        return self._stderr.decode("utf-8", "replace").strip()

    async def run(self, run: int, url: str, types: list[str], sdk: bool) -> None:
        self.current_run = run
        await self.send({"op": "run", "run": run, "url": url, "types": types, "sdk": sdk})

    async def stop(self, run: int) -> None:
        await self.send({"op": "stop", "run": run})

    @abstractmethod
    async def start(self) -> None:
        """Start the runner and wait for its hello; raise :class:`Unavailable` if it can't."""

    @abstractmethod
    async def send(self, command: dict[str, Any]) -> None: ...

    async def close(self) -> None:
        """Kill the runner (and whatever it started) and free what it holds."""
        if self._process is not None:
            await _kill_group(self._process)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _hello(self) -> None:
        try:
            record = await asyncio.wait_for(self.records.get(), self.startup_s)
        except TimeoutError:
            raise Unavailable(
                f"{self.spec.name} runner did not start within {self.startup_s:.0f} s{self._why()}"
            ) from None
        if record["kind"] == "unavailable":
            raise Unavailable(f"{record.get('reason')} ({self.spec.install})")
        if record["kind"] != "hello":
            raise Unavailable(f"{self.spec.name} runner failed to start{self._why()}")
        self.version = self.version or str(record.get("version", ""))

    def _why(self) -> str:
        return f": {self.stderr_tail[-600:]}" if self.stderr_tail else ""

    async def _drain_stderr(self, stream: asyncio.StreamReader) -> None:
        """Keep the tail of stderr, for the reason when a runner dies or won't start."""
        while chunk := await stream.read(4096):
            self._stderr += chunk
            del self._stderr[:-_STDERR_TAIL]


async def _kill_group(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
    await process.wait()


class PipeLauncher(Launcher):
    """A process that reads commands on stdin and writes records on stdout."""

    def __init__(
        self,
        spec: ClientSpec,
        argv: list[str],
        cwd: Path | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        super().__init__(spec)
        self.argv = argv
        self.cwd = cwd
        self.env = env

    async def start(self) -> None:
        try:
            self._process = process = await asyncio.create_subprocess_exec(
                *self.argv,
                cwd=self.cwd,
                env=self.env,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                start_new_session=True,
                limit=1 << 24,
            )
        except OSError as exc:
            raise Unavailable(f"cannot start {self.argv[0]}: {exc}") from exc
        assert process.stdout is not None and process.stderr is not None
        self._tasks = [
            asyncio.create_task(self._read(process.stdout)),
            asyncio.create_task(self._drain_stderr(process.stderr)),
        ]
        await self._hello()

    async def _read(self, stdout: asyncio.StreamReader) -> None:
        async for line in stdout:
            record = decode(line)
            if record is not None:
                self.push(record)
        # The runner died: whatever run was going on is over.
        self.push(
            {"kind": "end", "run": self.current_run, "how": f"crashed: runner exited{self._why()}"}
        )

    async def send(self, command: dict[str, Any]) -> None:
        assert self._process is not None and self._process.stdin is not None
        with contextlib.suppress(ConnectionError):  # a dead runner is reported by _read
            self._process.stdin.write(json.dumps(command).encode() + b"\n")
            await self._process.stdin.drain()


class PageLauncher(Launcher):
    """A browser on the runner page, talking over the fuzzing server's control channel.

    The page drives the browser's native EventSource, or, for a spec with a ``package``, that
    npm library, which the fuzzing server serves to the page from the Node clients' folder.
    """

    startup_s = 60.0

    def __init__(self, spec: ClientSpec, server: FuzzServer, library: Path | None) -> None:
        super().__init__(spec)
        self.server = server
        self.library = library
        # A fresh channel per page, so a dying page can never take a command meant for the next.
        self.column = f"{spec.name}-{next(_pages)}"
        self._commands: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._profile: Path | None = None

    async def start(self) -> None:
        path = browser.executable(self.spec)
        self.version = await browser.version(path)
        self.server.add_control(self.column, self._control)
        self._profile = Path(tempfile.mkdtemp(prefix=f"sse-harness-{self.spec.name}-"))
        url = f"{self.server.base}/page/{self.column}"
        if self.spec.package and self.library:
            manifest = json.loads((self.library / "package.json").read_text(encoding="utf-8"))
            route = f"/npm/{self.spec.package}"
            self.server.add_file(route, self.library / manifest["main"], "text/javascript")
            self.version = f"{manifest['version']} ({self.version})"
            url += f"?driver={self.spec.package}"
        command = browser.argv(self.spec, path, url, self._profile)
        setpriv = shutil.which("setpriv")
        if setpriv is not None:  # the browser dies with the matrix, even one killed outright
            command = [setpriv, "--pdeathsig", "KILL", "--", *command]
        self._process = process = await asyncio.create_subprocess_exec(
            *command,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,
        )
        assert process.stderr is not None
        self._tasks = [asyncio.create_task(self._drain_stderr(process.stderr))]
        await self._hello()

    async def _control(self, verb: str, method: str, body: bytes) -> tuple[int, bytes]:
        if verb == "next":
            try:
                command = await asyncio.wait_for(self._commands.get(), _POLL_S)
            except TimeoutError:
                command = {"op": "idle"}
            return 200, json.dumps(command).encode()
        if verb == "report" and method == "POST":
            records = json.loads(body)
            for record in records if isinstance(records, list) else []:
                if isinstance(record, dict) and isinstance(record.get("kind"), str):
                    self.push(record)
            return 200, b"{}"
        return 404, b"{}"

    async def send(self, command: dict[str, Any]) -> None:
        self._commands.put_nowait(command)

    async def close(self) -> None:
        await super().close()
        if self._profile is not None:
            shutil.rmtree(self._profile, ignore_errors=True)


def make_launcher(
    spec: ClientSpec, server: FuzzServer, node: NodeClients | None, site: Path | None
) -> Launcher:
    """The runner for ``spec``: ``node`` is what :func:`harness.clients.node.prepare` installed
    (for Node runners and page libraries), ``site`` the folder of a Python client installed
    apart (:func:`harness.clients.installs.pip_folder`), put first on its worker's path."""
    if spec.needs_npm and node is None:
        raise Unavailable("Node clients were not prepared")
    if spec.kind == "python":
        argv = [sys.executable, "-m", "harness.clients.worker", spec.target]
        if site is None:
            return PipeLauncher(spec, argv)
        path = os.pathsep.join(p for p in (str(site), os.environ.get("PYTHONPATH")) if p)
        return PipeLauncher(spec, argv, env={**os.environ, "PYTHONPATH": path})
    if spec.kind == "node":
        assert node is not None and spec.package is not None
        argv = [node.node, str(node.root / spec.target), spec.package]
        return PipeLauncher(spec, argv, cwd=node.root)
    library = node.package_dir(spec.package) if node and spec.package else None
    return PageLauncher(spec, server, library)
