"""The clients page (clients.html), rendered from a ``clients.json`` alone.

Self-contained (no CDN): what breaks in each client (:mod:`.breaks`), then a matrix coloured by
outcome, each cell linking to its case's script and to expected versus observed for every client.
Each client's version says where its code came from (:data:`SOURCES`): a grade is only worth
repeating for a pinned one, so a ``--latest`` run opens with :data:`LATEST_BANNER`.
"""

from __future__ import annotations

from typing import Any

from harness.outcome import Outcome, escape_text
from harness.report.breaks import what_breaks
from harness.report.render import render

__all__ = ["LATEST_BANNER", "SOURCES", "installed_from", "render_page"]

#: Opens every rendering of a ``--latest`` run (page, Markdown, terminal table).
LATEST_BANNER = (
    "Newest releases, not the pinned ones: this run installed the newest release of every"
    " first-use client (npm packages, sseclient) instead of the versions pinned by the locks"
    " shipped with sse-harness, so a run on another day may grade other code."
)
#: What each ``source`` of clients.json means, in the words the pages use.
SOURCES = {
    "lock": "pinned (version and hash from a lock shipped with sse-harness)",
    "latest": "newest release (--latest, not pinned)",
    "environment": "your environment (the version you installed, not pinned)",
    "system": "system browser (the machine's package, not pinned)",
}

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


def installed_from(client: dict[str, Any]) -> str:
    """Where a client of clients.json came from, in words; "" for a report older than the
    ``source`` key."""
    return SOURCES.get(client.get("source", ""), "")


def render_page(data: dict[str, Any], nav: list[tuple[str, str]], page: str) -> str:
    """The matrix page, from ``clients.json`` alone (so ``sse-harness report`` can rebuild it)."""
    by_cell = {(r["client"], r["case"]): r for r in data["results"]}
    return render(
        "clients.html.j2",
        data=data,
        outcomes=[o.value for o in Outcome],
        cell=lambda client, case: by_cell[(client, case)],
        breaks=what_breaks(data),
        latest=LATEST_BANNER if data.get("latest") else "",
        installed_from=installed_from,
        timeline=_timeline,
        nav=nav,
        page=page,
    )
