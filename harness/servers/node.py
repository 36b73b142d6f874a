"""The Node example apps: their libraries and the Node they run on, installed on first use.

Pinned as the client matrix's Node runners are (:mod:`harness.clients.node`): the
``package-lock.json`` shipped in ``js/`` is installed with ``npm ci`` (exact versions, integrity
hashes) into ``node-servers`` in the cache, once per lock, and the apps run on the lock's Node
runtime package for this platform (else the system ``node``). The install is the client
matrix's own (:func:`harness.clients.node.install_locked`), so both share one cache and one lock
discipline.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from harness.clients.errors import Unavailable
from harness.clients.node import install_locked, locked_runtime

__all__ = ["JS", "NodeApps", "prepare"]

JS = Path(__file__).with_name("js")


@dataclass(frozen=True, slots=True)
class NodeApps:
    """Where the app scripts and ``node_modules`` are, and the ``node`` to run them with."""

    root: Path
    node: str

    def version(self, package: str) -> str | None:
        manifest = self.root / "node_modules" / package / "package.json"
        if not manifest.is_file():
            return None
        version: str = json.loads(manifest.read_text(encoding="utf-8"))["version"]
        return version


async def prepare() -> NodeApps:
    """The installed apps; :class:`Unavailable` (one line) when node or npm is missing or the
    install fails (a download that does not match the lock's hash among them)."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        raise Unavailable("node and npm are not installed (Debian: apt-get install nodejs npm)")
    root = await install_locked(JS, "node-servers")
    lock = (root / "package-lock.json").read_text(encoding="utf-8")
    return NodeApps(root, locked_runtime(root, json.loads(lock)))
