"""MCP servers: sessions calling a streaming tool, with dropped streams resumed by Last-Event-ID.

    locust -f locustfiles/mcp.py --host http://127.0.0.1:8000 --headless -u 20 -r 10 -t 1m

Each user opens one MCP session (initialize, notifications/initialized; then its session id and
MCP-Protocol-Version on every request) at ``--sse-path`` (default ``/mcp``) and calls
``--sse-mcp-tool`` (default ``test_tool_with_progress``, which streams progress 0, 50 and 100,
then answers) again and again, ``--sse-mcp-parallel`` calls at once, each read from its POST's
event stream to its response. ``--sse-mcp-drop-share`` of the calls (default 0.1) are dropped
after their first message and resumed by GET with ``Last-Event-ID`` after the stream's ``retry``,
read to their response. load.json's ``mcp`` section has the time to the priming event and to the
result, how late the resume was after ``retry``, the replay latency, sessions open, calls and
drops, and the messages lost or duplicated per 1,000 drops, each gated (``mcp_*`` thresholds).
"""

from harness.load.mcp_user import McpUser
from harness.load.options import Defaults
from harness.load.plugin import install

install(
    Defaults(
        profile="mcp",
        path="/mcp",
        method="POST",
        max_events=0,
        max_seconds=30.0,
        stamps="none",
        ids="none",
    )
)


class McpSessionUser(McpUser):
    """One MCP session, one tool call after another."""
