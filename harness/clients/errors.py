"""Why a client column cannot run."""

from __future__ import annotations

__all__ = ["Unavailable"]


class Unavailable(Exception):
    """The client cannot run here (not installed, failed to start); its column is
    UNIMPLEMENTED with this message as the reason, and the rest of the matrix goes on."""
