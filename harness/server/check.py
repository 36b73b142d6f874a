"""The server instrument's one entry point: grade a target and write its reports.

:func:`run_check` is what ``sse-harness check`` and the pytest plugin call; both build a
:class:`CheckOptions` and read a :class:`CheckResult`. It writes ``conformance.json`` and
``junit.xml`` itself and asks :func:`harness.report.pages.publish` for the pages, so a run
interrupted by Ctrl-C still leaves its report (the unfinished cases as ERROR). The report is
redacted (:func:`target_redactor`) before anything sees it: no credential of the request reaches
a file, a page or the caller's printout, while the wire keeps the real values.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.redact import Redactor
from harness.report.conformance import junit_xml
from harness.report.pages import new_run_folder, publish
from harness.server.cases import load_catalog, select
from harness.server.probe import Window
from harness.server.runner import CaseResult, run_cases
from harness.server.target import Target

__all__ = [
    "HEAD_CASES",
    "CheckOptions",
    "CheckResult",
    "run_check",
    "target_redactor",
    "write_conformance",
]

#: The cases that grade a response's head: all that is worth running against a target that is
#: not an event stream (a 404, a JSON route), where every other case would only add noise.
HEAD_CASES = ("server.status.1", "server.headers.1")


@dataclass(frozen=True, slots=True)
class CheckOptions:
    """What to grade and how much of the stream to read."""

    target: Target
    #: Comma-separated globs or prefixes of case ids (``harness.selection``); None: every case.
    cases: str | None = None
    window: Window = field(default_factory=Window)
    #: Longest silence tolerated before a keep-alive comment is due (S-16).
    keepalive_bound_s: float = 20.0
    #: Where the reports go; None: a new ``reports/<time>/`` folder.
    report_dir: Path | None = None
    #: False: write nothing (the pytest plugin only wants the dictionary).
    write: bool = True
    concurrency: int = 4
    on_result: Callable[[CaseResult], None] | None = None
    #: Why the target's answer is not an event stream (``harness.commands.reach``); when set,
    #: only the selected :data:`HEAD_CASES` run and the report says why.
    not_a_stream: str | None = None
    #: More header names whose values are secrets (``--redact-header``), beyond the usual ones.
    redact_headers: tuple[str, ...] = ()


def target_redactor(target: Target, names: Sequence[str] = ()) -> Redactor:
    """What must not be written or printed of a run against ``target``: its secret headers
    (``names`` adds to the usual ones), its URL's credentials and the contract token."""
    return Redactor.for_request(
        target.url, target.headers, names=names, secrets=[target.contract_token]
    )


@dataclass(frozen=True, slots=True)
class CheckResult:
    #: The ``conformance.json`` document.
    report: dict[str, Any]
    #: The run folder (None when nothing was written).
    directory: Path | None
    #: Ctrl-C ended the run before every case finished.
    interrupted: bool

    @property
    def passed(self) -> bool:
        """Nothing FAILED and nothing the harness could not run."""
        summary = self.report["summary"]
        return not (summary["FAILED"] or summary["ERROR"])

    @property
    def page(self) -> Path | None:
        return None if self.directory is None else self.directory / "index.html"


def run_check(options: CheckOptions) -> CheckResult:
    """Run the selected cases (``NoCaseMatched`` before any connection when none is selected)."""
    pattern = options.cases
    if options.not_a_stream is not None:
        load_catalog()
        chosen = {case.id for case in select(pattern)}
        pattern = ",".join(c for c in HEAD_CASES if c in chosen) or ",".join(HEAD_CASES)
    run = asyncio.run(
        run_cases(
            options.target,
            pattern=pattern,
            window=options.window,
            keepalive_bound_s=options.keepalive_bound_s,
            concurrency=options.concurrency,
            on_result=options.on_result,
        )
    )
    report = run.as_json()
    if options.not_a_stream is not None:
        report["not_an_event_stream"] = options.not_a_stream
    report = target_redactor(options.target, options.redact_headers).report(report)
    directory = None
    if options.write:
        directory = options.report_dir or new_run_folder()
        write_conformance(report, directory)
    return CheckResult(report, directory, run.interrupted)


def write_conformance(
    report: dict[str, Any], directory: Path, kill_matrix: list[dict[str, Any]] | None = None
) -> list[Path]:
    """Write conformance.json and junit.xml into ``directory``, then (re)publish its pages.

    Returns the JSON, the JUnit file and the conformance page (``index.html``).
    """
    directory.mkdir(parents=True, exist_ok=True)
    data = dict(report, kill_matrix=kill_matrix) if kill_matrix is not None else report
    json_path, junit_path = directory / "conformance.json", directory / "junit.xml"
    json_path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    junit_path.write_bytes(junit_xml(report))
    publish(directory)
    return [json_path, junit_path, directory / "index.html"]
