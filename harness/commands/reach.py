"""Is anything answering HTTP at a URL? Asked before a run, so a typo'd port or a server that
never started costs one line and exit 2, not a report full of ERROR."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

__all__ = ["unreachable"]


def unreachable(
    url: str,
    *,
    method: str = "GET",
    body: bytes | None = None,
    headers: Sequence[tuple[str, str]] = (),
    timeout: float = 10.0,
) -> str | None:
    """None when ``url`` answers HTTP at all (any status); else a one-line cause."""
    return asyncio.run(_ask(url, method, body, dict(headers), timeout))


async def _ask(
    url: str, method: str, body: bytes | None, headers: dict[str, str], timeout: float
) -> str | None:
    import aiohttp

    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as session,
            session.request(method, url, data=body, headers=headers) as response,
        ):
            response.close()
            return None
    except TimeoutError:
        return f"no answer from {url} within {timeout:.0f} s"
    except aiohttp.ClientConnectorError as exc:
        return f"cannot connect to {url}: {exc.os_error or exc}"
    except (aiohttp.ClientError, OSError, ValueError) as exc:
        return f"cannot reach {url}: {type(exc).__name__}: {exc}"
