"""Named fault modes: each one makes a clean stream break exactly one rule of SPEC.md.

:data:`FAULTS` is the single source for ``GET /faults``, for per-request selection (``?fault=`` or
``X-SSE-Fault:``) and for the tests that prove each harness check catches what it claims. A fault
is data plus at most a hook or two, applied by ``reference_server.streaming`` at one of these
layers, in this order:

``response``  the whole answer is replaced (an HTML page)
``timing``    the response is delayed, or its producer is detached from it
``request``   the request is read differently (``Last-Event-ID`` ignored)
``frames``    blocks are duplicated or dropped before encoding
``lines``     the encoded lines of each data block are edited (the only place bytes that
              ``harness.stream.encode`` refuses to write are made, deliberately)
``chunks``    the byte stream as a whole is reshaped (buffered, truncated, compressed, cut)
``headers``   status and headers of the guarded response are changed
``capacity``  beyond a number of live streams, a request is refused by dropping the connection
``head``      HEAD runs the stream and is answered only when it ends (what Node does to a HEAD
              routed to a GET handler)
``cors``      the CORS preflight does not allow ``Last-Event-ID`` (``reference_server.cors``)
``memory``    what a stream held is kept after it ends (a leak only a soak run shows)
"""

from __future__ import annotations

import zlib
from collections.abc import AsyncGenerator, Callable, Mapping, Sequence
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import Any

from harness.outcome import Level
from harness.rules import rule
from reference_server.frames import Frame

__all__ = ["FAULTS", "HTML_PAGE", "Fault", "InjectedAbort", "fault_catalogue"]

#: (index among frames that carry an id, frame) -> frames to send instead.
FrameRule = Callable[[int, Frame], Sequence[Frame]]
#: (index among blocks that carry data, the block's lines without EOLs) -> the lines to send.
LineEdit = Callable[[int, list[bytes]], list[bytes]]
#: (encoded blocks, the EOL they use) -> the bytes to send.
ChunkStage = Callable[[AsyncGenerator[bytes, None], bytes], AsyncGenerator[bytes, None]]

HTML_PAGE = (
    "<!doctype html>\n<html><head><title>Sign in</title></head>"
    "<body><form method=post><input name=user></form></body></html>\n"
)
_BOM = b"\xef\xbb\xbf"
#: Frame faults hit the 2nd, 5th, 8th ... frame that has an id, so short streams show them.
_EVERY, _FIRST = 3, 1


class InjectedAbort(Exception):
    """Raised on purpose by ``status_500_midstream``: the server aborts the connection."""


@dataclass(frozen=True, slots=True)
class Fault:
    name: str
    rule: str
    description: str
    set_headers: Mapping[str, str] = field(default_factory=dict)
    drop_headers: tuple[str, ...] = ()
    status: int | None = None
    html_page: bool = False
    slow_start: bool = False
    detach: bool = False
    honours_resume: bool = True
    frames: FrameRule | None = None
    lines: LineEdit | None = None
    chunks: ChunkStage | None = None
    keepalive: bool = True
    #: Live streams with this fault the app holds; beyond, the connection is dropped unanswered.
    capacity: int | None = None
    hold_head: bool = False
    #: The CORS preflight leaves ``last-event-id`` out of the allowed headers.
    refuses_last_event_id: bool = False
    #: Each stream leaves memory behind when it ends (``leak_kib_per_stream``).
    retains: bool = False

    @property
    def level(self) -> Level:
        """The level of the rule broken, as SPEC.md grades it (``harness.rules``)."""
        return rule(self.rule).level

    @property
    def layers(self) -> list[str]:
        """Where the fault acts (see the module docstring), for ``GET /faults``."""
        flags = {
            "response": self.html_page,
            "timing": self.slow_start or self.detach,
            "request": not self.honours_resume,
            "frames": self.frames is not None,
            "lines": self.lines is not None,
            "chunks": self.chunks is not None,
            "headers": bool(self.set_headers or self.drop_headers)
            or self.status is not None
            or not self.keepalive,
            "capacity": self.capacity is not None,
            "head": self.hold_head,
            "cors": self.refuses_last_event_id,
            "memory": self.retains,
        }
        return [layer for layer, on in flags.items() if on]

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "rule": self.rule,
            "level": self.level.value,
            "layers": self.layers,
            "description": self.description,
        }


# -- line edits: surgery on the lines of one block as harness.stream.encode wrote them ----------


