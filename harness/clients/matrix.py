"""Run the matrix: every selected client against every selected case, side by side.

Each client is a column with its own runner, working through the cases one cell at a time; the
columns run concurrently against one fuzzing server. A cell ends at the first of:

* the client ends by itself (it returned, raised, or closed after an error);
* the script has been served and nothing happened for :data:`QUIET_S` (no request, no write, no
  record), or for :data:`PATIENT_S` while events the case expects have not come yet (a client
  slowed down by a busy machine is not failed for it), unless the case counts requests and must
  watch for a late reconnect, or the cell runs an SDK's streaming call (or an MCP SDK's
  tools/call, answered by the server's MCP endpoint), which must return by itself;
* the case's bound.

A cell a column cannot be graded on (:func:`~harness.clients.grader.ungradable`) is not run.

The runner is then told to stop; one that does not confirm within :data:`GRACE_S` is killed and
restarted, and the cell is graded on what it observed. A client that hangs is graded, never
waited for.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from harness.clients import installs, node
from harness.clients.adapters import CLIENTS, ClientSpec
from harness.clients.catalog import select
from harness.clients.errors import Unavailable
from harness.clients.grader import CellGrade, grade_cell, ungradable
from harness.clients.launchers import Launcher, make_launcher
from harness.clients.model import ClientCase
from harness.clients.node import NodeClients
from harness.clients.observation import Observation
from harness.clients.server import FuzzServer
from harness.outcome import Outcome

__all__ = [
    "PATIENT_S",
    "QUIET_S",
    "ClientColumn",
    "MatrixResult",
    "Result",
    "Source",
    "run_columns",
    "run_matrix",
    "source",
]

#: Quiet time after the script is served before a cell ends: long enough for a client to
#: dispatch what it was sent, short against the 2 s and more that every client waits before an
#: unprompted reconnect.
QUIET_S = 0.4
#: The quiet time while expected events are still missing: what a client on a loaded machine
#: may need to dispatch what it was sent, without making a client that never will wait for the
#: case's whole bound.
PATIENT_S = 1.5
#: How long a runner gets to confirm a stop before it is killed.
GRACE_S = 5.0

Progress = Callable[[str, ClientCase, CellGrade], None]


@dataclass(frozen=True, slots=True)
class Result:
    client: str
    case: ClientCase
    outcome: Outcome
    notes: tuple[str, ...]
    observed: dict[str, object]
    #: The rule a deviation is pinned on, when not the case's first (see CellGrade).
    rule: str | None = None


Source = Literal["lock", "latest", "environment", "system"]
"""Where a column's client came from: ``lock``, a first-use install pinned by a lock shipped in
the package (npm's ``package-lock.json``, a hash-pinned requirements file); ``latest``, a
first-use install of the newest release (``--latest``); ``environment``, the harness's own
Python environment, whose versions the user installed (the ``peers`` extra); ``system``, the
machine's browser (Debian's package)."""


def source(spec: ClientSpec, latest: bool) -> Source:
    """Where ``spec``'s client comes from in this run: only what the matrix installs itself
    (a ``package``) can be pinned; what the user or the system installed is theirs to pin."""
    if spec.package is None:
        return "system" if spec.kind == "browser" else "environment"
    return "latest" if latest else "lock"


@dataclass(slots=True)
class ClientColumn:
    spec: ClientSpec
    source: Source
    version: str = ""
    #: Why the client could not run (its cells are UNIMPLEMENTED), or None.
    unavailable: str | None = None
    results: list[Result] = field(default_factory=list)

    def summary(self) -> dict[str, int]:
        counts = dict.fromkeys((o.value for o in Outcome), 0)
        for result in self.results:
            counts[result.outcome.value] += 1
        return counts

    @property
    def pinned(self) -> bool:
        """The client's code is what a lock shipped in the package names, hash for hash."""
        return self.source == "lock"


