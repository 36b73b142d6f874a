"""Every server case as a pytest test, with the verdict ``check``'s JUnit file gives it.

The cases of the run's profile (``--sse-profile``) run once per session against ``sse_target``
(``--sse-url`` or the reference server); each test then reads its own result, so a CI page
lists one line per case id. The result is
fetched in a fixture so that ERROR (the harness could not run the case) is a pytest error; the
test turns the other outcomes into pass, skip, warning or failure (``harness.pytest_plugin``).
"""

from __future__ import annotations

from typing import Any

import pytest

from harness.pytest_plugin import case_result, judge_case


@pytest.fixture
def case(case_id: str, sse_conformance: dict[str, Any]) -> dict[str, Any]:
    return case_result(sse_conformance, case_id)


@pytest.mark.sse_cases  # one test per case of the run's profile (harness.pytest_plugin)
def test_case(case: dict[str, Any], pytestconfig: pytest.Config) -> None:
    judge_case(case, strict=pytestconfig.getoption("--sse-strict"))
