"""Next steps for cases that did not see enough of the stream to judge it.

A case that reports "not observed" must also say how to observe it: the flag that reads more,
or that nothing will (the stream ended). The flags are ``sse-harness check``'s; the pytest
plugin reads the whole window from its defaults.
"""

from __future__ import annotations

from harness.server.probe import Capture, Window

__all__ = ["SLOW_ANSWER", "read_more"]

SLOW_ANSWER = "if the target is slow to answer, raise --header-timeout"


def read_more(cap: Capture, window: Window) -> str | None:
    """The flag that would have shown more of ``cap`` (read within ``window``), or None when
    reading longer would not help: the stream ended, or the target refused."""
    if cap.end == "timeout":
        return f"{SLOW_ANSWER} (now {window.header_timeout:g} s)"
    if cap.end != "window":
        return None
    if len(cap.events) >= window.max_events:
        return f"raise --window-events (now {window.max_events}) to read more of the stream"
    return f"raise --window-seconds (now {window.max_seconds:g} s) to read more of the stream"
