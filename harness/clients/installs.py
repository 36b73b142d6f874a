"""First-use installs into the cache directory: where they go, one at a time, bounded in time.

Clients the harness's own environment cannot hold are installed by their ordinary package
clients the first time a matrix needs them, into ``$SSE_HARNESS_CACHE`` (else
``$XDG_CACHE_HOME/sse-harness``, else ``~/.cache/sse-harness``), never into the checkout: npm
packages and a Node runtime (:mod:`.node`), and Python clients that clash with another one
(:func:`pip_folder`). An install holds a file lock, so matrices started side by side (tests,
CI) never install into the same folder at once, and a stamp file says what the folder holds, so
it is redone only when that changes.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import re
import shutil
import sys
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

from harness.clients.errors import Unavailable

__all__ = ["cache_root", "is_stamped", "locked", "pip_folder", "run_install", "write_stamp"]

_INSTALL_TIMEOUT_S = 300.0
_STAMP = ".installed"


def cache_root() -> Path:
    root = os.environ.get("SSE_HARNESS_CACHE")
    if root:
        return Path(root)
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "sse-harness"


@contextlib.asynccontextmanager
async def locked(folder: Path) -> AsyncIterator[None]:
    """Hold ``folder``'s install lock (a sibling ``.lock`` file) for the block."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    with open(folder.with_name(folder.name + ".lock"), "w") as lock:
        await asyncio.to_thread(fcntl.flock, lock.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock.fileno(), fcntl.LOCK_UN)


def is_stamped(folder: Path, what: str) -> bool:
    """``folder`` holds a complete install of ``what`` (written by :func:`write_stamp` last)."""
    path = folder / _STAMP
    return path.is_file() and path.read_text(encoding="utf-8") == what


def write_stamp(folder: Path, what: str) -> None:
    (folder / _STAMP).write_text(what, encoding="utf-8")


async def run_install(
    argv: Sequence[str], cwd: Path | None = None, env: dict[str, str] | None = None
) -> None:
    """Run an install command; raise :class:`Unavailable` with the tail of its output when it
    fails or outlasts its time limit."""
    process = await asyncio.create_subprocess_exec(
        *argv,
        cwd=cwd,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        output, _ = await asyncio.wait_for(process.communicate(), _INSTALL_TIMEOUT_S)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise Unavailable(f"{argv[0]} timed out after {_INSTALL_TIMEOUT_S:.0f} s") from None
    if process.returncode != 0:
        tail = output.decode("utf-8", "replace")[-800:]
        raise Unavailable(f"{' '.join(argv[:3])} failed: {tail}")


async def pip_folder(requirement: str) -> Path:
    """A folder holding ``requirement`` and its dependencies (``pip install --target``), for a
    Python client that cannot share the harness's environment: its worker gets the folder first
    on ``PYTHONPATH``, so its modules win over the environment's of the same name."""
    folder = cache_root() / "python" / re.sub(r"[^A-Za-z0-9._-]", "_", requirement)
    want = f"{requirement} on Python {sys.version_info.major}.{sys.version_info.minor}"
    async with locked(folder):
        if not is_stamped(folder, want):
            shutil.rmtree(folder, ignore_errors=True)
            pip = [sys.executable, "-m", "pip", "install", "--quiet", "--no-input", "--target"]
            await run_install([*pip, str(folder), requirement])
            write_stamp(folder, want)
    return folder
