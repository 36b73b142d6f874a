"""The fuzzing server: serves case scripts byte for byte and records what clients ask for.

It is a raw asyncio HTTP/1.1 server, not a web framework, because the cases need what frameworks
fix for you: a missing or malformed Content-Type, exact chunk boundaries (each scripted chunk is
one HTTP chunk, written and flushed on its own with Nagle off), a body that ends without its
terminating chunk. It listens on 127.0.0.1 only.

Each run of a case by a client is a *cell* with its own path prefix ``/c/<token>/case/<id>``, so
clients can run side by side. A cell records every request (time, method, path, raw headers) and,
per response, when the headers and each chunk went out and when the body ended: the grader's
evidence for request headers, reconnect delays and dispatch latency. A cell an MCP SDK runs
(:meth:`FuzzServer.open_cell` with ``mcp``) is answered by its MCP endpoint
(:class:`~harness.clients.mcp_endpoint.Session`) instead of by request order: the handshake, then
the case's bytes for the tools/call and its resumes.

The same server hosts the control channel for browser clients (:mod:`.launchers`): the runner
page at ``/page/<column>``, commands by long poll at ``/ctl/<column>/next``, observations posted
to ``/ctl/<column>/report``, and the files a page loads (a client library, ``/npm/<package>``).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path

from harness.clients.mcp_endpoint import Role, Session, session_id
from harness.clients.model import CASE_PATH, ClientCase, Response

__all__ = ["Cell", "FuzzServer", "SeenRequest", "Served"]

_MAX_HEAD = 64 * 1024
_MAX_BODY = 1 << 20

PAGE = Path(__file__).with_name("js") / "page.html"

ControlHandler = Callable[[str, str, bytes], Awaitable[tuple[int, bytes]]]


@dataclass(slots=True)
class SeenRequest:
    """One request as it reached the server; ``t`` is wall-clock time (``time.time()``), the only
    clock a browser, Node and this process share. ``body`` is what a POST carried; ``role``
    what the request was to an MCP cell (:data:`~harness.clients.mcp_endpoint.Role`)."""

    t: float
    method: str
    path: str
    headers: list[tuple[str, bytes]]
    body: bytes = b""
    role: Role | None = None

    def header(self, name: str) -> bytes | None:
        lowered = name.lower()
        return next((v for k, v in self.headers if k.lower() == lowered), None)


@dataclass(slots=True)
class Served:
    """When each part of one response went out (wall-clock seconds)."""

    status: int
    headers_at: float
    chunk_times: list[float] = field(default_factory=list)
    ended_at: float | None = None
    #: Every scripted chunk was written (a held body then stays open, a closed one has ended).
    complete: bool = False


class Cell:
    """One client running one case: the script it is served and the evidence it leaves."""

    def __init__(self, token: str, case: ClientCase, mcp: bool = False) -> None:
        self.token = token
        self.case = case
        self.path = f"/c/{token}/case/{case.id}"
        #: The MCP endpoint answering this cell, when an MCP SDK runs it.
        self.mcp = Session(case, session_id(token)) if mcp else None
        self.requests: list[SeenRequest] = []
        self.served: list[Served] = []
        #: Wall-clock time of the last request or write, for the quiet rule of the runner.
        self.last_activity = time.time()
        self.closed = asyncio.Event()
        #: Set on every request and write, so the runner wakes to re-check its end conditions.
        self.wake: asyncio.Event | None = None

    def touch(self) -> None:
        self.last_activity = time.time()
        if self.wake is not None:
            self.wake.set()

    @property
    def script_done(self) -> bool:
        """Every scripted response was requested and written out."""
        n = len(self.case.responses)
        return len(self.served) >= n and all(s.complete for s in self.served[:n])


class FuzzServer:
    """``async with FuzzServer() as server``: listening on a free loopback port until exit."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self.port = 0
        self._server: asyncio.Server | None = None
        self._cells: dict[str, Cell] = {}
        self._tokens = itertools.count(1)
        self._control: dict[str, ControlHandler] = {}
        self._files: dict[str, tuple[Path, str]] = {}
        self._connections: set[asyncio.StreamWriter] = set()
        self._handlers: set[asyncio.Task[None]] = set()

    async def __aenter__(self) -> FuzzServer:
        self._server = await asyncio.start_server(
            self._connection, self.host, 0, limit=_MAX_HEAD, reuse_address=True
        )
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for cell in list(self._cells.values()):
            self.close_cell(cell)
        for writer in list(self._connections):
            writer.transport.abort()
        for task in self._handlers:
            task.cancel()
        await asyncio.gather(*self._handlers, return_exceptions=True)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._server.wait_closed(), 2.0)

    @property
    def base(self) -> str:
        return f"http://{self.host}:{self.port}"

    def open_cell(self, case: ClientCase, mcp: bool = False) -> Cell:
        """A new cell for ``case``; with ``mcp`` its MCP endpoint answers (an MCP case only)."""
        if mcp and case.mcp is None:
            raise ValueError(f"{case.id} is not an MCP case")
        cell = Cell(str(next(self._tokens)), case, mcp)
        self._cells[cell.token] = cell
        return cell

    def close_cell(self, cell: Cell) -> None:
        """End the cell: held bodies are dropped and later requests for it get 404."""
        cell.closed.set()
        self._cells.pop(cell.token, None)

    def url(self, cell: Cell) -> str:
        return self.base + cell.path

    def add_control(self, column: str, handler: ControlHandler) -> None:
        """Route ``/ctl/<column>/<verb>`` to ``handler(verb, method, body) -> (status, json)``."""
        self._control[column] = handler

    def add_file(self, route: str, path: Path, content_type: str) -> None:
        """Serve ``path`` at ``route`` (a page's script)."""
        self._files[route] = (path, content_type)

    # -- HTTP -----------------------------------------------------------------------------------

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._connections.add(writer)
        task = asyncio.current_task()
        if task is not None:
            self._handlers.add(task)
        try:
            keep_alive = True
            while keep_alive:
                head = await reader.readuntil(b"\r\n\r\n")
                t = time.time()
                method, path, headers = _parse_head(head)
                length = int(next((v for k, v in headers if k.lower() == "content-length"), b"0"))
                body = await reader.readexactly(min(length, _MAX_BODY)) if length else b""
                request = SeenRequest(t, method, path, headers, body)
                keep_alive = await self._route(writer, request)
        except (
            asyncio.IncompleteReadError,
            asyncio.LimitOverrunError,
            ConnectionError,
            ValueError,
        ):
            pass
        except asyncio.CancelledError:
            # Shutdown cancels the handler; it is the top of its task, so it ends quietly
            # rather than have asyncio's stream callback log the cancellation as an error.
            pass
        finally:
            self._connections.discard(writer)
            if task is not None:
                self._handlers.discard(task)
            writer.transport.abort()

    async def _route(self, writer: asyncio.StreamWriter, request: SeenRequest) -> bool:
        parts = request.path.split("?", 1)[0].split("/")
        if len(parts) >= 5 and parts[1] == "c" and parts[3] == "case":
            cell = self._cells.get(parts[2])
            if cell is not None and request.path.startswith(cell.path):
                return await self._serve_case(writer, cell, request)
        elif len(parts) == 3 and parts[1] == "page" and request.method == "GET":
            await _send(writer, 200, "text/html; charset=utf-8", PAGE.read_bytes())
            return True
        elif request.path in self._files and request.method == "GET":
            path, content_type = self._files[request.path]
            await _send(writer, 200, content_type, path.read_bytes())
            return True
        elif len(parts) == 4 and parts[1] == "ctl" and parts[2] in self._control:
            handler = self._control[parts[2]]
            status, payload = await handler(parts[3], request.method, request.body)
            await _send(writer, status, "application/json", payload)
            return True
        await _send(writer, 404, "text/plain", b"no such cell or page\n")
        return True

    async def _serve_case(
        self, writer: asyncio.StreamWriter, cell: Cell, request: SeenRequest
    ) -> bool:
        """Write response number ``len(requests)`` of the cell exactly as scripted (in an MCP
        cell, the one its endpoint picks for the request).

        Returns whether the connection may carry another request.
        """
        index = len(cell.requests)
        cell.requests.append(request)
        cell.touch()
        response = cell.case.response(index) if cell.mcp is None else cell.mcp.answer(request)
        chunked = _chunked(response)
        writer.write(_head(response, cell.path, chunked))
        served = Served(response.status, time.time())
        cell.served.append(served)
        for chunk in response.body:
            if chunk.delay and await _wait(cell.closed, chunk.delay):
                return False
            writer.write(b"%x\r\n%b\r\n" % (len(chunk.data), chunk.data) if chunked else chunk.data)
            served.chunk_times.append(time.time())
            await writer.drain()
            cell.touch()
        if response.end == "hold":
            served.complete = True
            cell.touch()
            await cell.closed.wait()
            return False
        if response.end == "abort":
            writer.transport.abort()
        elif chunked:
            writer.write(b"0\r\n\r\n")
            await writer.drain()
        served.ended_at = time.time()
        served.complete = True
        cell.touch()
        return response.end == "close"


