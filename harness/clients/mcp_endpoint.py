"""The fuzzing server's MCP endpoint: what an MCP SDK's requests get in a ``client.mcp.*`` cell.

An MCP column runs a case through its SDK's own tools/call, so the cell speaks just enough
Streamable HTTP (2025-11-25) for the SDK to get there, then answers the call with the case's
bytes (:mod:`.mcp_cases`):

* POST initialize: a JSON result in the revision the client asked for (2025-11-25 when it asked
  for one without a handshake), with an ``Mcp-Session-Id``;
* POST of a notification or a response (``notifications/initialized``, the answer to the
  server's ``ping``): 202 Accepted, no body;
* POST tools/list: the one tool; POST tools/call: ``responses[0]`` of the case, with the call's
  JSON-RPC id and progress token written where the bytes say ``"@id"`` and ``"@token"``; any
  other request: an empty JSON result;
* the first GET without ``Last-Event-ID``: the standalone stream both SDKs open once initialized,
  held open and empty (a 405 would have the Python SDK retry it);
* every other GET: a resume, the k-th answered with ``responses[k]`` (same slots written in),
  and one beyond the script with an empty stream held open;
* DELETE: 200.

Each request is recorded with its :data:`Role` (``SeenRequest.role``) and its body, so the grader
(:mod:`.mcp_grader`) sees what the client sent, when and with which headers.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Literal

from harness.clients.mcp_cases import CALL_ID, TOKEN, TOOL
from harness.clients.model import IDLE, STREAM_HEADERS, ClientCase, Piece, Response
from harness.mcp import HANDSHAKE_REVISIONS, NEWEST_HANDSHAKE, SESSION_HEADER, read_message

if TYPE_CHECKING:
    from harness.clients.server import SeenRequest

__all__ = ["Role", "Session", "session_id"]

Role = Literal[
    "initialize",
    "call",
    "list",
    "request",
    "notification",
    "answer",
    "standalone",
    "resume",
    "delete",
    "other",
]
"""What a request of an MCP cell was: a POST of initialize, of the tools/call (``call``), of
tools/list, of another request, of a notification, or of the client's answer to a server request
(``answer``); the standalone GET stream, a resume GET, a DELETE, or anything else."""

_JSON = (("Content-Type", "application/json"),)
_TOOLS = {
    "tools": [
        {
            "name": TOOL,
            "description": "Reports progress, then answers with the case's bytes.",
            "inputSchema": {"type": "object", "properties": {}},
        }
    ]
}
_SLOTS = (json.dumps(CALL_ID).encode(), json.dumps(TOKEN).encode())


class Session:
    """One cell's MCP session: its id, the tools/call it is answering, the GETs seen so far."""

    def __init__(self, case: ClientCase, session_id: str) -> None:
        self.case = case
        self.session_id = session_id
        self._slots: tuple[bytes, bytes] = _SLOTS  # written as they are until the call comes
        self._standalone = False
        self._resumes = 0

    def answer(self, request: SeenRequest) -> Response:
        """The response to ``request``; sets its ``role``."""
        if request.method == "POST":
            return self._post(request)
        if request.method == "GET":
            if not self._standalone and request.header("Last-Event-ID") is None:
                self._standalone = True
                request.role = "standalone"
                return self._with_session(IDLE)
            self._resumes += 1
            request.role = "resume"
            if self._resumes < len(self.case.responses):
                return self._written(self.case.responses[self._resumes])
            return self._with_session(IDLE)
        if request.method == "DELETE":
            request.role = "delete"
            return Response(200, self._session(), (), "close", stream=False)
        request.role = "other"
        return Response(405, self._session(), (), "close", stream=False)

    def _post(self, request: SeenRequest) -> Response:
        message = read_message(request.body.decode("utf-8", "replace"))
        if message.kind in ("notification", "response", "error"):
            request.role = "answer" if message.kind != "notification" else "notification"
            return Response(202, self._session(), (), "close", stream=False)
        if message.kind != "request":
            request.role = "other"
            error = {"code": -32700, "message": f"not a JSON-RPC message: {message.problem}"}
            return self._json(400, {"jsonrpc": "2.0", "id": None, "error": error})
        params = (message.body or {}).get("params")
        params = params if isinstance(params, dict) else {}
        if message.method == "initialize":
            request.role = "initialize"
            asked = params.get("protocolVersion")
            version = asked if asked in HANDSHAKE_REVISIONS else NEWEST_HANDSHAKE
            result: dict[str, Any] = {
                "protocolVersion": version,
                "capabilities": {"tools": {}},
                "serverInfo": {"name": "sse-harness-fuzz", "version": "1"},
            }
            return self._json(200, {"jsonrpc": "2.0", "id": message.id, "result": result})
        if message.method == "tools/list":
            request.role = "list"
            return self._json(200, {"jsonrpc": "2.0", "id": message.id, "result": _TOOLS})
        if message.method == "tools/call":
            request.role = "call"
            meta = params.get("_meta")
            token = meta.get("progressToken") if isinstance(meta, dict) else None
            self._slots = (_dump(message.id), _dump(token))
            return self._written(self.case.responses[0])
        request.role = "request"
        return self._json(200, {"jsonrpc": "2.0", "id": message.id, "result": {}})

    def _written(self, response: Response) -> Response:
        """``response`` with the call's id and token written into its slots, chunk by chunk."""
        pairs = list(zip(_SLOTS, self._slots, strict=True))

        def write(data: bytes) -> bytes:
            for slot, value in pairs:
                data = data.replace(slot, value)
            return data

        body = tuple(Piece(write(piece.data), piece.delay) for piece in response.body)
        headers = (*response.headers, *self._session())
        return Response(response.status, headers, body, response.end, response.stream)

    def _session(self) -> tuple[tuple[str, str], ...]:
        return ((SESSION_HEADER, self.session_id),)

    def _with_session(self, response: Response) -> Response:
        headers = response.headers if response.headers else STREAM_HEADERS
        return Response(response.status, (*headers, *self._session()), (), response.end)

    def _json(self, status: int, payload: dict[str, Any]) -> Response:
        body = (Piece(json.dumps(payload).encode()),)
        return Response(status, (*_JSON, *self._session()), body, "close", stream=False)


def session_id(token: str) -> str:
    """The session id the endpoint of the cell with ``token`` issues."""
    return f"sse-harness-{token}"


def _dump(value: Any) -> bytes:
    return json.dumps(value).encode()
