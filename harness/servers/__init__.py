"""The server-library matrix: the same streams served by each SSE server library, graded.

Each library has an example app written the way its documentation shows (:mod:`.apps`, Python,
installed with the ``servers`` extra; ``js/``, Node, installed on first use from a shipped lock
by :mod:`.node`), listed in :mod:`.catalog`. :func:`run_servers` starts each app in its own
process on a free loopback port (:mod:`.launch`, :mod:`.serve`), grades it with the server
instrument (:func:`harness.server.run_check`) and writes ``servers.json`` and the Markdown page
(:mod:`.report`). ``sse-harness servers`` (:mod:`harness.commands.servers`) calls it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harness.servers.run import ServersOptions, ServersResult, run_servers

__all__ = ["ServersOptions", "ServersResult", "run_servers"]


def __getattr__(name: str) -> Any:
    # Loaded on first use: the app processes import this package and must start fast.
    if name in __all__:
        from harness.servers import run

        return getattr(run, name)
    raise AttributeError(f"module 'harness.servers' has no attribute {name!r}")
