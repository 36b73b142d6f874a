"""A local event source of known cadence, stamped at the moment of sending.

It answers any request on its port with a ``text/event-stream`` body (read until close) of
counter-like events: ``id: n`` and ``{"seq": n, "intended": ..., "sent": ...}``, ``batch`` of
them every ``interval_s``, ``sent`` taken right before the write. It is the reference the
harness measures itself against (calibration: reader-side latency of a stream nothing else
delays) and, at interval 0, a source faster than any Python server for throughput figures.

It is also the density benchmark's source, and must outrun the reader it measures on the same
cores, so a connection costs it as little as it can: at an interval, once its request is read,
a connection is an entry in one schedule (slots of :data:`_SLOT_S`) that one event-loop timer
works through, writing each due batch with one non-blocking ``send``: no greenlet, sleep or timer
per connection. At interval 0 each connection has its greenlet, which writes as fast as the
socket takes it.

``python -m harness.load.emitter --interval-ms 0 --batch 500`` serves one in its own process and
prints its URL; ``--processes N`` serves the port from N processes (``SO_REUSEPORT``: the kernel
spreads the connections), for more streams than one process's open-file limit or core allows.
"""

from __future__ import annotations

import _socket
import argparse
import contextlib
import heapq
import math
import os
import signal
import socket
import time
from collections.abc import Callable, Sequence
from typing import Any

import gevent
import gevent.server
import gevent.socket
from gevent.hub import get_hub

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
#: Bytes a scheduled connection may hold unsent (its reader stopped reading) before it is closed.
_MAX_UNSENT = 1 << 20
#: The schedule's resolution: the batches due in one slot are written in one wake-up. A slot of
#: 1 ms keeps wake-ups to 1,000 a second however many streams there are (each costs a timer and
#: an ``epoll_wait``), and a batch is at most that late for its ``intended``.
_SLOT_S = 0.001
_NOT_ARMED = 1 << 62
_RUNNING = -1


def block(seq: int, intended: float, sent: float) -> str:
    """One counter event, as ``harness.stream.encode`` writes ``id`` and a compact JSON ``data``
    (a test holds them equal), at a fifth of its cost: the emitter is the throughput benchmark's
    source, and must outrun the reader it measures."""
    return f'id: {seq}\ndata: {{"seq":{seq},"intended":{intended!r},"sent":{sent!r}}}\n\n'


class _Scheduled:
    """One connection served on the schedule: its socket (plain, non-blocking) and where its
    stream is."""

    __slots__ = ("anchor", "anchor_wall", "seq", "sock", "tick", "unsent")

    def __init__(self, sock: _socket.socket) -> None:
        self.sock = sock
        self.anchor = time.monotonic()
        self.anchor_wall = time.time()
        self.seq = 0
        self.tick = 0
        #: What a full socket did not take yet; written before anything new.
        self.unsent = b""


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
        listener: socket.socket | None = None,
    ) -> None:
        """``listener``: a listening socket to serve instead of ``host`` and ``port``."""
        if interval_s < 0 or batch < 1 or count < 1:
            raise ValueError("interval_s must be >= 0, batch and count >= 1")
        self.interval_s = interval_s
        self.batch = batch
        self.count = count
        if listener is None:
            self._server = gevent.server.StreamServer((host, port), self._serve, backlog=_BACKLOG)
        else:  # listening already, with its own backlog
            self._server = gevent.server.StreamServer(listener, self._serve)
        #: The scheduled connections by the slot they are due in (monotonic time / slot length),
        #: and those slots' keys, earliest first.
        self._slots: dict[int, list[_Scheduled]] = {}
        self._keys: list[int] = []
        self._timer: Any = None  # gevent's timer watcher, armed for the earliest slot
        self._armed_for = _NOT_ARMED

    def start(self) -> str:
        """Start accepting; return the URL to read."""
        self._server.start()
        host, port = self._server.address[:2]
        return f"http://{host}:{port}/"

    def stop(self) -> None:
        self._server.stop(timeout=1)
        if self._timer is not None:
            self._timer.close()
            self._timer = None
        for slot in self._slots.values():
            for connection in slot:
                connection.sock.close()
        self._slots.clear()
        self._keys.clear()

    def _serve(self, sock: gevent.socket.socket, _address: object) -> None:
        # A reader may leave at any point, by close, reset or broken pipe: that ends its stream,
        # like a normal end, and must not reach the hub (which prints a traceback per greenlet).
        with contextlib.suppress(OSError):
            if not self._read_request(sock):
                return
            sock.sendall(_HEAD)
            if self.interval_s == 0:
                self._stream(sock)
                return
            plain = _socket.socket(fileno=sock.detach())  # the server's close is now a no-op
            plain.setblocking(False)
            self._schedule(_Scheduled(plain), time.monotonic())

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
        """Interval 0: write batch after batch, as fast as the socket takes them (each intended
        at the stream's start)."""
        intended = time.time()
        seq = 0
        while seq < self.count:
            last = min(seq + self.batch, self.count)
            sent = time.time()
            sock.sendall("".join([block(n, intended, sent) for n in range(seq, last)]).encode())
            seq = last

    # -- the schedule (interval > 0) ---------------------------------------------------------

    def _schedule(self, connection: _Scheduled, due: float) -> None:
        """Put ``connection`` in the slot of ``due`` (monotonic seconds), the first that does
        not begin before it: a batch is never written early, and at most a slot late."""
        key = math.ceil(due / _SLOT_S)
        slot = self._slots.get(key)
        if slot is not None:
            slot.append(connection)
            return
        self._slots[key] = [connection]
        heapq.heappush(self._keys, key)
        if key < self._armed_for:
            self._arm(key)

    def _arm(self, key: int) -> None:
        """Wake :meth:`_run_due` when the slot ``key`` begins."""
        if self._timer is not None:
            self._timer.close()
        self._armed_for = key
        self._timer = get_hub().loop.timer(max(key * _SLOT_S - time.monotonic(), 0.0))
        self._timer.start(self._run_due)

    def _run_due(self) -> None:
        """Write the batches of every slot that has begun, then sleep until the next one."""
        keys, slots, interval_s = self._keys, self._slots, self.interval_s
        self._armed_for = _RUNNING  # no arming while slots are worked through: once, after
        now_key = time.monotonic() / _SLOT_S
        while keys and keys[0] <= now_key:
            for connection in slots.pop(heapq.heappop(keys)):
                if self._write(connection):
                    connection.tick += 1
                    self._schedule(connection, connection.anchor + connection.tick * interval_s)
        self._armed_for = _NOT_ARMED
        if keys:
            self._arm(keys[0])

    def _write(self, connection: _Scheduled) -> bool:
        """Send ``connection``'s due batch after what it could not send before; False when its
        stream is over (all sent, or the reader left or stopped reading: its socket is closed).
        """
        seq, count = connection.seq, self.count
        data = connection.unsent
        if seq < count and len(data) < _MAX_UNSENT:
            last = min(seq + self.batch, count)
            intended = connection.anchor_wall + connection.tick * self.interval_s
            sent = time.time()
            if last == seq + 1:  # the common batch: no list, no join
                data += block(seq, intended, sent).encode()
            else:
                data += "".join([block(n, intended, sent) for n in range(seq, last)]).encode()
            connection.seq = seq = last
        try:
            written = connection.sock.send(data)
        except BlockingIOError:
            written = 0
        except OSError:  # the reader left (reset, broken pipe): a normal end
            connection.sock.close()
            return False
        if written < len(data):
            connection.unsent = data[written:]
            if len(connection.unsent) < _MAX_UNSENT:
                return True
        elif seq < count:
            connection.unsent = b""
            return True
        connection.sock.close()
        return False


