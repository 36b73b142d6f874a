"""The load instrument: Locust drives many streams and measures them the way streams must be.

:func:`run_load` (with :class:`LoadOptions`) is the one entry point: ``sse-harness load`` and
``check``'s load probe call it; it runs a shipped locustfile (``harness.locustfiles``) in a
Locust child process. The modules are layered so that only the Locust-facing ones import Locust
(which monkeypatches the process for gevent when imported):

- ``histogram``, ``integrity``, ``metrics``, ``stamps``, ``chat``, ``mcp_figures``, ``soak``,
  ``gate``, ``report``: pure bookkeeping, verdicts and the ``load.json`` document, no I/O beyond
  writing it;
- ``memory``, ``target_watch``: what /proc says of a process, and a soak's observations of its
  target (plain ``urllib``, cooperative once gevent has patched the process);
- ``transport``, ``session``, ``mcp_session``, ``emitter``, ``calibration``: gevent sockets, no
  Locust;
- ``options``, ``user``, ``mcp_user``, ``plugin``: Locust's options, the user classes and the
  run's listeners;
- ``run``: the child-process runner (standard library only at import).

Importing this package loads only ``run``, so the asyncio parts of the project (the conformance
suite, the EventSource client) never run in a monkeypatched process by accident.
"""

from __future__ import annotations

from harness.load.run import PROFILES, LoadError, LoadOptions, LoadResult, locustfile, run_load

__all__ = ["PROFILES", "LoadError", "LoadOptions", "LoadResult", "locustfile", "run_load"]
