"""``GET /faults``: the fault modes this server can inject, with the rule each one breaks."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from reference_server.faults import fault_catalogue

__all__ = ["router"]

router = APIRouter(tags=["faults"])


@router.get("/faults")
async def faults() -> list[dict[str, Any]]:
    """Every fault: ``name``, ``rule`` (SPEC.md id), ``level``, ``layers``, ``description``.

    Select one per request with ``?fault=NAME`` or ``X-SSE-Fault: NAME`` on any stream.
    """
    return fault_catalogue()
