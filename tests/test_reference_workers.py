"""``serve --workers N``: N processes behind one port and one ready line; the counter resumes
exactly whichever process answers; SIGTERM stops every process cleanly."""

from __future__ import annotations

import asyncio
import signal

import psutil
import pytest

from harness.client import EventSource
from reference_server.launch import READY_PREFIX, serve_subprocess

pytestmark = pytest.mark.timeout(60)

ARGS = ["--workers", "2", "--shutdown-grace-s", "1", "--no-access-log", "--log-level", "warning"]


async def test_two_workers_serve_one_url_resume_across_them_and_stop_on_sigterm() -> None:
    with serve_subprocess(ARGS) as server:
        parent = psutil.Process(server.popen.pid)
        workers = parent.children()
        assert len(workers) == 2
        assert [line.startswith(READY_PREFIX) for line in server.output].count(True) == 1
        # Four connections, each resuming after the last id the one before saw: whichever
        # process takes each, the ids continue exactly (the counter keeps no state).
        url = server.url + "/counter?count=12&interval_ms=1"
        seen: list[int] = []
        for _ in range(4):
            last = str(seen[-1]) if seen else ""
            async with EventSource(url, timeout=30, last_event_id=last) as source:
                async for event in source:
                    seen.append(int(event.last_event_id))
                    if len(seen) % 3 == 0:
                        break
        assert seen == list(range(12))
        code = await asyncio.to_thread(server.terminate, 20)
    assert code in (0, -signal.SIGTERM)
    assert not any(w.is_running() and w.status() != psutil.STATUS_ZOMBIE for w in workers)
