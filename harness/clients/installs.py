"""First-use installs into the cache directory: where they go, one at a time, bounded in time.

Clients the harness's own environment cannot hold are installed by their ordinary package
clients the first time a matrix needs them, into ``$SSE_HARNESS_CACHE`` (else
``$XDG_CACHE_HOME/sse-harness``, else ``~/.cache/sse-harness``), never into the checkout: npm
packages and a Node runtime (:mod:`.node`), and Python clients that clash with another one
(:func:`pip_folder`). An install holds a file lock, so matrices started side by side (tests,
CI) never install into the same folder at once, and a stamp file says what the folder holds, so
it is redone only when that changes.

What is installed is pinned, so that the code the matrix executes is the code the project
graded, and a compromised new release cannot run on the user's machine: the npm clients come
from the ``package-lock.json`` shipped beside the runners (``npm ci``), a Python client from its
requirements file in ``pins/`` (``pip install --require-hashes``: exact versions, one sha256 per
distribution). ``sse-harness clients --latest`` installs the newest releases instead, on
purpose, into folders of their own (``node-latest``, ``python-latest``), never over the pinned
ones. To refresh the pins: ``pip download`` the new versions (the pure-Python wheel where a
project has one, so one hash holds everywhere), ``pip hash`` each file, and edit ``pins/``.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import re
import shutil
import sys
import tempfile
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path

from harness.clients.errors import Unavailable

__all__ = [
    "PINS",
    "cache_root",
    "is_stamped",
    "locked",
    "pip_folder",
    "run_install",
    "unstamp",
    "write_stamp",
]

#: The shipped requirements files, one per first-use Python client (``<name>.txt``), and
#: ``build.txt``: what builds a pinned source distribution without fetching unpinned tools.
PINS = Path(__file__).with_name("pins")
_INSTALL_TIMEOUT_S = 300.0
_STAMP = ".installed"
_PIP = [
    sys.executable,
    "-m",
    "pip",
    "install",
    "--quiet",
    "--no-input",
    "--disable-pip-version-check",
]


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


def unstamp(folder: Path) -> None:
    """Forget what ``folder`` held, before an install that may fail half-way: a failed install
    must not leave the stamp of the one before it on a folder it emptied."""
    (folder / _STAMP).unlink(missing_ok=True)


async def run_install(
    argv: Sequence[str],
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    explain: Callable[[str], str] | None = None,
) -> None:
    """Run an install command; raise :class:`Unavailable` when it fails or outlasts its time
    limit, with one line saying why: ``explain(output)``, else the output's last line."""
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
        text = output.decode("utf-8", "replace")
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        last = lines[-1] if lines else "(no output)"
        why = explain(text) if explain else f"{' '.join(argv[:3])} failed: {last}"
        raise Unavailable(why)


async def pip_folder(name: str, latest: bool = False) -> Path:
    """A folder holding the Python client ``name`` and its dependencies (``pip install
    --target``), for a client that cannot share the harness's environment: its worker gets the
    folder first on ``PYTHONPATH``, so its modules win over the environment's of the same name.

    Pinned (``pins/<name>.txt``, hash-checked) unless ``latest``: then the newest release of
    ``name``, reinstalled on every call into a folder apart from the pinned one.
    """
    python = f"Python {sys.version_info.major}.{sys.version_info.minor}"
    if latest:
        folder = cache_root() / "python-latest" / name
        async with locked(folder):
            shutil.rmtree(folder, ignore_errors=True)
            await run_install([*_PIP, "--target", str(folder), name], explain=_pip_failure)
        return folder
    pins = PINS / f"{name}.txt"
    folder = cache_root() / "python" / name
    want = f"{pins.read_text(encoding='utf-8')}\non {python}\n"
    async with locked(folder):
        if not is_stamped(folder, want):
            shutil.rmtree(folder, ignore_errors=True)
            await _pinned_install(pins, folder)
            write_stamp(folder, want)
    return folder


async def _pinned_install(pins: Path, folder: Path) -> None:
    """``pip install --require-hashes -r pins`` into ``folder``. A source distribution is built
    with the pinned tools of ``build.txt`` (``--no-build-isolation``), since pip's isolated
    build would fetch setuptools unpinned and run it."""
    with tempfile.TemporaryDirectory(prefix="sse-harness-build-") as tools:
        hashed = [*_PIP, "--require-hashes", "--only-binary", ":all:", "--target", tools]
        await run_install([*hashed, "-r", str(PINS / "build.txt")], explain=_pip_failure)
        path = os.pathsep.join(p for p in (tools, os.environ.get("PYTHONPATH")) if p)
        build = [*_PIP, "--require-hashes", "--no-build-isolation", "--target", str(folder)]
        env = {**os.environ, "PYTHONPATH": path}
        await run_install([*build, "-r", str(pins)], env=env, explain=_pip_failure)


_MISMATCH = re.compile(r"^\s+(\S+==\S+) from ", re.MULTILINE)


def _pip_failure(output: str) -> str:
    """One line for a failed pip install: the distribution whose download does not match its
    pinned hash, else pip's first error."""
    if "DO NOT MATCH THE HASHES" in output and (found := _MISMATCH.search(output)):
        return f"pip refused {found.group(1)}: its download does not match its pinned sha256"
    errors = [line for line in output.splitlines() if line.startswith("ERROR:")]
    lines = errors or [line for line in output.splitlines() if line.strip()] or ["(no output)"]
    return f"pip install failed: {lines[0].removeprefix('ERROR:').strip()}"
