"""sseclient (PyPI; btubbs/sseclient, not sseclient-py), as its README shows: ``for msg in
SSEClient(url)``.

It installs a top-level ``sseclient`` module, as sseclient-py does, so the two cannot share an
environment: this one is installed on first use into its own folder, first on its worker's path
(``ClientSpec.package``). It reconnects by itself, after ``retry`` ms (3 s by default), and keeps
the last event ID in ``last_id``. It has no open or error notification.
"""

from __future__ import annotations

import importlib

from harness.clients.protocol import Emit, event

DIST = "sseclient"
# Imported by name at run time: the type checker sees sseclient-py's module of the same name.
sseclient = importlib.import_module("sseclient")


def run(url: str, types: list[str], emit: Emit) -> None:
    source = sseclient.SSEClient(url)
    for item in source:
        raw = {"event": item.event, "id": item.id, "retry": item.retry}
        event(emit, item.event, item.data, source.last_id or "", raw)
