"""The state one reference-server app owns: settings, stream registry, channels, detached tasks."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from contextlib import aclosing
from dataclasses import dataclass, field

from starlette.requests import Request

from harness.contract import StreamRegistry
from reference_server.channels import Channels
from reference_server.settings import Settings

__all__ = ["Runtime", "runtime"]


@dataclass
class Runtime:
    settings: Settings
    registry: StreamRegistry
    channels: Channels
    detached: set[asyncio.Task[None]] = field(default_factory=set)
    #: What the ``leak_memory`` fault keeps of each finished stream, for the app's lifetime.
    retained: list[bytes] = field(default_factory=list)

    @classmethod
    def build(cls, settings: Settings) -> Runtime:
        return cls(
            settings,
            StreamRegistry(keep_finished=settings.observe_keep),
            Channels(limit=settings.max_channels, replay=settings.replay_buffer),
        )

    async def detach(
        self, body: AsyncGenerator[bytes, None], linger_s: float
    ) -> AsyncGenerator[bytes, None]:
        """Run ``body`` in a task of its own that outlives its reader by ``linger_s``.

        This is the ``leak_generator`` fault: the response reads from a queue, so when the client
        leaves only the reader stops, and the producer keeps going until it is cancelled. The
        task starts on the first read, so a response that never streams (HEAD) starts nothing.
        """
        queue: asyncio.Queue[bytes | None] = asyncio.Queue()

        async def produce() -> None:
            try:
                async with aclosing(body) as blocks:
                    async for block in blocks:
                        queue.put_nowait(block)
            finally:
                queue.put_nowait(None)

        loop = asyncio.get_running_loop()
        task = loop.create_task(produce())
        self.detached.add(task)
        task.add_done_callback(self.detached.discard)
        try:
            while (block := await queue.get()) is not None:
                yield block
        finally:
            loop.call_later(linger_s, task.cancel)

    async def retain_after(
        self, body: AsyncGenerator[bytes, None], kib: int
    ) -> AsyncGenerator[bytes, None]:
        """Stream ``body``; when it ends, however it ends, keep ``kib`` KiB for good.

        This is the ``leak_memory`` fault. The bytes are written, not just reserved (a
        ``bytes(n)`` of zeros may be mapped lazily and never become resident), so the process's
        resident memory grows by what each stream left.
        """
        try:
            async with aclosing(body) as blocks:
                async for block in blocks:
                    yield block
        finally:
            self.retained.append(b"\xa5" * (kib * 1024))

    async def aclose(self) -> None:
        """Cancel what is still detached (app shutdown): nothing outlives the app."""
        for task in list(self.detached):
            task.cancel()
        await asyncio.gather(*self.detached, return_exceptions=True)


def runtime(request: Request) -> Runtime:
    """The :class:`Runtime` of the app serving ``request``."""
    found = request.app.state.runtime
    if not isinstance(found, Runtime):
        raise TypeError("app.state.runtime is not a reference_server Runtime")
    return found
