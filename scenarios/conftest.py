"""Shared settings of the conformance scenarios: a fixed seed and enough examples for CI.

The seed (``SSE_HARNESS_SEED``) and the example count (``SSE_HARNESS_EXAMPLES``) are defined
once, in the plugin, which prints them in the report header, so a failure can be replayed;
Hypothesis prints the shrunk script it failed on.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, settings

from harness.pytest_plugin import scenario_examples
from harness.server.target import Target

#: Where the scripted scenarios come from, said in every skip that lacks it.
CONTRACT_HOW = (
    "mount app.include_router(harness.contract.make_router()) in the app, or pass"
    " --sse-contract BASE_URL where the contract is mounted, and --sse-contract-token TOKEN (or"
    " SSE_HARNESS_CONTRACT_TOKEN) if it is locked"
)


def pytest_configure(config: pytest.Config) -> None:
    """Register the profile at configure time, after the plugin has checked the variables; a
    profile chosen on the command line (``--hypothesis-profile``) still wins."""
    settings.register_profile(
        "sse-scenarios",
        max_examples=scenario_examples(),
        deadline=None,
        print_blob=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    if not config.getoption("hypothesis_profile", None):
        settings.load_profile("sse-scenarios")


@pytest.fixture(scope="session")
def scripted(sse_target: Target) -> Target:
    """The target, if it speaks the scripting contract; scenarios need it to generate streams."""
    import asyncio

    import aiohttp

    from harness.server.cases.context import Context

    async def probe() -> bool:
        async with aiohttp.ClientSession() as session:
            return await Context(sse_target, session).contract() is not None

    if not asyncio.run(probe()):
        where = sse_target.contract_base or "the target (--sse-contract '')"
        pytest.skip(f"needs the scripting contract, which {where} does not offer: {CONTRACT_HOW}")
    return sse_target
