"""Typed events: a stream built from Pydantic models instead of hand-made dicts (``/sse2``).

``BaseEvent[T]`` carries an id and a payload of type ``T``; the event name derives from the
subclass name (``Echo`` -> ``echo``, ``ReverseEcho`` -> ``reverse_echo``) so a new event type is a
new class, not a new string to keep in sync.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Generic, TypeVar

from pydantic import BaseModel

from reference_server.frames import Frame

__all__ = ["BaseEvent", "Echo", "EchoPayload", "ReverseEcho"]

P = TypeVar("P")
_WORD_START = re.compile(r"(?<!^)(?=[A-Z])")


class BaseEvent(BaseModel, Generic[P]):
    id: int
    payload: P

    @classmethod
    def event_name(cls) -> str:
        return _WORD_START.sub("_", cls.__name__).lower()

    def to_frame(self) -> Frame:
        """The payload as compact JSON (timestamps in ISO 8601), under this class's event name."""
        payload = self.model_dump(mode="json")["payload"]
        data = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
        return Frame(data=data, event=self.event_name(), id=str(self.id))


class EchoPayload(BaseModel):
    message: str
    created_at: datetime


class Echo(BaseEvent[EchoPayload]):
    pass


class ReverseEcho(BaseEvent[EchoPayload]):
    pass
