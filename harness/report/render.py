"""Jinja2 rendering shared by every HTML page."""

from __future__ import annotations

from functools import cache
from typing import Any

import jinja2

__all__ = ["OUTCOME_COLOURS", "render"]

#: One colour per outcome, used by every page's matrix.
OUTCOME_COLOURS = {
    "OK": "#2e7d32",
    "NON-STRICT": "#f9a825",
    "INFORMATIONAL": "#1565c0",
    "FAILED": "#c62828",
    "UNIMPLEMENTED": "#757575",
    "ERROR": "#6a1b9a",
}


@cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("harness.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["colours"] = OUTCOME_COLOURS
    return env


def render(template: str, **context: Any) -> str:
    """Render a page; ``nav`` (label, href) pairs and the page's own ``page`` href are optional."""
    context.setdefault("nav", [])
    context.setdefault("page", "")
    return _environment().get_template(template).render(**context)
