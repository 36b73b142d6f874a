"""Shared settings of the conformance scenarios: a fixed seed and enough examples for CI.

The seed comes from ``SSE_HARNESS_SEED`` (default below) and is printed in the report header,
so a failure can be replayed; Hypothesis prints the shrunk script it failed on.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

SEED = int(os.environ.get("SSE_HARNESS_SEED", "20261121"))
EXAMPLES = int(os.environ.get("SSE_HARNESS_EXAMPLES", "100"))

settings.register_profile(
    "sse-scenarios",
    max_examples=EXAMPLES,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
settings.load_profile("sse-scenarios")


def pytest_report_header() -> str:
    return f"sse-harness scenarios: seed {SEED} (SSE_HARNESS_SEED), {EXAMPLES} examples"


@pytest.fixture(scope="session")
def scripted(sse_target):  # type: ignore[no-untyped-def]
    """The target, if it speaks the scripting contract; scenarios need it to generate streams."""
    import asyncio

    import aiohttp

    from harness.server.cases.context import Context

    async def probe() -> bool:
        async with aiohttp.ClientSession() as session:
            return await Context(sse_target, session).contract() is not None

    if not asyncio.run(probe()):
        pytest.skip(f"{sse_target.contract_base} does not speak the scripting contract")
    return sse_target
