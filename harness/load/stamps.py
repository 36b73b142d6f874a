"""Send and intended stamps carried by event payloads: what delivery latency and lateness need.

A *stamper* is made per stream (some keep state) and called per event with the wall-clock time
the event was dispatched; it answers ``(sent, intended)`` Unix times, either of which may be
None. Delivery latency is dispatch minus ``sent``; lateness is dispatch minus ``intended``. Both
compare the server's ``time.time()`` with the reader's, so they are exact on one host and as good
as clock synchronisation across hosts.

Built in:

``json``  a JSON object payload with numeric ``sent`` and ``intended`` keys: the reference
          server's counter stream (and anything that stamps the same way, e.g. a publisher).
``none``  no stamps: no latency or lateness (e.g. a stream whose payload is opaque).

The chat stream's stamper is :func:`harness.load.chat.chat_stamper` (it needs the token rate).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from json.scanner import make_scanner

from harness.stream import Event

__all__ = ["NO_STAMPS", "STAMPERS", "Stamper", "StamperFactory", "Stamps", "json_stamps"]

Stamps = tuple[float | None, float | None]
#: ``(event, dispatched at, Unix s) -> (sent, intended)``.
Stamper = Callable[[Event, float], Stamps]
#: Makes the stamper of one stream.
StamperFactory = Callable[[], Stamper]

NO_STAMPS: Stamps = (None, None)


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


#: The C scanner behind ``json.loads``, called directly: it runs for every event, and the two
#: Python layers ``loads`` puts around it cost as much as the scan of a small payload.
_scan: Callable[[str, int], tuple[object, int]] = make_scanner(
    json.JSONDecoder()  # type: ignore[arg-type]  # typeshed wants the scanner class itself
)
_WHITESPACE = " \t\n\r"


def json_stamps(event: Event, _at: float) -> Stamps:
    """``sent`` and ``intended`` from a JSON object payload; none for anything else."""
    data = event.data
    if not data.startswith("{"):
        return NO_STAMPS
    try:
        payload, end = _scan(data, 0)
    except (ValueError, StopIteration):
        return NO_STAMPS
    if end != len(data) and data[end:].strip(_WHITESPACE):
        return NO_STAMPS  # more after the object: not JSON (``json.loads`` rejects it too)
    assert isinstance(payload, dict)  # it began with "{" and scanned whole
    return _number(payload.get("sent")), _number(payload.get("intended"))


def _stateless(stamper: Stamper) -> StamperFactory:
    return lambda: stamper


def _none(_event: Event, _at: float) -> Stamps:
    return NO_STAMPS


#: Stampers by the name ``--sse-stamps`` takes.
STAMPERS: dict[str, StamperFactory] = {"json": _stateless(json_stamps), "none": _stateless(_none)}
