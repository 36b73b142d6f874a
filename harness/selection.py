"""Which cases a ``--cases`` pattern names: one matcher for server and client cases alike.

A user who types ``server.framing`` means the framing group, exactly as ``server.framing.*``;
a typo must not grade nothing and exit 0. So a pattern is comma-separated globs or plain
prefixes (a prefix ends at a dot boundary: ``client.line`` does not select ``client.lines.1``),
and a pattern that selects nothing raises :class:`NoCaseMatched` naming the groups there are.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterable
from typing import TypeVar

__all__ = ["NoCaseMatched", "groups", "id_matches", "select_by_id"]

T = TypeVar("T")


class NoCaseMatched(ValueError):
    """A pattern selected no case; the message lists the groups that exist."""

    def __init__(self, pattern: str, known: Iterable[str]) -> None:
        self.pattern = pattern
        self.groups = groups(known)
        super().__init__(f"--cases {pattern!r} matches no case; groups: {', '.join(self.groups)}")


def groups(ids: Iterable[str]) -> list[str]:
    """The groups (an id without its number) in first-seen order."""
    return list(dict.fromkeys(case_id.rsplit(".", 1)[0] for case_id in ids))


def id_matches(case_id: str, pattern: str) -> bool:
    """Does one comma-separated pattern (globs or prefixes) select ``case_id``?"""
    for part in (p.strip() for p in pattern.split(",")):
        if not part:
            continue
        if any(ch in part for ch in "*?["):
            if fnmatch.fnmatchcase(case_id, part):
                return True
        elif case_id == part or case_id.startswith(part.rstrip(".") + "."):
            return True
    return False


def select_by_id(items: Iterable[T], pattern: str | None, key: Callable[[T], str]) -> list[T]:
    """The items whose ``key`` the pattern selects, in their order; every item without a
    pattern. Raises :class:`NoCaseMatched` when a pattern selects nothing."""
    items = list(items)
    if not pattern or not pattern.strip():
        return items
    chosen = [item for item in items if id_matches(key(item), pattern)]
    if not chosen:
        raise NoCaseMatched(pattern, (key(item) for item in items))
    return chosen
