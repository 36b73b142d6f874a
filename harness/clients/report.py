"""``clients.json``: the client matrix as data for tools (and, through publish, a page).

The JSON shape is a contract (DESIGN.md "Report shapes"): ``schema_version``, ``clients`` (name,
version), ``cases`` (id, rules, title), ``results`` (client, case, outcome, expected, observed);
it adds a summary per client, each case's wire script and expectations (the events, and for an
LLM or MCP case what an SDK's user must get), and each result's notes and ``rule`` (the rule its
outcome is pinned on). A Node client's version names the Node it ran on; an MCP SDK's, the SSE
decoder inside it. In an MCP cell each request also has its ``role`` and a POST its ``body``.

Each client also says where its code came from: ``source`` (:data:`~harness.clients.matrix.Source`:
``lock``, ``latest``, ``environment`` or ``system``) and ``pinned`` (``source == "lock"``: a lock
shipped in the package names the version and its hash). ``latest`` at the top is True for a
``--latest`` run, which grades the newest releases instead of the pinned ones. The page is
rendered from this JSON by :mod:`harness.report.clients`.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.clients.grader import expected_json
from harness.clients.model import ClientCase
from harness.outcome import escape_bytes
from harness.report.pages import publish

if TYPE_CHECKING:
    from harness.clients.matrix import MatrixResult

__all__ = ["SCHEMA_VERSION", "to_json", "write_reports"]

SCHEMA_VERSION = 1


def _script(case: ClientCase) -> list[dict[str, Any]]:
    return [
        {
            "status": r.status,
            "headers": [[k, v] for k, v in r.headers],
            "body": [{"delay_s": c.delay, "bytes": escape_bytes(c.data)} for c in r.body],
            "end": r.end,
        }
        for r in case.responses
    ]


def to_json(result: MatrixResult) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "started": datetime.fromtimestamp(result.started, UTC).isoformat(),
        "duration_s": round(result.duration, 2),
        "latest": result.latest,
        "summary": result.summary(),
        "clients": [
            {
                "name": c.spec.name,
                "version": c.version,
                "kind": c.spec.kind,
                "available": c.unavailable is None,
                "reason": c.unavailable,
                "source": c.source,
                "pinned": c.pinned,
            }
            for c in result.columns
        ],
        "cases": [
            {
                "id": case.id,
                "title": case.title,
                "rules": list(case.rules),
                "level": case.level.value,
                "informational": case.informational,
                "bound_s": case.bound,
                "script": _script(case),
                "expected": expected_json(case),
                "sdk_expected": (
                    None if case.sdk is None and case.mcp is None else expected_json(case, sdk=True)
                ),
            }
            for case in result.cases
        ],
        "results": [
            {
                "client": r.client,
                "case": r.case.id,
                "outcome": r.outcome.value,
                "expected": expected_json(r.case, column.spec.speaks(r.case)),
                "observed": r.observed,
                "notes": list(r.notes),
                "rule": r.rule or r.case.rules[0],
            }
            for column in result.columns
            for r in column.results
        ],
    }


def write_reports(result: MatrixResult, report_dir: Path) -> tuple[Path, Path]:
    """Write ``clients.json`` into ``report_dir`` (created if missing) and publish its pages."""
    report_dir.mkdir(parents=True, exist_ok=True)
    json_path = report_dir / "clients.json"
    data = to_json(result)
    json_path.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    publish(report_dir)
    return json_path, report_dir / "clients.html"
