"""Send and intended stamps carried by event payloads: what delivery latency and lateness need.

A *stamper* is made per stream (some keep state) and called once per read with the events that
read completed and the wall-clock time they were dispatched; it answers the ``sent`` and the
``intended`` Unix times it found, each list holding only the events that carry that stamp. A
read of a hot stream completes hundreds of events, so the stamper's loop runs without a Python
call per event. Delivery latency is dispatch minus ``sent``; lateness is dispatch minus
``intended``. Both compare the server's ``time.time()`` with the reader's, so they are exact on
one host and as good as clock synchronisation across hosts.

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

__all__ = ["STAMPERS", "Stamper", "StamperFactory", "Stamps", "json_stamps"]

#: ``(sent times, intended times)``, Unix seconds, of the events that carry each.
Stamps = tuple[list[float], list[float]]
#: ``(events one read completed, dispatched at, Unix s) -> stamps``.
Stamper = Callable[[list[Event], float], Stamps]
#: Makes the stamper of one stream.
StamperFactory = Callable[[], Stamper]


#: The C scanner behind ``json.loads``, called directly: it runs for every event, and the two
#: Python layers ``loads`` puts around it cost as much as the scan of a small payload.
_scan: Callable[[str, int], tuple[object, int]] = make_scanner(
    json.JSONDecoder()  # type: ignore[arg-type]  # typeshed wants the scanner class itself
)
_WHITESPACE = " \t\n\r"


def json_stamps(events: list[Event], _at: float) -> Stamps:
    """``sent`` and ``intended`` of the events whose payload is a JSON object with numeric
    values at those keys; nothing from anything else."""
    sents: list[float] = []
    intendeds: list[float] = []
    scan, whitespace = _scan, _WHITESPACE
    for event in events:
        data = event.data
        if not data.startswith("{"):
            continue
        try:
            payload, end = scan(data, 0)
        except (ValueError, StopIteration):
            continue
        if end != len(data) and data[end:].strip(whitespace):
            continue  # more after the object: not JSON (``json.loads`` rejects it too)
        assert isinstance(payload, dict)  # it began with "{" and scanned whole
        sent, intended = payload.get("sent"), payload.get("intended")
        # ``type() is``: a JSON number is exactly an int or a float (True is not a number).
        if type(sent) is float or type(sent) is int:
            sents.append(sent)
        if type(intended) is float or type(intended) is int:
            intendeds.append(intended)
    return sents, intendeds


def _stateless(stamper: Stamper) -> StamperFactory:
    return lambda: stamper


def _none(_events: list[Event], _at: float) -> Stamps:
    return [], []


#: Stampers by the name ``--sse-stamps`` takes.
STAMPERS: dict[str, StamperFactory] = {"json": _stateless(json_stamps), "none": _stateless(_none)}
