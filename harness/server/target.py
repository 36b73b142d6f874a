"""The target under test: an SSE endpoint, how to request it, and what it is declared to offer.

Shared by the cases, the runner and the command line; it holds no I/O, so a target can be built
and checked before anything connects.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal
from urllib.parse import urlsplit

from harness.contract import TOKEN_ENV, TOKEN_HEADER

__all__ = [
    "BROWSER_HEADERS",
    "CROSS_ORIGIN",
    "PROFILES",
    "HttpChoice",
    "Need",
    "Profile",
    "Target",
    "env_contract_token",
    "request_target",
]

#: Which HTTP the probe speaks: "auto" takes HTTP/2 when TLS ALPN offers it (plain http://
#: stays HTTP/1.1), "1.1" never asks for HTTP/2, "2" insists (h2c with prior knowledge on http://).
HttpChoice = Literal["auto", "1.1", "2"]

#: What Chromium's EventSource sends (plus the Accept-Encoding it always offers), so the stream
#: is judged as the most common client receives it.
BROWSER_HEADERS: Mapping[str, str] = {
    "Accept": "text/event-stream",
    "Cache-Control": "no-cache",
    "Accept-Encoding": "gzip, deflate",
}

#: The protocols the server instrument can speak to a target: plain SSE, or MCP Streamable HTTP
#: (the harness opens the streams as an MCP client, ``harness.server.mcp_client``).
Profile = Literal["sse", "mcp"]
PROFILES: tuple[Profile, ...] = ("sse", "mcp")

#: The foreign page origin the CORS cases send. ``.test`` cannot be registered (RFC 6761), so no
#: real page has it: a server may allow it with credentials for the cases' sake at no risk.
CROSS_ORIGIN = "http://cross-origin.sse-harness.test"


def env_contract_token() -> str | None:
    """The scripting contract's token from ``SSE_HARNESS_CONTRACT_TOKEN`` (set once, in CI)."""
    return os.environ.get(TOKEN_ENV) or None