def _field(name: bytes, new_value: Callable[[bytes], bytes]) -> LineEdit:
    """Rewrite the value of field ``name``; add the field before the first data line if absent."""
    prefix = name + b":"

    def edit(_index: int, lines: list[bytes]) -> list[bytes]:
        for i, line in enumerate(lines):
            if line.startswith(prefix):
                lines[i] = prefix + b" " + new_value(line[len(prefix) :].removeprefix(b" "))
                return lines
        at = next(i for i, line in enumerate(lines) if line.startswith(b"data:"))
        lines.insert(at, prefix + b" " + new_value(b""))
        return lines

    return edit


def _uppercase_names(_index: int, lines: list[bytes]) -> list[bytes]:
    out = []
    for line in lines:
        name, colon, value = line.partition(b":")
        out.append(line if not name else name.upper() + colon + value)
    return out


def _bom_after_first(index: int, lines: list[bytes]) -> list[bytes]:
    if index > 0:
        lines[0] = _BOM + lines[0]
    return lines


# -- frame rules --------------------------------------------------------------------------------


def _duplicate(index: int, frame: Frame) -> Sequence[Frame]:
    return (frame, frame) if index % _EVERY == _FIRST else (frame,)


def _skip(index: int, frame: Frame) -> Sequence[Frame]:
    return () if index % _EVERY == _FIRST else (frame,)


# -- chunk stages -------------------------------------------------------------------------------


async def _buffer_all(
    chunks: AsyncGenerator[bytes, None], _eol: bytes
) -> AsyncGenerator[bytes, None]:
    held = bytearray()
    async with aclosing(chunks) as blocks:
        async for block in blocks:
            held += block
    yield bytes(held)


async def _drop_final_blank_line(
    chunks: AsyncGenerator[bytes, None], eol: bytes
) -> AsyncGenerator[bytes, None]:
    # Each block is held until the next one exists, so only the last one loses its blank line.
    last: bytes | None = None
    async with aclosing(chunks) as blocks:
        async for block in blocks:
            if last is not None:
                yield last
            last = block
    if last is not None:
        yield last.removesuffix(eol)


