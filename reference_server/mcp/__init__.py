"""MCP (Model Context Protocol) on the reference server, built with the official ``mcp`` SDK.

``/mcp`` is Streamable HTTP at every revision the SDK speaks (2025-03-26, 2025-06-18 and
2025-11-25 through initialize and sessions; 2026-07-28 as per-request POSTs), resumable through
an in-memory event store of each session's own, with priming events that carry ``retry: 100``.
``/mcp?fault=NAME`` is the same endpoint broken on purpose, one MCP rule per fault
(:data:`MCP_FAULTS`, also ``GET /faults/mcp``). ``/mcp-legacy/sse`` is the 2024-11-05 HTTP+SSE
transport, and ``?fault=NAME`` there picks one of the faults the catalogue serves on it.
Modules: ``server`` (the SDK server, its tools, the session manager), ``event_store``,
``wire`` (ASGI rewrites), ``faults`` (the catalogue), ``service`` (routes and lifespan).
"""

from reference_server.mcp.faults import MCP_FAULTS, McpFault, mcp_fault_catalogue
from reference_server.mcp.service import McpService

__all__ = ["MCP_FAULTS", "McpFault", "McpService", "mcp_fault_catalogue"]
