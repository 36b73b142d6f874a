"""A local event source of known cadence, stamped at the moment of sending.

It answers any request on its port with a ``text/event-stream`` body (read until close) of
counter-like events: ``id: n`` and ``{"seq": n, "intended": ..., "sent": ...}``, ``batch`` of
them every ``interval_s``, ``sent`` taken right before the write. It is the reference the
harness measures itself against (calibration: reader-side latency of a stream nothing else
delays) and, at interval 0, a source faster than any Python server for throughput figures.

``python -m harness.load.emitter --interval-ms 0 --batch 500`` serves one in its own process and
prints its URL.
"""

from __future__ import annotations

import argparse
import contextlib
import time
from collections.abc import Sequence

import gevent
import gevent.server
import gevent.socket

__all__ = ["Emitter", "block", "main"]

_HEAD = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
    b"Connection: close\r\n\r\n"
)
_MAX_REQUEST_HEAD = 64 * 1024
#: Connections the kernel may hold before they are accepted. gevent's default, 128, overflowed
#: while 10,000 readers connected at 1,000 a second (the overflow reached them as resets); the
#: kernel caps it at ``net.core.somaxconn`` (4096 on current Linux).
_BACKLOG = 4096


def block(seq: int, intended: float, sent: float) -> str:
    """One counter event, as ``harness.stream.encode`` writes ``id`` and a compact JSON ``data``
    (a test holds them equal), at a fifth of its cost: the emitter is the throughput benchmark's
    source, and must outrun the reader it measures."""
    return f'id: {seq}\ndata: {{"seq":{seq},"intended":{intended!r},"sent":{sent!r}}}\n\n'


class Emitter:
    """Serve events at ``interval_s`` (``batch`` per write, at most ``count`` per connection)."""

    def __init__(
        self,
        *,
        interval_s: float,
        batch: int = 1,
        count: int = 10**9,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        if interval_s < 0 or batch < 1 or count < 1:
            raise ValueError("interval_s must be >= 0, batch and count >= 1")
        self.interval_s = interval_s
        self.batch = batch
        self.count = count
        self._server = gevent.server.StreamServer((host, port), self._serve, backlog=_BACKLOG)

    def start(self) -> str:
        """Start accepting; return the URL to read."""
        self._server.start()
        host, port = self._server.address[:2]
        return f"http://{host}:{port}/"

    def stop(self) -> None:
        self._server.stop(timeout=1)

    def _serve(self, sock: gevent.socket.socket, _address: object) -> None:
        # A reader may leave at any point, by close, reset or broken pipe: that ends its stream,
        # like a normal end, and must not reach the hub (which prints a traceback per greenlet).
        with contextlib.suppress(OSError):
            if self._read_request(sock):
                self._stream(sock)

    @staticmethod
    def _read_request(sock: gevent.socket.socket) -> bool:
        """Wait for the request head, not looked at; False if the reader left or sent too much."""
        head = b""
        while b"\r\n\r\n" not in head:
            data = sock.recv(4096)
            if not data or len(head) > _MAX_REQUEST_HEAD:
                return False
            head += data
        return True

    def _stream(self, sock: gevent.socket.socket) -> None:
        sock.sendall(_HEAD)
        anchor = time.monotonic()
        anchor_wall = time.time()
        seq = 0
        tick = 0
        while seq < self.count:
            due = tick * self.interval_s
            delay = anchor + due - time.monotonic()
            if delay > 0:
                gevent.sleep(delay)
            intended = anchor_wall + due
            last = min(seq + self.batch, self.count)
            sent = time.time()
            sock.sendall("".join([block(n, intended, sent) for n in range(seq, last)]).encode())
            seq = last
            tick += 1


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.load.emitter", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--interval-ms", type=float, default=1000.0)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--count", type=int, default=10**9, help="events per connection")
    args = parser.parse_args(argv)
    emitter = Emitter(
        interval_s=args.interval_ms / 1000,
        batch=args.batch,
        count=args.count,
        host=args.host,
        port=args.port,
    )
    print(emitter.start(), flush=True)
    gevent.wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