async def _abort_after_two(
    chunks: AsyncGenerator[bytes, None], _eol: bytes
) -> AsyncGenerator[bytes, None]:
    sent = 0
    async with aclosing(chunks) as blocks:
        async for block in blocks:
            if sent == 2:
                yield block[: len(block) // 2]
                break
            yield block
            sent += 1
    raise InjectedAbort("status_500_midstream: the response is already started; abort it")


async def _gzip(chunks: AsyncGenerator[bytes, None], _eol: bytes) -> AsyncGenerator[bytes, None]:
    # A sync flush per block keeps events prompt for a decompressing client; proxies may not.
    gzip = zlib.compressobj(wbits=31)
    async with aclosing(chunks) as blocks:
        async for block in blocks:
            yield gzip.compress(block) + gzip.flush(zlib.Z_SYNC_FLUSH)
    yield gzip.flush()


def _retry(name: str, value: bytes) -> Fault:
    return Fault(
        name,
        "S-11",
        f"every data block carries 'retry: {value.decode()}'; clients must ignore it",
        lines=_field(b"retry", lambda _old: value),
    )


_ALL = (
    Fault(
        "wrong_content_type",
        "S-02",
        "Content-Type is text/plain; clients must fail the connection",
        set_headers={"content-type": "text/plain; charset=utf-8"},
    ),
    Fault(
        "charset_latin1",
        "S-03",
        "Content-Type is text/event-stream; charset=latin-1 (the body stays UTF-8)",
        set_headers={"content-type": "text/event-stream; charset=latin-1"},
    ),
    Fault(
        "html_body",
        "S-02",
        "200 with an HTML sign-in page instead of a stream, as a proxy or auth wall sends",
        html_page=True,
    ),
    Fault(
        "status_500",
        "S-01",
        "the stream is answered with status 500 (the body is a valid event stream)",
        status=500,
    ),
    Fault(
        "status_500_midstream",
        "S-07",
        "two blocks, half of the third, then the app fails; the 500 cannot be sent after the "
        "headers, so the server aborts the connection and the last event is cut",
        chunks=_abort_after_two,
    ),
    Fault(
        "no_final_blank_line",
        "S-07",
        "the last block lacks its blank line, so clients discard the last event "
        "(each block is held back until the next one is ready)",
        chunks=_drop_final_blank_line,
    ),
    Fault(
        "cr_in_value",
        "S-06",
        "the first data line of every event is 'data: V<CR>V': a bare CR inside a value",
        lines=_field(b"data", lambda v: v + b"\r" + v),
    ),
    Fault(
        "lf_in_value",
        "S-06",
        "the first data line of every event is 'data: V<LF>V': a bare LF inside a value",
        lines=_field(b"data", lambda v: v + b"\n" + v),
    ),
    Fault(
        "nul_in_id",
        "S-10",
        "every data block's id ends in U+0000 (added when absent); clients ignore such ids",
        lines=_field(b"id", lambda v: (v or b"0") + b"\x00"),
    ),
    _retry("retry_decimal", b"1.5"),
    _retry("retry_negative", b"-1"),
    _retry("retry_bool", b"True"),
    _retry("retry_unit", b"5s"),
    Fault(
        "invalid_utf8",
        "S-04",
        "the first data line of every event ends in the byte 0xFF, never valid UTF-8",
        lines=_field(b"data", lambda v: v + b"\xff"),
    ),
    Fault(
        "bom_midstream",
        "S-06",
        "every data block after the first starts with a UTF-8 BOM, which then belongs to the "
        "first field name",
        lines=_bom_after_first,
    ),
    Fault(
        "uppercase_fields",
        "S-08",
        "field names in upper case (DATA:, EVENT:, ID:, RETRY:); clients ignore those lines",
        lines=_uppercase_names,
    ),
    Fault(
        "buffered",
        "S-17",
        "every block is held and the whole stream is flushed at once when it ends",
        chunks=_buffer_all,
        keepalive=False,
    ),
    Fault(
        "gzip",
        "S-21",
        "Content-Encoding: gzip on the stream (sync-flushed per block)",
        set_headers={"content-encoding": "gzip", "vary": "Accept-Encoding"},
        chunks=_gzip,
        keepalive=False,
    ),
    Fault(
        "ignore_last_event_id",
        "S-18",
        "Last-Event-ID (header or query) is ignored: a resumable stream restarts at 0",
        honours_resume=False,
    ),
    Fault(
        "duplicate_ids",
        "S-18",
        "the 2nd, 5th, 8th ... block with an id is sent twice",
        frames=_duplicate,
    ),
    Fault(
        "skip_ids",
        "S-18",
        "the 2nd, 5th, 8th ... block with an id is never sent",
        frames=_skip,
    ),
    Fault(
        "leak_generator",
        "S-23",
        "the producer runs in a task of its own and keeps going for leak_linger_s after the "
        "client leaves (visible in /_observe/streams)",
        detach=True,
    ),
    Fault(
        "leak_memory",
        "S-23",
        "every stream leaves leak_kib_per_stream KiB in the app's memory when it ends, as a"
        " buffer or subscription kept per client would (no single stream shows it; a soak run"
        " does: sse-harness load --soak)",
        retains=True,
    ),
    Fault(
        "slow_first_byte",
        "S-17",
        "the response (headers included) is held for slow_first_byte_s",
        slow_start=True,
    ),
    Fault(
        "no_keepalive",
        "S-16",
        "no keep-alive comments, however long the stream stays idle",
        keepalive=False,
    ),
    Fault(
        "connection_header",
        "S-22",
        "a Connection: keep-alive header, forbidden over HTTP/2",
        set_headers={"connection": "keep-alive"},
    ),
    Fault(
        "no_cache_control",
        "S-20",
        "no Cache-Control header, so caches may store and replay the stream",
        drop_headers=("cache-control",),
    ),
    Fault(
        "no_accel_buffering",
        "S-21",
        "no X-Accel-Buffering: no header, so nginx buffers the stream",
        drop_headers=("x-accel-buffering",),
    ),
    Fault(
        "capacity_reset",
        "S-14",
        "beyond 10 live streams with this fault, the connection is dropped without an answer "
        "(clients reconnect at once) instead of a 503",
        capacity=10,
    ),
    Fault(
        "head_held",
        "S-01",
        "HEAD runs the stream and its headers are sent only when the stream ends, as Express "
        "and Fastify on Node answer a HEAD routed to the GET handler",
        hold_head=True,
    ),
    Fault(
        "cors_refuses_last_event_id",
        "S-19",
        "the CORS preflight does not allow the Last-Event-ID header, so a browser on another "
        "origin cannot reconnect with it",
        refuses_last_event_id=True,
    ),
)

#: Every fault by name.
FAULTS: dict[str, Fault] = {fault.name: fault for fault in _ALL}


def fault_catalogue() -> list[dict[str, Any]]:
    """``GET /faults``: name, rule, level, layers and description of every fault."""
    return [fault.as_json() for fault in FAULTS.values()]
