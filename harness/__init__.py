"""sse-harness: conformance and load testing for Server-Sent Events.

The public surface is what the package roots export in ``__all__``:

- ``harness`` (this module): the sans-I/O core, :class:`Parser`, :class:`Event`, :func:`encode`,
  and the EventSource connection machine (:mod:`harness.connection`), standard library only, so
  the same code serves the asyncio client, Locust users under gevent, the fuzzing server and
  hypothesis properties; plus :class:`EventSource` (:mod:`harness.client`, over aiohttp), loaded
  only when first used;
- the instruments: :mod:`harness.server` (``run_check``), :mod:`harness.load` (``run_load``),
  :mod:`harness.clients` (``run_clients``);
- :mod:`harness.contract` (the scripting contract to mount in your own app) and the pytest plugin.

Everything else is internal and may change between versions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from harness.stream import Event, Parser, StreamLimitError, encode

if TYPE_CHECKING:
    from harness.client import EventSource

__version__ = "0.1.0"

__all__ = ["Event", "EventSource", "Parser", "StreamLimitError", "__version__", "encode"]


def __getattr__(name: str) -> Any:
    # EventSource needs aiohttp; importing the core must not.
    if name == "EventSource":
        from harness.client import EventSource

        return EventSource
    raise AttributeError(f"module 'harness' has no attribute {name!r}")
