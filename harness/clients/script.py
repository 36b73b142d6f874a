"""Building blocks of case scripts: event streams, refused responses, redirects, events.

The catalog (:mod:`.catalog`) and the LLM stream cases (:mod:`.llm_cases`) write their scripts
with these, so every case paces its chunks the same way: chunks after the first are sent
:data:`GAP` seconds apart, so each one reaches the client as its own read; a case about chunk
boundaries or timing passes :class:`~harness.clients.model.Piece` objects with explicit delays.
"""

from __future__ import annotations

from collections.abc import Iterable

from harness.clients.model import CASE_PATH, STREAM_HEADERS, End, Piece, Response
from harness.stream import Event

__all__ = ["GAP", "Part", "ev", "redirect", "refused", "stream"]

#: Seconds between scripted chunks unless a case says otherwise.
GAP = 0.05
Part = bytes | Piece


def _body(parts: Iterable[Part]) -> tuple[Piece, ...]:
    return tuple(
        part if isinstance(part, Piece) else Piece(part, 0.0 if i == 0 else GAP)
        for i, part in enumerate(parts)
    )


def stream(*parts: Part, end: End = "hold", content_type: str | None = None) -> Response:
    """A 200 event stream (or another Content-Type a conforming client still accepts)."""
    headers = STREAM_HEADERS if content_type is None else (("Content-Type", content_type),)
    return Response(200, headers, _body(parts), end)


def refused(
    status: int = 200, *parts: Part, headers: tuple[tuple[str, str], ...] = STREAM_HEADERS
) -> Response:
    """A response a conforming client must not read as a stream. Its body, if any, is a valid
    stream, so a client that reads it anyway shows it by dispatching."""
    return Response(status, headers, _body(parts), "close", stream=False)


def redirect(status: int, location: str | None = CASE_PATH + "/redirected") -> Response:
    headers = (("Location", location),) if location is not None else ()
    return Response(status, headers, (), "close", stream=False)


def ev(data: str, type: str = "message", id: str = "") -> Event:
    return Event(type, data, id)
