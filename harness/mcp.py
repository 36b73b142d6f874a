"""What the harness says and reads when it speaks MCP (Model Context Protocol) itself.

The MCP profile opens a target's streams the way an MCP client would (initialize, initialized,
tools/list, tools/call with a progress token, the GET stream, DELETE), so the harness needs no
SDK in the target or here. This module is the protocol's vocabulary, free of I/O like the SSE
parser: the revisions and what each brought, the headers, the JSON-RPC messages the harness
sends, and the reading of a message a server sent (one event's data), so every instrument (the
server cases, later the clients and the load users) reads MCP the same way.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

__all__ = [
    "ACCEPT_BOTH",
    "HANDSHAKE_REVISIONS",
    "LEGACY_REVISION",
    "NEWEST_HANDSHAKE",
    "REVISIONS",
    "SESSION_HEADER",
    "STATELESS_REVISION",
    "VERSION_HEADER",
    "Message",
    "at_least",
    "discover",
    "initialize",
    "initialized",
    "read_message",
    "stateless_headers",
    "tools_call",
    "tools_list",
    "visible_ascii",
]

#: Every revision of the protocol, oldest first. Their names are dates, but the order is this
#: tuple's: an unknown name is older than none of them (:func:`at_least` says no).
REVISIONS = ("2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25", "2026-07-28")
#: The HTTP+SSE transport (an ``endpoint`` event, then replies as ``message`` events).
LEGACY_REVISION = "2024-11-05"
#: The revisions reached by the initialize handshake, with sessions and a GET stream.
HANDSHAKE_REVISIONS = REVISIONS[:4]
NEWEST_HANDSHAKE = HANDSHAKE_REVISIONS[-1]
#: Each request a self-contained POST: no initialize, no session, no GET stream.
STATELESS_REVISION = "2026-07-28"

SESSION_HEADER = "Mcp-Session-Id"
VERSION_HEADER = "MCP-Protocol-Version"
#: What a Streamable HTTP client must accept on every POST.
ACCEPT_BOTH = "application/json, text/event-stream"
CLIENT_INFO = {"name": "sse-harness", "version": "mcp-profile"}


def at_least(version: str, revision: str) -> bool:
    """``version`` is a known revision no older than ``revision``."""
    if version not in REVISIONS:
        return False
    return REVISIONS.index(version) >= REVISIONS.index(revision)


def visible_ascii(value: str) -> bool:
    """Only visible ASCII (0x21 to 0x7E), as session ids must be; not empty."""
    return bool(value) and all("\x21" <= c <= "\x7e" for c in value)


def _request(
    request_id: int | str, method: str, params: dict[str, Any] | None, version: str = ""
) -> bytes:
    """A request; in the stateless revision its ``_meta`` says who asks and in which revision,
    since no handshake did."""
    if version == STATELESS_REVISION:
        params = dict(params or {})
        params["_meta"] = {**params.get("_meta", {}), **_stateless_meta()}
    message: dict[str, Any] = {"jsonrpc": "2.0", "id": request_id, "method": method}
    if params is not None:
        message["params"] = params
    return json.dumps(message).encode()


def _stateless_meta() -> dict[str, Any]:
    return {
        "io.modelcontextprotocol/protocolVersion": STATELESS_REVISION,
        "io.modelcontextprotocol/clientCapabilities": {},
        "io.modelcontextprotocol/clientInfo": CLIENT_INFO,
    }


def stateless_headers(method: str, name: str | None = None) -> dict[str, str]:
    """The request headers the stateless revision requires on every POST."""
    headers = {VERSION_HEADER: STATELESS_REVISION, "Mcp-Method": method}
    if name is not None:
        headers["Mcp-Name"] = name
    return headers


def initialize(request_id: int | str, version: str = NEWEST_HANDSHAKE) -> bytes:
    return _request(
        request_id,
        "initialize",
        {"protocolVersion": version, "capabilities": {}, "clientInfo": CLIENT_INFO},
    )


def discover(request_id: int | str) -> bytes:
    """The stateless revision's first request (it has no initialize)."""
    return _request(request_id, "server/discover", {}, STATELESS_REVISION)


def initialized() -> bytes:
    return json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}).encode()


def tools_list(request_id: int | str, version: str = "") -> bytes:
    return _request(request_id, "tools/list", {}, version)


def tools_call(
    request_id: int | str,
    name: str,
    arguments: dict[str, Any] | None = None,
    progress_token: str | None = None,
    version: str = "",
) -> bytes:
    params: dict[str, Any] = {"name": name, "arguments": arguments or {}}
    if progress_token is not None:
        params["_meta"] = {"progressToken": progress_token}
    return _request(request_id, "tools/call", params, version)


Kind = Literal["request", "notification", "response", "error", "not-json-rpc"]


@dataclass(frozen=True, slots=True)
class Message:
    """One JSON-RPC message as a server sent it (an event's data, or a JSON body)."""

    kind: Kind
    raw: str
    body: dict[str, Any] | None = None
    #: Why the data is not one JSON-RPC message (kind ``not-json-rpc``).
    problem: str = ""

    @property
    def id(self) -> Any:
        return None if self.body is None else self.body.get("id")

    @property
    def method(self) -> str:
        return "" if self.body is None else str(self.body.get("method", ""))

    @property
    def progress_token(self) -> Any:
        """The token of a progress notification (None for any other message)."""
        if self.method != "notifications/progress":
            return None
        params = (self.body or {}).get("params")
        return params.get("progressToken") if isinstance(params, dict) else None

    @property
    def result(self) -> dict[str, Any]:
        found = (self.body or {}).get("result")
        return found if isinstance(found, dict) else {}

    def key(self) -> str:
        """The message itself, canonically: the same message sent twice has the same key."""
        return json.dumps(self.body, sort_keys=True) if self.body is not None else self.raw


def read_message(data: str) -> Message:
    """What one event's data (or a JSON body) holds: exactly one JSON-RPC message, or why not."""
    try:
        body = json.loads(data)
    except json.JSONDecodeError as exc:
        return Message("not-json-rpc", data, problem=f"not JSON ({exc.msg})")
    if isinstance(body, list):
        return Message("not-json-rpc", data, problem=f"a batch of {len(body)} messages")
    if not isinstance(body, dict) or body.get("jsonrpc") != "2.0":
        return Message("not-json-rpc", data, problem='not a JSON-RPC 2.0 object ("jsonrpc": "2.0")')
    if "method" in body:
        return Message("request" if "id" in body else "notification", data, body)
    if "error" in body:
        return Message("error", data, body)
    if "result" in body and "id" in body:
        return Message("response", data, body)
    return Message("not-json-rpc", data, problem="neither a request, a notification nor a response")
