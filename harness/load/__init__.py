"""Load testing of SSE endpoints with Locust, measured the way streams must be measured.

The modules are layered so that only the Locust-facing ones import Locust (which monkeypatches
the process for gevent when imported):

- ``histogram``, ``integrity``, ``metrics``, ``stamps``, ``tokens``: pure bookkeeping, no I/O;
- ``transport``, ``session``, ``emitter``, ``calibration``: gevent sockets, no Locust;
- ``user``, ``plugin``: the Locust user class and the run-wide event listeners.

Nothing here is imported by ``harness`` at top level, so the asyncio parts of the project (the
conformance suite, the EventSource client) never run in a monkeypatched process by accident.
"""
