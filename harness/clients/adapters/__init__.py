"""The clients the matrix grades, by name: one table saying what drives each of them.

Python clients each have an adapter module here, run by :mod:`harness.clients.worker`; Node
clients each have a runner script in ``harness/clients/js/``; browsers share the runner page
``js/page.html``. Every adapter drives its client the way the library documents, with its
defaults, so the matrix grades what users get.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["CLIENTS", "ClientSpec"]

Kind = Literal["python", "node", "browser"]


@dataclass(frozen=True, slots=True)
class ClientSpec:
    """``target`` is the adapter module (python), the runner script in ``js/`` (node) or the
    executable (browser); ``install`` says how to get the client when it is missing.
    ``reports_open`` is False for a client with no open notification at all, whose open cases
    are then UNIMPLEMENTED rather than failed."""

    name: str
    kind: Kind
    target: str
    install: str
    reports_open: bool = True


_PEERS = "pip install -e '.[peers]'"

CLIENTS: dict[str, ClientSpec] = {
    spec.name: spec
    for spec in (
        ClientSpec(
            "harness", "python", "harness.clients.adapters.harness_client", "pip install -e ."
        ),
        ClientSpec("httpx-sse", "python", "harness.clients.adapters.httpx_sse", _PEERS, False),
        ClientSpec(
            "sseclient-py", "python", "harness.clients.adapters.sseclient_py", _PEERS, False
        ),
        ClientSpec("requests-sse", "python", "harness.clients.adapters.requests_sse", _PEERS),
        ClientSpec(
            "aiohttp-sse-client2", "python", "harness.clients.adapters.aiohttp_sse_client2", _PEERS
        ),
        ClientSpec("eventsource", "node", "eventsource.mjs", "Debian nodejs npm"),
        ClientSpec(
            "fetch-event-source", "node", "fetch-event-source.mjs", "Debian nodejs npm", False
        ),
        ClientSpec("eventsource-client", "node", "eventsource-client.mjs", "Debian nodejs npm"),
        ClientSpec("chromium", "browser", "chromium", "apt-get install chromium"),
        ClientSpec("firefox", "browser", "firefox-esr", "apt-get install firefox-esr"),
    )
}
