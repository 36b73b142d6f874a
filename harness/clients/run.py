"""The client instrument's one entry point: grade clients on the client cases, write the reports.

:func:`run_clients` is what ``sse-harness clients`` calls. Unknown client names and a ``--cases``
pattern that selects nothing are :class:`ValueError` before anything starts; a client that
cannot run (not installed) becomes an UNIMPLEMENTED column, named in
:attr:`ClientsResult.unavailable` so the caller can say so and fail when it was asked for by name.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from harness.clients.matrix import MatrixResult, Progress, run_matrix
from harness.clients.report import write_reports
from harness.outcome import Outcome

__all__ = ["ClientsOptions", "ClientsResult", "run_clients"]

#: Cells of the project's own client that mean a regression (a peer's are findings).
_REGRESSIONS = (Outcome.FAILED, Outcome.NON_STRICT, Outcome.ERROR)


@dataclass(frozen=True, slots=True)
class ClientsOptions:
    #: Client names (``harness.clients.adapters.CLIENTS``); None: every client.
    clients: Sequence[str] | None = None
    #: Comma-separated globs or prefixes of case ids (``harness.selection``); None: every case.
    cases: str | None = None
    report_dir: Path = field(default_factory=lambda: Path("reports") / "clients")
    #: Also write the matrix as Markdown here (``docs/clients.md`` is made this way).
    markdown: Path | None = None
    #: Runners per client working side by side (1 is the calmest for timing cases).
    jobs: int = 1
    progress: Progress | None = None
    #: Grade the newest releases of the first-use clients instead of the pinned ones.
    latest: bool = False


@dataclass(frozen=True, slots=True)
class ClientsResult:
    matrix: MatrixResult
    #: Clients that could not run, with the reason (their cells are UNIMPLEMENTED).
    unavailable: dict[str, str]

    @property
    def harness_regressed(self) -> bool:
        """The project's own client has a FAILED, NON-STRICT or ERROR cell."""
        own = [c for c in self.matrix.columns if c.spec.name == "harness"]
        return bool(own) and any(r.outcome in _REGRESSIONS for r in own[0].results)


def run_clients(options: ClientsOptions) -> ClientsResult:
    matrix = run_matrix(
        options.clients, options.cases, options.progress, options.jobs, options.latest
    )
    write_reports(matrix, options.report_dir)
    if options.markdown is not None:
        import json

        from harness.report.clients_markdown import render_markdown

        data = json.loads((options.report_dir / "clients.json").read_text(encoding="utf-8"))
        options.markdown.parent.mkdir(parents=True, exist_ok=True)
        options.markdown.write_text(render_markdown(data), encoding="utf-8")
    unavailable = {c.spec.name: c.unavailable for c in matrix.columns if c.unavailable}
    return ClientsResult(matrix, unavailable)
