"""sse-harness: conformance and load testing for Server-Sent Events.

The core (``harness.stream``) is sans-I/O so that the same parser serves the asyncio client,
Locust users under gevent, the fuzzing server and hypothesis properties.
"""

__version__ = "0.1.0"
