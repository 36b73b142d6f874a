"""Every server case as a pytest test: FAILED and ERROR fail it; the rest pass with their finding.

The cases run once per session against ``sse_target`` (``--sse-url`` or the reference server);
each test then reads its own result, so a CI page lists one line per case id.
"""

from __future__ import annotations

from typing import Any

import pytest

from harness.server.cases import load_catalog


@pytest.mark.parametrize("case_id", list(load_catalog()))
def test_case(case_id: str, sse_conformance: dict[str, Any]) -> None:
    result = next(c for c in sse_conformance["cases"] if c["id"] == case_id)
    evidence = result["evidence"]
    rules = "; ".join(f"{r['id']} ({r['level']}): {r['text']}" for r in evidence["rules"])
    detail = f"{result['outcome']}: {evidence['observed']}\n{rules}"
    if evidence["excerpt"]:
        detail += f"\nbytes: {evidence['excerpt']}"
    assert result["outcome"] not in ("FAILED", "ERROR"), detail