@dataclass(slots=True)
class MatrixResult:
    cases: list[ClientCase]
    columns: list[ClientColumn]
    started: float
    duration: float
    #: The first-use clients are the newest releases (``--latest``), not the pinned ones.
    latest: bool = False

    def summary(self) -> dict[str, dict[str, int]]:
        return {column.spec.name: column.summary() for column in self.columns}

    def column(self, name: str) -> ClientColumn:
        return next(c for c in self.columns if c.spec.name == name)


def run_matrix(
    clients: Sequence[str] | None,
    cases: str | None,
    progress: Progress | None = None,
    jobs: int = 1,
    latest: bool = False,
) -> MatrixResult:
    """Run ``clients`` (names from :data:`CLIENTS`; None for all) on the cases matching
    ``cases`` (see :func:`~harness.clients.catalog.select`). ``jobs`` and ``latest``: see
    :func:`run_columns`."""
    names = list(CLIENTS) if clients is None else list(clients)
    unknown = [n for n in names if n not in CLIENTS]
    if unknown:
        raise ValueError(f"unknown client(s) {', '.join(unknown)}; known: {', '.join(CLIENTS)}")
    selected = select(cases)
    specs = [CLIENTS[n] for n in names]
    return asyncio.run(run_columns(specs, selected, progress, jobs, latest))


async def run_columns(
    specs: Sequence[ClientSpec],
    cases: Sequence[ClientCase],
    progress: Progress | None = None,
    jobs: int = 1,
    latest: bool = False,
) -> MatrixResult:
    """The matrix for any client specs (tests pass their own), without writing reports.

    ``jobs`` runners per client work through its cases side by side (each cell still has its
    own runner and its own path on the server, so cells never see each other's requests).
    ``latest``: the first-use clients are the newest releases, installed apart from the pinned
    ones (:func:`harness.clients.node.prepare`, :func:`harness.clients.installs.pip_folder`).
    """
    if jobs < 1:
        raise ValueError("jobs must be >= 1")
    started = time.time()
    node_clients: NodeClients | None = None
    node_error: str | None = None
    if any(spec.needs_npm for spec in specs):
        try:
            node_clients = await node.prepare(latest)
        except Unavailable as exc:
            node_error = str(exc)
    async with FuzzServer() as server:
        columns = await asyncio.gather(
            *(
                _Column(spec, cases, server, node_clients, progress, latest).run(
                    jobs, node_error if spec.needs_npm else None
                )
                for spec in specs
            )
        )
    return MatrixResult(list(cases), list(columns), started, time.time() - started, latest)


class _Column:
    """One client's cases, worked through by one or more runners (lanes) in parallel."""

    def __init__(
        self,
        spec: ClientSpec,
        cases: Sequence[ClientCase],
        server: FuzzServer,
        node_clients: NodeClients | None,
        progress: Progress | None,
        latest: bool,
    ) -> None:
        self.spec = spec
        self.latest = latest
        self.cases = cases
        self.server = server
        self.node_clients = node_clients
        self.site: Path | None = None
        self.progress = progress
        self.results: dict[int, Result] = {}
        self._todo = iter(enumerate(cases))  # shared by the lanes: each case is taken once

    async def run(self, jobs: int, unavailable: str | None) -> ClientColumn:
        column = ClientColumn(self.spec, source(self.spec, self.latest), unavailable=unavailable)
        first: Launcher | None = None
        if unavailable is None and self.spec.kind == "python" and self.spec.package:
            try:
                self.site = await installs.pip_folder(self.spec.package, self.latest)
            except Unavailable as exc:
                column.unavailable = str(exc)
        if column.unavailable is None:
            first, column.unavailable = await self._start()
        if first is None:
            for i, case in self._todo:
                self._record(i, case, *_not_run(self.spec, column.unavailable, None))
        else:
            column.version = first.version
            extra = min(jobs, len(self.cases)) - 1
            others = await asyncio.gather(*(self._start() for _ in range(extra)))
            runners = [first, *(r for r, _ in others if r is not None)]
            await asyncio.gather(*(self._lane(runner) for runner in runners))
        column.results = [self.results[i] for i in range(len(self.cases))]
        return column

    async def _start(self) -> tuple[Launcher | None, str | None]:
        try:
            runner = make_launcher(self.spec, self.server, self.node_clients, self.site)
        except Unavailable as exc:
            return None, str(exc)
        try:
            await runner.start()
        except Unavailable as exc:
            await runner.close()
            return None, str(exc)
        return runner, None

    async def _lane(self, runner: Launcher | None) -> None:
        broken: str | None = None  # why a runner that had to be restarted could not be
        try:
            for i, case in self._todo:
                not_graded = ungradable(case, self.spec)
                if not_graded is not None:
                    self._record(i, case, not_graded, {})
                    continue
                if runner is None:
                    self._record(i, case, *_not_run(self.spec, None, broken))
                    continue
                obs = await _cell(runner, self.server, case, i + 1, self.spec.speaks(case))
                self._record(i, case, grade_cell(case, obs, self.spec), obs.to_json())
                if obs.hung or obs.ended.startswith("client crashed: runner exited"):
                    await runner.close()
                    runner, broken = await self._start()
        finally:
            if runner is not None:
                await runner.close()

    def _record(
        self, i: int, case: ClientCase, verdict: CellGrade, observed: dict[str, object]
    ) -> None:
        self.results[i] = Result(
            self.spec.name, case, verdict.outcome, verdict.notes, observed, verdict.rule
        )
        if self.progress is not None:
            self.progress(self.spec.name, case, verdict)


