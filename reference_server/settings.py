"""Settings of the reference server, and the command-line flags derived from them.

One frozen dataclass holds every knob (delays, intervals, limits, buffer sizes) so that tests build
a fast server with ``Settings(char_interval_s=0.005, ...)`` and the CLI exposes the same knobs
without a second list: :func:`add_settings_arguments` derives one ``--flag`` per field. The page
origins a user trusts (``--cors-origin``) are parsed here too, so ``--help`` loads no web
framework.
"""

from __future__ import annotations

import argparse
import dataclasses
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "DEFAULT_ORIGINS",
    "Settings",
    "add_settings_arguments",
    "origin_pattern",
    "settings_from_args",
]


def _knob(default: float | int, text: str) -> Any:
    return field(default=default, metadata={"help": text})


@dataclass(frozen=True, slots=True)
class Settings:
    """Every tunable of the reference server. Times are seconds unless the name says otherwise."""

    char_interval_s: float = _knob(0.1, "delay between characters on GET / and POST /sse")
    echo_interval_s: float = _knob(1.0, "default interval of /sse, /sse2 and /sse3")
    keepalive_s: float = _knob(15.0, "keep-alive comment after this long silent (0 disables)")
    max_stream_s: float = _knob(3600.0, "longest any stream may run before it ends")
    max_events: int = _knob(1_000_000, "most events any one stream may send")
    send_timeout_s: float = _knob(30.0, "a client that takes longer to accept one write is dropped")
    shutdown_grace_s: float = _knob(2.0, "on shutdown, time streams get to end cleanly")
    max_body_bytes: int = _knob(64 * 1024, "request bodies larger than this get 413")
    replay_buffer: int = _knob(1000, "events kept per broadcast channel for resuming subscribers")
    max_channels: int = _knob(1000, "broadcast channels kept at once")
    observe_keep: int = _knob(1000, "finished streams kept by the observation endpoint")
    chat_tokens: int = _knob(32, "default token count of /v1/chat/completions")
    chat_tokens_per_s: float = _knob(20.0, "default token rate of /v1/chat/completions")
    slow_first_byte_s: float = _knob(5.0, "response delay of the slow_first_byte fault")
    leak_linger_s: float = _knob(5.0, "how long the leak_generator fault outlives its client")
    leak_kib_per_stream: int = _knob(256, "memory the leak_memory fault keeps per finished stream")
    script_max_delay_s: float = _knob(60.0, "largest total delay a posted script may ask for")
    script_max_streams: int = _knob(64, "most scripted streams running at once (429 past it)")

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise ValueError(f"{f.name} must be a non-negative number, got {value!r}")
        if self.script_max_streams < 1:
            raise ValueError(f"script_max_streams must be 1 or more, got {self.script_max_streams}")


def add_settings_arguments(parser: argparse.ArgumentParser) -> None:
    """Add one flag per :class:`Settings` field: ``char_interval_s`` -> ``--char-interval-s``."""
    group = parser.add_argument_group("reference server settings")
    for f in dataclasses.fields(Settings):
        default = f.default
        group.add_argument(
            "--" + f.name.replace("_", "-"),
            dest=f.name,
            type=type(default),
            default=default,
            metavar=type(default).__name__.upper(),
            help=f"{f.metadata['help']} (default: {default})",
        )


def settings_from_args(args: argparse.Namespace) -> Settings:
    """Build :class:`Settings` from a namespace filled by :func:`add_settings_arguments`."""
    return Settings(**{f.name: getattr(args, f.name) for f in dataclasses.fields(Settings)})


#: Pages served from this machine on any port, and ``null`` (file:// pages, sandboxed frames).
DEFAULT_ORIGINS = ("http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*", "null")

_ORIGIN = re.compile(
    r"(?P<site>https?://(?:\[[0-9a-f:.]+\]|[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?))"
    r"(?::(?P<port>[0-9]{1,5}|\*))?",
    re.IGNORECASE,
)


def origin_pattern(origins: Iterable[str]) -> str | None:
    """One regular expression matching ``origins`` (``scheme://host[:port]``, a port of ``*``
    for any or none, or ``null``); None when there are none. A malformed one is a ValueError."""
    parts = []
    for origin in origins:
        if origin == "null":
            parts.append("null")
            continue
        found = _ORIGIN.fullmatch(origin)
        if found is None:
            raise ValueError(
                f"{origin!r} is not an origin: scheme://host[:port] (port * for any), or null"
            )
        port = found["port"]
        parts.append(
            re.escape(found["site"].lower())
            + ("(?::[0-9]{1,5})?" if port == "*" else f":{port}" if port else "")
        )
    return "|".join(f"(?:{p})" for p in parts) or None
