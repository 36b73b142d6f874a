"""``servers.json`` and its pages: written into the report folder after the matrix ran.

The document is the input of the pure renderers (:mod:`harness.report.servers_markdown`), so
``docs/servers.md`` can be rebuilt from a report without running anything again.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from harness.report.servers_markdown import render_markdown

__all__ = ["SCHEMA_VERSION", "write_reports"]

SCHEMA_VERSION = 1


def write_reports(report: dict[str, Any], directory: Path, markdown: Path | None) -> list[Path]:
    """Write ``servers.json`` (and ``servers.md``) into ``directory``, and the Markdown page to
    ``markdown`` too when given."""
    directory.mkdir(parents=True, exist_ok=True)
    json_path, md_path = directory / "servers.json", directory / "servers.md"
    json_path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    page = render_markdown(report)
    md_path.write_text(page, encoding="utf-8")
    written = [json_path, md_path]
    if markdown is not None:
        markdown.parent.mkdir(parents=True, exist_ok=True)
        markdown.write_text(page, encoding="utf-8")
        written.append(markdown)
    return written
