"""The shared, memoised evidence cases read from the target under test.

Most cases judge the same exchange (one GET of the stream as a browser would make it), so the
context captures it once and every case reads that capture; a case that needs another exchange
(HEAD, a CORS preflight, a resume, a script) asks for it by key and shares it too. This is what
keeps the whole black-box suite within one observation window instead of one per case.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

import aiohttp

from harness.server.probe import Capture, Window, capture, capture_head
from harness.server.target import Need, Target
from harness.server.transport import Http1Transport, Transport, ssl_context

__all__ = ["Context"]

T = TypeVar("T")


@dataclass
class Context:
    target: Target
    session: aiohttp.ClientSession
    window: Window = field(default_factory=Window)
    #: Longest silence a stream may keep before a keep-alive comment is due (S-16: ~15 s).
    keepalive_bound_s: float = 20.0
    #: How requests reach the target; None: HTTP/1.1 through ``session``.
    via: Transport | None = None
    _memo: dict[str, asyncio.Task[Any]] = field(default_factory=dict)

    @property
    def transport(self) -> Transport:
        return self.via if self.via is not None else Http1Transport(self.session)

    def _once(self, key: str, make: Callable[[], Awaitable[T]]) -> Awaitable[T]:
        if key not in self._memo:
            self._memo[key] = asyncio.ensure_future(make())
        # Shielded: a case that overruns its bound is cancelled alone, never the exchange that
        # other cases share (which is bounded by its own window).
        return asyncio.shield(self._memo[key])

    async def stream(self) -> Capture:
        """The main exchange: the target's stream, requested as a browser's EventSource would."""
        return await self.fetch("stream")

    async def fetch(
        self,
        key: str,
        *,
        method: str | None = None,
        headers: Mapping[str, str] | None = None,
        read_body: bool = True,
        window: Window | None = None,
    ) -> Capture:
        """Another exchange with the target, shared by every case that asks for the same key."""
        use = method or self.target.method
        body = self.target.body if use == self.target.method else None

        async def make() -> Capture:
            return await capture(
                self.transport,
                self.target.url,
                method=use,
                headers=self.target.request_headers(headers),
                body=body,
                window=window or self.window,
                read_body=read_body,
            )

        return await self._once(key, make)

    async def head(self, window: Window) -> Capture:
        """The target's answer to HEAD, shared: over HTTP/1.1 read off the socket
        (``probe.capture_head``), so bytes after the head are evidence; over HTTP/2 a stream whose
        DATA frames, if any, are that evidence."""

        async def make() -> Capture:
            if self.transport.http_version == "2":
                return await capture(
                    self.transport,
                    self.target.url,
                    method="HEAD",
                    headers=self.target.request_headers(),
                    window=window,
                )
            return await capture_head(
                self.target.url,
                headers=self.target.request_headers(),
                window=window,
                tls=ssl_context(self.target, ["http/1.1"]),
            )

        return await self._once("head", make)

    async def capabilities(self) -> set[Need]:
        async def make() -> set[Need]:
            found = {Need.BLACK_BOX}
            if self.transport.http_version == "2":
                found.add(Need.HTTP2)
            if self.target.resumable:
                found.add(Need.RESUMABLE)
            if await self.contract() is not None:
                found |= {Need.SCRIPTED, Need.OBSERVABLE}
            return found

        return await self._once("capabilities", make)

    def unmet(self, need: Need) -> str:
        """What a case with ``need`` requires and this target does not give."""
        return need.unmet(self.target)

    def need_step(self, need: Need) -> str:
        """The flag or code that gives a case with ``need`` what it requires."""
        return need.next_step(self.target)

    async def not_applicable(self, revisions: tuple[str, ...]) -> str | None:
        """Why a case of a protocol profile, written for ``revisions``, does not apply to this
        run (None: it does). A plain SSE run has no revision: every case applies."""
        return None

    async def contract(self) -> dict[str, Any] | None:
        """The target's ``GET /_contract`` answer, or None when it does not speak the contract."""

        async def make() -> dict[str, Any] | None:
            if not self.target.contract_base:
                return None
            answer = await self.get_json(self.target.contract_base + "/_contract")
            if answer is None or not str(answer.get("contract", "")).startswith("sse-harness/"):
                return None
            return answer

        return await self._once("contract", make)

    async def script(
        self, key: str, steps: list[dict[str, Any]], eol: str = "\n", window: Window | None = None
    ) -> Capture:
        """Have the target stream ``steps`` through the scripting contract, and capture it."""

        async def make() -> Capture:
            return await capture(
                self.transport,
                self.target.contract_base + "/_script",
                method="POST",
                headers=self.target.request_headers(
                    {"Content-Type": "application/json", **self.target.contract_auth()}
                ),
                body=json.dumps({"eol": eol, "steps": steps}).encode(),
                window=window or replace(self.window, max_events=len(steps) + 1),
            )

        return await self._once("script:" + key, make)

    def close(self) -> None:
        """Cancel exchanges still running (a capture no case waited for)."""
        for task in self._memo.values():
            task.cancel()

    async def observed(self, stream_id: str) -> dict[str, Any] | None:
        """The target's record of one stream's generator (scripting contract)."""
        return await self.get_json(f"{self.target.contract_base}/_observe/streams/{stream_id}")

    async def get_json(self, url: str) -> dict[str, Any] | None:
        """A GET of a contract route answered 200 with a JSON object, or None (a 403 from a
        locked contract included); bounded in time and size."""
        bound = self.window.connect_timeout
        window = Window(
            max_events=1 << 20, max_seconds=bound, max_bytes=1 << 20, header_timeout=bound
        )
        headers = {"Accept": "application/json", **self.target.contract_auth()}
        cap = await capture(self.transport, url, headers=headers, window=window)
        if cap.status != 200 or cap.end not in ("eof", "no-body"):
            return None
        try:
            found = json.loads(cap.body)
        except ValueError:
            return None
        return found if isinstance(found, dict) else None
