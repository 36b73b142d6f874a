"""Server conformance cases: one module per concern, all registered in one catalog.

Importing a module registers its cases (``harness.server.cases.model.case``); :func:`load_catalog`
imports them all, in the order reports list them.
"""

from __future__ import annotations

import importlib

from harness.server.cases.model import CATALOG, Case, Finding, Need, case, select

__all__ = ["CATALOG", "MODULES", "Case", "Finding", "Need", "case", "load_catalog", "select"]

MODULES = ("headers", "framing", "timing", "ids", "http", "lifecycle", "scripted", "mcp")


def load_catalog() -> dict[str, Case]:
    for name in MODULES:
        importlib.import_module(f"harness.server.cases.{name}")
    return CATALOG