def reuse_port_listener(host: str, port: int) -> socket.socket:
    """A listening socket on ``(host, port)`` that other processes may listen on as well
    (``SO_REUSEPORT``: the kernel spreads new connections over them)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(_BACKLOG)
    # gevent's server accepts until the backlog is empty: a blocking accept would then wait.
    sock.setblocking(False)
    return sock


def _fork_helpers(n: int, serve: Callable[[], None]) -> list[int]:
    """Start ``n`` processes that each run ``serve`` until they are terminated. Called before
    this process makes its gevent hub, which a child must not inherit."""
    pids = []
    for _ in range(n):
        pid = os.fork()
        if pid == 0:  # the helper: never return into the caller's code
            try:
                serve()
            finally:
                os._exit(0)
        pids.append(pid)
    return pids


def _with_helpers(
    host: str, port: int, n: int, make: Callable[[socket.socket], Emitter]
) -> tuple[socket.socket, list[int]]:
    """This process's listener on ``(host, port)``, and ``n`` helper processes serving the same
    port from listeners of their own (the port is chosen here when ``port`` is 0)."""
    listener = reuse_port_listener(host, port)
    chosen = listener.getsockname()[1]

    def helper() -> None:
        listener.close()
        make(reuse_port_listener(host, chosen)).start()
        gevent.wait()

    return listener, _fork_helpers(n, helper)


def _end(helpers: list[int]) -> None:
    """End this process, its helpers first (terminated and waited for: none is left behind)."""
    for pid in helpers:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGTERM)
            os.waitpid(pid, 0)
    os._exit(0)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.load.emitter", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--interval-ms", type=float, default=1000.0)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--count", type=int, default=10**9, help="events per connection")
    parser.add_argument("--processes", type=int, default=1, help="processes serving the port")
    args = parser.parse_args(argv)

    def make(listener: socket.socket | None) -> Emitter:
        return Emitter(
            interval_s=args.interval_ms / 1000,
            batch=args.batch,
            count=args.count,
            host=args.host,
            port=args.port,
            listener=listener,
        )

    listener: socket.socket | None = None
    helpers: list[int] = []
    if args.processes > 1:
        listener, helpers = _with_helpers(args.host, args.port, args.processes - 1, make)
    url = make(listener).start()
    gevent.signal_handler(signal.SIGTERM, _end, helpers)
    print(url, flush=True)
    gevent.wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
