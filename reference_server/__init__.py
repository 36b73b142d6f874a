"""The reference SSE server: the target under test, correct, observable and breakable on purpose.

``reference_server.app.create_app(settings)`` builds the FastAPI app; ``python -m reference_server``
and ``sse-harness serve`` run it under uvicorn; ``reference_server.launch`` runs any ASGI app on a
free loopback port for tests. The guard that keeps sse-starlette within the rules lives in
``harness.sse_guard``, shared with ``harness.contract``, which users mount in their own apps.
"""
