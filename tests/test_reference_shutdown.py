"""SIGTERM on a real ``python -m reference_server`` process: open streams end cleanly within a
bound, the process exits, and after a restart on the same port the counter stream resumes (one
harness.client EventSource across both processes) with nothing lost and nothing duplicated."""

from __future__ import annotations

import asyncio
import signal
import time
from contextlib import ExitStack

import pytest

from harness.client import EventSource, SSEStatusError
from reference_server.launch import free_port, serve_subprocess

pytestmark = pytest.mark.timeout(60)

ARGS = ["--shutdown-grace-s", "1", "--no-access-log", "--log-level", "warning"]
COUNT, CUT_AT = 40, 10


async def test_sigterm_ends_streams_cleanly_and_the_counter_resumes_after_restart() -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/counter?count={COUNT}&interval_ms=20&retry_ms=50"
    ids: list[int] = []
    with ExitStack() as servers:
        first = servers.enter_context(serve_subprocess(ARGS, port=port))
        async with EventSource(url, timeout=40, max_reconnects=200) as source:
            with pytest.raises(SSEStatusError) as stopped:  # 204: resumed past the last id
                async for event in source:
                    ids.append(int(event.last_event_id))
                    if len(ids) == CUT_AT:
                        started = time.monotonic()
                        code = await asyncio.to_thread(first.terminate, 10)
                        stop_s = time.monotonic() - started
                        await asyncio.to_thread(
                            servers.enter_context, serve_subprocess(ARGS, port=port)
                        )
    assert stopped.value.status == 204
    assert code in (0, -signal.SIGTERM)  # uvicorn re-raises the signal it handled
    assert stop_s < 5
    connections = source.trace.connections
    assert connections[0].end == "eof"  # ended with the final chunk, not cut
    assert ids == list(range(COUNT))
    resumed = next(c for c in connections[1:] if c.status == 200)
    assert int(resumed.last_event_id) == ids[resumed.event_index - 1]
