"""The clients page (clients.html), rendered from a ``clients.json`` alone.

Self-contained (no CDN): what breaks in each client (:mod:`.breaks`), then a matrix coloured by
outcome, each cell linking to its case's script and to expected versus observed for every client.
"""

from __future__ import annotations

from typing import Any

from harness.outcome import Outcome, escape_text
from harness.report.breaks import what_breaks
from harness.report.render import render

__all__ = ["render_page"]

_SHOWN_HEADERS = ("accept", "cache-control", "last-event-id")


def _timeline(observed: dict[str, Any]) -> list[str]:
    """What one client did, in time order, one line per record or request, for the page."""
    if not observed:
        return []
    esc = escape_text
    entries: list[tuple[float, str]] = [
        (e["t"], f'{esc(e["type"])} "{esc(e["data"])}" id="{esc(e["last_event_id"])}"')
        for e in observed["events"]
    ]
    entries += [(d["t"], f'delta "{escape_text(d["text"])}"') for d in observed.get("deltas", [])]
    entries += [(t, "open") for t in observed["open"]]
    entries += [
        (e["t"], f"error {e['message'] or ''} closed={e['closed']}".replace("  ", " "))
        for e in observed["errors"]
    ]
    entries += [
        (e["t"], f"raised {e['type']}: {escape_text(e['message'])}") for e in observed["exceptions"]
    ]
    for q in observed["requests"]:
        shown = [f"{k}: {v}" for k, v in q["headers"].items() if k.lower() in _SHOWN_HEADERS]
        entries.append((q["t"], " | ".join([f"{q['method']} {q['path']}", *shown])))
    return [f"+{t:.3f} s {what}" for t, what in sorted(entries, key=lambda e: e[0])]


def render_page(data: dict[str, Any], nav: list[tuple[str, str]], page: str) -> str:
    """The matrix page, from ``clients.json`` alone (so ``sse-harness report`` can rebuild it)."""
    by_cell = {(r["client"], r["case"]): r for r in data["results"]}
    return render(
        "clients.html.j2",
        data=data,
        outcomes=[o.value for o in Outcome],
        cell=lambda client, case: by_cell[(client, case)],
        breaks=what_breaks(data),
        timeline=_timeline,
        nav=nav,
        page=page,
    )
