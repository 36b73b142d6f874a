"""The clients the matrix grades, by name: one table saying what drives each of them.

Python clients each have an adapter module here, run by :mod:`harness.clients.worker`; Node
clients each have a runner script in ``harness/clients/js/``; browsers share the runner page
``js/page.html``, which drives their native EventSource or a library loaded into it. Every
adapter drives its client the way the library documents, with its defaults, so the matrix grades
what users get.

Two kinds of column are graded on less than a whole EventSource:

* a *decoder* (``decoder_only``: the LLM SDKs' SSE decoding, eventsource-parser) is handed one
  response body and turns it into events; it makes no request of its own and never reconnects,
  so the cases about connections are UNIMPLEMENTED for it, not failed;
* an *SDK* column (``sdk``) also runs the ``client.llm.*`` cases of its API through the SDK's
  public streaming call, and is graded on the text deltas the user's code receives.

An *MCP* column (``sdk="mcp"``: the official Python and TypeScript MCP SDKs) is an SDK column
whose own cases are the ``client.mcp.*`` ones, run through the SDK's Streamable HTTP client and a
tools/call with a progress callback, graded on what the user's code receives and on the requests
the SDK makes; everywhere else it is the decoder the SDK reads its streams with, used as the SDK
uses it (httpx2's ``EventSource``, eventsource-parser 3's ``EventSourceParserStream``), which its
version names.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from harness.clients.model import Api, ClientCase

__all__ = ["CLIENTS", "ClientSpec"]

Kind = Literal["python", "node", "browser"]


@dataclass(frozen=True, slots=True)
class ClientSpec:
    """``target`` is the adapter module (python), the runner script in ``js/`` (node) or the
    browser executable (browser); ``install`` says how to get the client when it is missing.
    ``reports_open`` is False for a client with no open notification at all, whose open cases
    are then UNIMPLEMENTED rather than failed.

    ``package`` is what the column installs on first use into the cache directory, outside the
    harness's environment, pinned by a lock shipped in the package: the npm package a Node
    runner imports or a browser page loads instead of the native EventSource (``js/
    package-lock.json``), or the Python distribution of a client that cannot share the
    harness's environment (``pins/<package>.txt``; it gets a folder of its own on the worker's
    path).
    """

    name: str
    kind: Kind
    target: str
    install: str
    reports_open: bool = True
    package: str | None = None
    decoder_only: bool = False
    sdk: Api | None = None

    @property
    def needs_npm(self) -> bool:
        """It runs on what :func:`harness.clients.node.prepare` installs."""
        return self.kind == "node" or (self.kind == "browser" and self.package is not None)

    def speaks(self, case: ClientCase) -> bool:
        """The cell runs through the SDK's own streaming call (graded on deltas) or an MCP SDK's
        tools/call (graded on what its user gets), not through its event decoding (graded on
        events)."""
        if self.sdk == "mcp":
            return case.mcp is not None
        return self.sdk is not None and case.sdk is not None and case.sdk.api == self.sdk


_PEERS = "pip install -e '.[peers]'"
_NPM = "Debian nodejs npm; the package installs from npm on first use"
_PY = "harness.clients.adapters."


def _node(
    name: str,
    script: str,
    package: str,
    *,
    reports_open: bool = True,
    decoder_only: bool = False,
    sdk: Api | None = None,
) -> ClientSpec:
    return ClientSpec(name, "node", script, _NPM, reports_open, package, decoder_only, sdk)


CLIENTS: dict[str, ClientSpec] = {
    spec.name: spec
    for spec in (
        ClientSpec("harness", "python", _PY + "harness_client", "pip install -e ."),
        ClientSpec("httpx-sse", "python", _PY + "httpx_sse", _PEERS, reports_open=False),
        ClientSpec("sseclient-py", "python", _PY + "sseclient_py", _PEERS, reports_open=False),
        ClientSpec("requests-sse", "python", _PY + "requests_sse", _PEERS),
        ClientSpec("aiohttp-sse-client2", "python", _PY + "aiohttp_sse_client2", _PEERS),
        ClientSpec(
            "openai-python",
            "python",
            _PY + "openai_python",
            _PEERS,
            reports_open=False,
            decoder_only=True,
            sdk="openai",
        ),
        ClientSpec(
            "anthropic-python",
            "python",
            _PY + "anthropic_python",
            _PEERS,
            reports_open=False,
            decoder_only=True,
            sdk="anthropic",
        ),
        ClientSpec(
            "sseclient",
            "python",
            _PY + "sseclient_btubbs",
            "pip; installs pinned on first use into its own folder (it clashes with sseclient-py)",
            reports_open=False,
            package="sseclient",
        ),
        _node("eventsource", "eventsource-api.mjs", "eventsource"),
        _node(
            "fetch-event-source",
            "fetch-event-source.mjs",
            "@microsoft/fetch-event-source",
            reports_open=False,
        ),
        _node("eventsource-client", "eventsource-client.mjs", "eventsource-client"),
        _node(
            "openai-node",
            "openai-node.mjs",
            "openai",
            reports_open=False,
            decoder_only=True,
            sdk="openai",
        ),
        _node(
            "anthropic-node",
            "anthropic-node.mjs",
            "@anthropic-ai/sdk",
            reports_open=False,
            decoder_only=True,
            sdk="anthropic",
        ),
        _node(
            "eventsource-parser",
            "eventsource-parser.mjs",
            "eventsource-parser",
            reports_open=False,
            decoder_only=True,
        ),
        _node("undici", "eventsource-api.mjs", "undici"),
        _node("extended-eventsource", "eventsource-api.mjs", "extended-eventsource"),
        ClientSpec(
            "mcp-python",
            "python",
            _PY + "mcp_python",
            "pip install -e . (the mcp SDK is a core dependency)",
            reports_open=False,
            decoder_only=True,
            sdk="mcp",
        ),
        _node(
            "mcp-typescript",
            "mcp-typescript.mjs",
            "@modelcontextprotocol/sdk",
            reports_open=False,
            decoder_only=True,
            sdk="mcp",
        ),
        ClientSpec("chromium", "browser", "chromium", "apt-get install chromium"),
        ClientSpec("firefox", "browser", "firefox-esr", "apt-get install firefox-esr"),
        ClientSpec(
            "sse.js",
            "browser",
            "chromium",
            "apt-get install chromium nodejs npm; sse.js installs from npm on first use",
            package="sse.js",
        ),
    )
}
