"""The server instrument: grade any SSE endpoint against the standard's producer rules.

A :class:`Target` says what to request; :func:`run_check` runs the numbered cases
(:mod:`.cases`) over bounded wire captures (:mod:`.probe`), grades them (:mod:`.runner`) and
writes ``conformance.json``, ``junit.xml`` and the page. :mod:`.killmatrix` proves every check
against the reference server's faults. Nothing is imported here beyond the names below.
"""

from __future__ import annotations

from harness.server.check import CheckOptions, CheckResult, run_check
from harness.server.probe import Window
from harness.server.target import Target, request_target

__all__ = ["CheckOptions", "CheckResult", "Target", "Window", "request_target", "run_check"]
