"""Node runners: the npm clients are installed on first use into a cache dir, not the repo.

The runner scripts and ``package.json`` are copied from ``harness/clients/js/`` next to the
installed ``node_modules``, so the scripts import the libraries by name with Node's ordinary
resolution. ``npm install`` runs again only when ``package.json`` changed.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path

from harness.clients.errors import Unavailable

__all__ = ["JS", "cache_dir", "prepare"]

JS = Path(__file__).with_name("js")
_NPM_TIMEOUT_S = 300.0


def cache_dir() -> Path:
    """``$SSE_HARNESS_CACHE/node``, else ``$XDG_CACHE_HOME/sse-harness/node``, else
    ``~/.cache/sse-harness/node``."""
    root = os.environ.get("SSE_HARNESS_CACHE")
    if root:
        return Path(root) / "node"
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "sse-harness" / "node"


async def prepare() -> Path:
    """The directory to run Node runners from, installing the npm clients if needed.

    Raises :class:`Unavailable` when node or npm is missing or the install fails.
    """
    if shutil.which("node") is None or shutil.which("npm") is None:
        raise Unavailable("node and npm are not installed (Debian: apt-get install nodejs npm)")
    root = cache_dir()
    root.mkdir(parents=True, exist_ok=True)
    manifest = (JS / "package.json").read_bytes()
    stale = (
        not (root / "node_modules").is_dir()
        or not (root / "package.json").is_file()
        or (root / "package.json").read_bytes() != manifest
    )
    for script in JS.glob("*.mjs"):
        shutil.copyfile(script, root / script.name)
    if stale:
        (root / "package.json").write_bytes(manifest)
        await _npm_install(root)
    return root


async def _npm_install(root: Path) -> None:
    process = await asyncio.create_subprocess_exec(
        "npm",
        "install",
        "--no-audit",
        "--no-fund",
        "--no-package-lock",
        cwd=root,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        output, _ = await asyncio.wait_for(process.communicate(), _NPM_TIMEOUT_S)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise Unavailable(f"npm install timed out after {_NPM_TIMEOUT_S:.0f} s in {root}") from None
    if process.returncode != 0:
        (root / "package.json").unlink(missing_ok=True)  # retry the install next time
        tail = output.decode("utf-8", "replace")[-800:]
        raise Unavailable(f"npm install failed in {root}: {tail}")
