"""One run folder, one set of pages: every HTML page is rendered from its JSON.

An instrument writes its JSON and calls :func:`publish`, which renders every page whose JSON is
in the folder, each with a navigation bar naming the others. So ``index.html`` links the load and
client pages once they exist, and ``sse-harness report DIR`` rebuilds them all from the JSON alone.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from harness.report import clients, conformance, load

__all__ = ["PAGES", "new_run_folder", "publish"]

Renderer = Callable[[dict[str, Any], list[tuple[str, str]], str], str]


#: (label, JSON file, page, renderer), in navigation order.
PAGES: list[tuple[str, str, str, Renderer]] = [
    ("Conformance", "conformance.json", "index.html", conformance.render_page),
    ("Load", "load.json", "load.html", load.render_page),
    ("Clients", "clients.json", "clients.html", clients.render_page),
]


def new_run_folder() -> Path:
    """``reports/<time>/``: where a run writes when no folder is named (not created here)."""
    return Path("reports") / datetime.now().strftime("%Y%m%d-%H%M%S")


def publish(directory: Path) -> list[Path]:
    """Render every page of ``directory`` from the JSON present; return the pages written."""
    present = [p for p in PAGES if (directory / p[1]).is_file()]
    nav = [(label, page) for label, _, page, _ in present]
    written = []
    for _, source, page, renderer in present:
        data = json.loads((directory / source).read_text(encoding="utf-8"))
        (directory / page).write_text(renderer(data, nav, page), encoding="utf-8")
        written.append(directory / page)
    return written