def _parse_head(head: bytes) -> tuple[str, str, list[tuple[str, bytes]]]:
    lines = head[:-4].split(b"\r\n")
    method, target, _version = lines[0].decode("latin-1").split(" ", 2)
    headers = []
    for line in lines[1:]:
        name, sep, value = line.partition(b":")
        if not sep:
            raise ValueError(f"malformed header line {line!r}")
        headers.append((name.decode("latin-1").strip(), value.strip(b" \t")))
    return method, target, headers


def _chunked(response: Response) -> bool:
    """Every body is chunked, so chunk boundaries are on the wire; a bodiless status is not."""
    no_body = response.status in (204, 304) or response.status < 200
    return not no_body and (bool(response.body) or response.end == "hold")


def _head(response: Response, case_path: str, chunked: bool) -> bytes:
    try:
        reason = HTTPStatus(response.status).phrase
    except ValueError:
        reason = "Unknown"
    lines = [f"HTTP/1.1 {response.status} {reason}"]
    lines += [f"{k}: {v.replace(CASE_PATH, case_path)}" for k, v in response.headers]
    if chunked:
        lines.append("Transfer-Encoding: chunked")
    elif response.status not in (204, 304) and response.status >= 200:
        lines.append("Content-Length: 0")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")


async def _send(writer: asyncio.StreamWriter, status: int, content_type: str, body: bytes) -> None:
    reason = HTTPStatus(status).phrase
    writer.write(
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\nCache-Control: no-store\r\n\r\n".encode()
        + body
    )
    await writer.drain()


async def _wait(closed: asyncio.Event, delay: float) -> bool:
    """Sleep ``delay`` seconds unless the cell closes first; True when it did."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(closed.wait(), delay)
    return closed.is_set()