def _not_run(
    spec: ClientSpec, unavailable: str | None, broken: str | None
) -> tuple[CellGrade, dict[str, object]]:
    if broken is not None:
        why = f"the runner died and could not be restarted: {broken}"
        return CellGrade(Outcome.ERROR, (why,)), {}
    return CellGrade(Outcome.UNIMPLEMENTED, (f"{spec.name} is not available: {unavailable}",)), {}


async def _cell(
    runner: Launcher, server: FuzzServer, case: ClientCase, run: int, sdk: bool
) -> Observation:
    """Run one case on one client (through its SDK call with ``sdk``) and collect the evidence;
    see the module docstring for when the cell ends."""
    wake = asyncio.Event()
    cell = server.open_cell(case, mcp=sdk and case.mcp is not None)
    cell.wake = runner.wake = wake
    while not runner.records.empty():  # anything left over from an earlier, killed run
        runner.records.get_nowait()
    obs = Observation(case, cell.path, time.time())
    deadline = obs.started + case.bound
    await runner.run(run, server.url(cell), case.event_types(), sdk)
    last_record = obs.started
    try:
        while not obs.ended:
            while not runner.records.empty():
                record = runner.records.get_nowait()
                if record.get("run") != run:
                    continue
                if record["kind"] == "end":
                    obs.ended = f"client {record.get('how')}"
                    break
                if not isinstance(record.get("t"), int | float):  # a runner without a clock
                    record["t"] = time.time()
                obs.records.append(record)
                last_record = time.time()
            if obs.ended:
                break
            now = time.time()
            wait = deadline - now
            if wait <= 0:
                obs.ended = "bound"
                break
            if cell.script_done and not case.runs_to_bound and not sdk:
                missing = len(obs.kinds("event")) < len(case.expect.events or ())
                patience = PATIENT_S if missing else QUIET_S
                quiet = max(cell.last_activity, last_record) + patience - now
                if quiet <= 0:
                    obs.ended = "quiet"
                    break
                wait = min(wait, quiet)
            wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), wait)
        if not obs.ended.startswith("client"):
            obs.hung = not await _stop(runner, run)
    finally:
        runner.wake = None
        server.close_cell(cell)
        obs.requests = list(cell.requests)
        obs.served = list(cell.served)
        obs.duration = time.time() - obs.started
    return obs


async def _stop(runner: Launcher, run: int) -> bool:
    """Stop the run; True when the runner confirmed. Records after the stop are not evidence."""
    await runner.stop(run)
    try:
        async with asyncio.timeout(GRACE_S):
            while True:
                record = await runner.records.get()
                if record.get("run") == run and record["kind"] == "end":
                    return True
    except TimeoutError:
        return False