@dataclass(frozen=True, slots=True)
class Target:
    """An SSE endpoint and what it is declared to support."""

    url: str
    method: str = "GET"
    body: bytes | None = None
    headers: tuple[tuple[str, str], ...] = ()
    #: Declared resumable: reconnecting with Last-Event-ID continues after that id (S-18).
    resumable: bool = False
    #: Where the scripting contract is mounted; None means the URL's origin, "" means none.
    contract: str | None = None
    #: CA bundle (PEM) that signs an https:// target's certificate; None: the system's CAs.
    cafile: str | None = None
    #: Accept any certificate (a self-signed test server); the run still speaks TLS.
    insecure: bool = False
    http: HttpChoice = "auto"
    #: Unlocks the scripting contract (``harness.contract``); sent to its routes only, and
    #: never described or printed.
    contract_token: str | None = field(default_factory=env_contract_token, repr=False)
    profile: Profile = "sse"
    #: MCP profile: the tool that streams progress ("": the conformance suite's
    #: ``test_tool_with_progress`` when the server lists it).
    mcp_tool: str = ""
    #: MCP profile: the revision offered ("": the newest the initialize handshake reaches).
    mcp_version: str = ""

    @property
    def contract_base(self) -> str:
        if self.contract is not None:
            return self.contract.rstrip("/")
        parts = urlsplit(self.url)
        return f"{parts.scheme}://{parts.netloc}"

    def request_headers(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """What every request to the target sends: a browser's headers, the target's, ``extra``."""
        return {**BROWSER_HEADERS, **dict(self.headers), **dict(extra or {})}

    def contract_auth(self) -> dict[str, str]:
        """The header that unlocks the scripting contract's routes (none without a token)."""
        return {TOKEN_HEADER: self.contract_token} if self.contract_token else {}

    def describe(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "method": self.method,
            "headers": dict(self.headers),
            "resumable": self.resumable,
            "http": self.http,
            "profile": self.profile,
            **({"mcp_tool": self.mcp_tool} if self.mcp_tool else {}),
            **({"mcp_version": self.mcp_version} if self.mcp_version else {}),
        }


class Need(StrEnum):
    """What a case needs of the target; a missing capability makes the case UNIMPLEMENTED.

    A skipped case is only useful if it says what to do about it, in words that need no source
    code: :meth:`unmet` says what the case needs and this target lacks, :meth:`next_step` the
    flag to pass or the code to add, for ``check`` and the pytest plugin alike.
    """

    BLACK_BOX = "black-box"
    RESUMABLE = "resumable"
    SCRIPTED = "scripted"
    OBSERVABLE = "observable"
    #: The exchange runs over HTTP/2 (rules that bind only there, S-22; multiplexing).
    HTTP2 = "http2"
    #: MCP profile: the target is graded as a Streamable HTTP endpoint (not the legacy
    #: transport), whether or not it let a session open.
    MCP_ENDPOINT = "mcp-endpoint"
    #: MCP profile: an MCP session could be opened (initialize, or discover when stateless).
    MCP = "mcp"
    #: MCP profile: the server lists a tool that streams progress (``Target.mcp_tool``).
    MCP_PROGRESS = "mcp-progress"
    #: MCP profile: the server's streams carry event ids, so a dropped one can be resumed.
    MCP_RESUMABLE = "mcp-resumable"
    #: MCP profile: the server lists the conformance suite's ``test_reconnection`` tool.
    MCP_RECONNECT = "mcp-reconnect"
    #: MCP profile: the target speaks the legacy HTTP+SSE transport (2024-11-05).
    MCP_LEGACY = "mcp-legacy"

    def unmet(self, target: Target) -> str:
        """What a case with this need requires, and why this target does not give it."""
        if self is Need.RESUMABLE:
            return (
                "this case reconnects with Last-Event-ID and expects the stream to continue"
                " right after that id; the target was not declared resumable"
            )
        if self in (Need.SCRIPTED, Need.OBSERVABLE):
            wants = (
                "has the app stream a fixed script through its own stack"
                if self is Need.SCRIPTED
                else "watches the app's stream generators stop after clients leave"
            )
            base = target.contract_base
            missing = (
                "the run was told there is none (--contract '')"
                if not base
                else f"nothing at {base}/_contract answers as the contract (a locked contract"
                " refuses a request without its token with 403)"
            )
            return f"this case {wants}, which needs the scripting contract mounted; {missing}"
        if self is Need.HTTP2:
            why = (
                "--http1 was passed"
                if target.http == "1.1"
                else "a plain http:// URL is spoken to in HTTP/1.1 unless told otherwise"
                if urlsplit(target.url).scheme == "http"
                else "the server did not offer h2 in the TLS handshake (ALPN)"
            )
            return f"this case runs only over HTTP/2; the run spoke HTTP/1.1 ({why})"
        return ""

    def next_step(self, target: Target) -> str:
        """The flag to pass or the code to add so that a case with this need runs."""
        if self is Need.RESUMABLE:
            return (
                "if the stream resumes after Last-Event-ID, pass --resumable"
                " (pytest: --sse-resumable)"
            )
        if self in (Need.SCRIPTED, Need.OBSERVABLE):
            token = (
                "check the token: the one sent was refused"
                if target.contract_token
                else "pass its token with --contract-token TOKEN (pytest: --sse-contract-token)"
                f" or the {TOKEN_ENV} environment variable"
            )
            return (
                "mount the scripting contract in the app"
                " (app.include_router(harness.contract.make_router())), or pass --contract"
                " BASE_URL (pytest: --sse-contract) where it is mounted; if it is mounted and"
                f" locked, {token}"
            )
        if self is Need.HTTP2:
            if target.http == "1.1":
                return "if the server speaks HTTP/2, drop --http1 (pytest: --sse-http auto)"
            if urlsplit(target.url).scheme == "http":
                return (
                    "if the server speaks HTTP/2 without TLS (h2c), pass --http2"
                    " (pytest: --sse-http 2); else point at its https:// URL (--cafile for a"
                    " private CA). With no URL, sse-harness check --http2 runs these cases"
                    " on the reference server"
                )
            return (
                "if the server speaks HTTP/2, have it offer h2 by TLS ALPN (hypercorn does,"
                " uvicorn speaks only HTTP/1.1), or pass --http2 (pytest: --sse-http 2)"
            )
        return ""


def request_target(
    url: str,
    *,
    method: str = "GET",
    body: bytes | None = None,
    headers: Sequence[tuple[str, str]] = (),
    resumable: bool = False,
    contract: str | None = None,
    cafile: str | None = None,
    insecure: bool = False,
    http: HttpChoice = "auto",
    contract_token: str | None = None,
    profile: Profile = "sse",
    mcp_tool: str = "",
    mcp_version: str = "",
) -> Target:
    """A target as a user describes it on a command line: a body without a Content-Type header
    is sent as JSON, as the load user sends it, so both instruments make the same request; no
    ``contract_token`` means the environment's."""
    given = list(headers)
    if body is not None and not any(name.lower() == "content-type" for name, _ in given):
        given.append(("Content-Type", "application/json"))
    return Target(
        url=url,
        method=method.upper(),
        body=body,
        headers=tuple(given),
        resumable=resumable,
        contract=contract,
        cafile=cafile,
        insecure=insecure,
        http=http,
        contract_token=contract_token if contract_token is not None else env_contract_token(),
        profile=profile,
        mcp_tool=mcp_tool,
        mcp_version=mcp_version,
    )
