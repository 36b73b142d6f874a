"""Node runners: a Node runtime and the npm clients, installed on first use into the cache.

What is installed is pinned by the ``package-lock.json`` shipped beside the runners in
``harness/clients/js/`` (exact versions and an integrity hash for every package), with
``npm ci``, which refuses a lock that does not match ``package.json`` and a download that does
not match its hash. The lock also pins the Node the runners run on: the newest majors of
several graded clients need a newer Node than Debian ships (openai 7, undici 8, eventsource 5
and eventsource-parser 4 ask for Node >= 22), so the runners run on Node 24 LTS taken from the
npm registry itself, whose ``node-<os>-<cpu>`` packages carry the official binary in their
tarball, with no install script and no download from another host. They are optional
dependencies (npm installs the one of this platform); where the lock has none for this platform
the runners use the system ``node``. Every column's version says which Node it ran on.

``prepare(latest=True)`` (``sse-harness clients --latest``) installs the newest release of every
client instead, with no lock, into ``node-latest``: the pinned folder is never touched.

The runner scripts, ``package.json`` and the lock are copied from ``js/`` next to the installed
``node_modules``, so the scripts import the libraries by name with Node's ordinary resolution
(the browser page loads ``sse.js`` from there too). The pinned clients are reinstalled, from
scratch, only when the lock or ``package.json`` changed.
"""

from __future__ import annotations

import json
import platform
import re
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.clients.errors import Unavailable
from harness.clients.installs import (
    cache_root,
    is_stamped,
    locked,
    run_install,
    unstamp,
    write_stamp,
)

__all__ = ["JS", "NodeClients", "install_locked", "locked_runtime", "prepare"]

JS = Path(__file__).with_name("js")
_CPUS = {"x86_64": "x64", "amd64": "x64", "aarch64": "arm64", "arm64": "arm64"}
_QUIET = ["--no-audit", "--no-fund", "--loglevel=error"]
_CI = ["npm", "ci", *_QUIET]
_NEWEST = ["npm", "install", "--no-package-lock", *_QUIET]
_WANTED = re.compile(r"wanted (\S+) but got")


@dataclass(frozen=True, slots=True)
class NodeClients:
    """Where the runner scripts and ``node_modules`` are, and the ``node`` to run them with.
    ``pinned``: installed from the shipped lock (False: the newest releases, ``--latest``)."""

    root: Path
    node: str
    pinned: bool = True

    def package_dir(self, package: str) -> Path:
        return self.root / "node_modules" / package


async def prepare(latest: bool = False) -> NodeClients:
    """The Node runtime and the installed clients; raises :class:`Unavailable` (one line) when
    node or npm is missing or the clients' install fails."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        raise Unavailable("node and npm are not installed (Debian: apt-get install nodejs npm)")
    lock = json.loads((JS / "package-lock.json").read_text(encoding="utf-8"))
    if not latest:
        root = await install_locked(JS, "node")
        return NodeClients(root, locked_runtime(root, lock))
    manifest = (JS / "package.json").read_text(encoding="utf-8")
    root = cache_root() / "node-latest"
    async with locked(root):
        root.mkdir(parents=True, exist_ok=True)
        # From scratch: npm keeps an installed package that a tag still accepts.
        shutil.rmtree(root / "node_modules", ignore_errors=True)
        (root / "package.json").write_text(_newest(manifest), encoding="utf-8")
        await run_install(_NEWEST, cwd=root, explain=lambda out: _npm_failure(out, {}))
        _copy_scripts(JS, root)
    return NodeClients(root, locked_runtime(root, lock), pinned=False)


async def install_locked(source: Path, name: str) -> Path:
    """``npm ci`` of the ``package.json`` and ``package-lock.json`` in ``source`` into the cache
    folder ``name``, once per lock, with ``source``'s scripts (``*.mjs``) beside them; returns
    the folder. A failed install raises :class:`Unavailable` naming the package whose download
    does not match the lock's hash, else npm's first error. The client matrix's runners, the
    server matrix's Node apps and the TypeScript MCP SDK tests all install this way."""
    manifest = (source / "package.json").read_text(encoding="utf-8")
    lock_text = (source / "package-lock.json").read_text(encoding="utf-8")
    lock = json.loads(lock_text)
    root = cache_root() / name
    async with locked(root):
        root.mkdir(parents=True, exist_ok=True)
        if not is_stamped(root, manifest + lock_text):
            unstamp(root)
            (root / "package.json").write_text(manifest, encoding="utf-8")
            (root / "package-lock.json").write_text(lock_text, encoding="utf-8")
            await run_install(_CI, cwd=root, explain=lambda out: _npm_failure(out, lock))
            write_stamp(root, manifest + lock_text)
        _copy_scripts(source, root)
    return root


def _copy_scripts(source: Path, root: Path) -> None:
    for script in source.glob("*.mjs"):
        shutil.copyfile(script, root / script.name)


def _newest(manifest: str) -> str:
    """``package.json`` asking for the newest release of every client; the Node runtime stays
    the pinned one (the point is the clients' newest code, not a Node line of another major)."""
    data = json.loads(manifest)
    data["dependencies"] = dict.fromkeys(data["dependencies"], "latest")
    return json.dumps(data, indent=2) + "\n"


def locked_runtime(root: Path, lock: dict[str, Any]) -> str:
    """The locked Node binary of this platform, or the system ``node`` when the lock has none
    for it. npm skips an optional package it cannot fetch or verify without failing, so a
    locked runtime that is missing is an error here, never a silent fall back."""
    system = shutil.which("node") or "node"
    cpu = _CPUS.get(platform.machine().lower())
    if cpu is None:
        return system
    package = f"node-{sys.platform}-{cpu}"
    locked_entry = lock["packages"].get(f"node_modules/{package}")
    if locked_entry is None:
        return system
    binary = root / "node_modules" / package / "bin" / "node"
    if not binary.is_file():
        raise Unavailable(
            f"the pinned Node runtime {package}@{locked_entry['version']} did not install"
            " (npm skips an optional package whose download fails or does not match its"
            " integrity hash)"
        )
    return str(binary)


def _npm_failure(output: str, lock: dict[str, Any]) -> str:
    """One line for a failed npm install: the package whose download does not match the lock's
    integrity hash, else npm's first error."""
    wanted = _WANTED.search(output)
    if wanted is not None:
        for path, entry in lock.get("packages", {}).items():
            if entry.get("integrity") == wanted.group(1):
                name = path.rpartition("node_modules/")[2]
                return (
                    f"npm ci refused {name}@{entry['version']}: its download does not match the"
                    " integrity hash in package-lock.json (EINTEGRITY)"
                )
    errors = [
        line.removeprefix("npm error").strip()
        for line in output.splitlines()
        if line.startswith("npm error")
    ]
    errors = [e for e in errors if e and not e.startswith(("code ", "A complete log"))]
    lines = errors or [line for line in output.splitlines() if line.strip()] or ["(no output)"]
    return f"npm failed: {lines[0]}"
