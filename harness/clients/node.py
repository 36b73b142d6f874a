"""Node runners: a Node runtime and the npm clients, installed on first use into the cache.

The newest majors of several graded clients need a newer Node than Debian ships (openai 7,
undici 8, eventsource 5 and eventsource-parser 4 ask for Node >= 22), so the runners run on
Node :data:`RUNTIME_MAJOR` LTS taken from the npm registry itself: the ``node-<os>-<cpu>``
packages carry the official binary in their tarball, with no install script and no download
from another host. npm then installs the clients under that runtime, so it picks the newest
version of each that supports it. Where the runtime cannot be had, the runners use the system
``node`` and npm picks the newest versions that run on it; every column's version says which
Node it ran on.

The runner scripts and ``package.json`` are copied from ``harness/clients/js/`` next to the
installed ``node_modules``, so the scripts import the libraries by name with Node's ordinary
resolution (the browser page loads ``sse.js`` from there too). The clients are reinstalled, from
scratch, only when ``package.json`` or the runtime changed.
"""

from __future__ import annotations

import asyncio
import os
import platform
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from harness.clients.errors import Unavailable
from harness.clients.installs import cache_root, is_stamped, locked, run_install, write_stamp

__all__ = ["JS", "RUNTIME_MAJOR", "NodeClients", "prepare"]

JS = Path(__file__).with_name("js")
#: The Node major the runners run on (an LTS line).
RUNTIME_MAJOR = "24"
_CPUS = {"x86_64": "x64", "amd64": "x64", "aarch64": "arm64", "arm64": "arm64"}
_NPM = ["npm", "install", "--no-audit", "--no-fund", "--no-package-lock", "--loglevel=error"]


@dataclass(frozen=True, slots=True)
class NodeClients:
    """Where the runner scripts and ``node_modules`` are, and the ``node`` to run them with."""

    root: Path
    node: str

    def package_dir(self, package: str) -> Path:
        return self.root / "node_modules" / package


async def prepare() -> NodeClients:
    """The Node runtime and the installed clients; raises :class:`Unavailable` when node or npm
    is missing or the clients' install fails."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        raise Unavailable("node and npm are not installed (Debian: apt-get install nodejs npm)")
    node = await _runtime()
    root = cache_root() / "node"
    manifest = (JS / "package.json").read_text(encoding="utf-8")
    version = await _version(node)
    want = f"{manifest}\nnode {version}\n"
    async with locked(root):
        root.mkdir(parents=True, exist_ok=True)
        if not is_stamped(root, want):
            shutil.rmtree(root / "node_modules", ignore_errors=True)
            (root / "package.json").write_text(manifest, encoding="utf-8")
            # npm is a node script: put the runtime first on PATH so that npm runs on it and
            # resolves each client for it.
            path = f"{Path(node).parent}{os.pathsep}{os.environ.get('PATH', '')}"
            await run_install(_NPM, cwd=root, env={**os.environ, "PATH": path})
            write_stamp(root, want)
        for script in JS.glob("*.mjs"):
            shutil.copyfile(script, root / script.name)
    return NodeClients(root, node)


async def _runtime() -> str:
    """The npm registry's Node :data:`RUNTIME_MAJOR` binary, installed if needed; the system
    ``node`` when this platform has no such package or it cannot be installed."""
    system = shutil.which("node") or "node"
    cpu = _CPUS.get(platform.machine().lower())
    if cpu is None or sys.platform not in ("linux", "darwin"):
        return system
    package = f"node-{sys.platform}-{cpu}"
    folder = cache_root() / "node-runtime"
    binary = folder / "node_modules" / package / "bin" / "node"
    manifest = f'{{"private": true, "dependencies": {{"{package}": "{RUNTIME_MAJOR}"}}}}\n'
    async with locked(folder):
        if not (is_stamped(folder, manifest) and binary.is_file()):
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "package.json").write_text(manifest, encoding="utf-8")
            try:
                await run_install(_NPM, cwd=folder)
            except Unavailable:
                return system
            write_stamp(folder, manifest)
    return str(binary)


async def _version(node: str) -> str:
    process = await asyncio.create_subprocess_exec(
        node, "--version", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL
    )
    try:
        output, _ = await asyncio.wait_for(process.communicate(), 30)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise Unavailable(f"{node} --version did not answer") from None
    return output.decode().strip()
