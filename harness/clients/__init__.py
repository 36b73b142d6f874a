"""Client conformance: the fuzzing server serves tricky streams, every client is graded on them.

The third instrument (DESIGN.md): a catalog of client cases (:mod:`.catalog`, with the LLM token
streams of :mod:`.llm_cases` and the MCP tool calls of :mod:`.mcp_cases`: exact bytes, chunk
boundaries, delays, statuses and headers, each with the observation a conforming EventSource
makes, and what an LLM or MCP SDK's user must get), a fuzzing server that serves them byte for
byte (:mod:`.server`; its MCP endpoint, :mod:`.mcp_endpoint`, answers an MCP SDK), one runner per
client library, SDK or browser (:mod:`.adapters`, ``js/``, started by :mod:`.launchers`), one
grader (:mod:`.grader`, :mod:`.mcp_grader` for an MCP SDK's tools/call) and one matrix of
clients by cases (:mod:`.matrix`), written as ``clients.json`` (:mod:`.report`) and rendered by
:mod:`harness.report.clients` (page) and :mod:`harness.report.clients_markdown`.
:func:`run_clients` with :class:`ClientsOptions` is the one entry point; ``sse-harness clients``
(:mod:`harness.commands.clients`) calls it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harness.clients.run import ClientsOptions, ClientsResult, run_clients

__all__ = ["ClientsOptions", "ClientsResult", "run_clients"]


def __getattr__(name: str) -> Any:
    # Loaded on first use: the client workers import this package and must start fast.
    if name in __all__:
        from harness.clients import run

        return getattr(run, name)
    raise AttributeError(f"module 'harness.clients' has no attribute {name!r}")
