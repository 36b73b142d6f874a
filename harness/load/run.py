"""The load instrument's one entry point: a bounded, headless Locust run of a shipped profile.

:func:`run_load` is what ``sse-harness load`` and ``check``'s load probe call. Locust runs as a
child process (``locust -f <shipped locustfile> --headless``) so that its gevent patching never
touches the caller; the locustfiles ship in the wheel as ``harness.locustfiles`` and are found
with :mod:`importlib.resources`, so the run works from any folder. A URL without a path
(``http://127.0.0.1:8000``) loads the profile's own default path. The exit code is Locust's,
which the quitting listener sets from the gate (0 pass, 1 breach); a run that cannot start is
:class:`LoadError`, never a pass.

Nothing secret goes on Locust's command line, which ``ps`` shows to every user of the machine:
the URL (it may carry ``user:pass@`` or ``?token=``) travels in Locust's environment variables,
the headers in a file only this user can read (``--sse-header-file``), removed after the run.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import TextIO
from urllib.parse import urlsplit

__all__ = [
    "DEFAULT_RUN_TIME",
    "PROFILES",
    "LoadError",
    "LoadOptions",
    "LoadResult",
    "locustfile",
    "run_load",
]

#: A run's length when none is given (Locust's syntax).
DEFAULT_RUN_TIME = "10s"
#: The shipped locustfiles, by profile name (``harness/locustfiles/<name>.py``).
PROFILES = ("stream", "llm", "broadcast", "reconnect", "mcp")


class LoadError(Exception):
    """The run could not start; the message is one line naming why."""


@dataclass(frozen=True, slots=True)
class LoadOptions:
    #: The stream's URL; without a path, the profile's default path on that host.
    url: str
    profile: str = "stream"
    users: int = 20
    spawn_rate: float = 20.0
    #: Locust's syntax: ``10s``, ``2m``.
    run_time: str = DEFAULT_RUN_TIME
    #: Where load.json and load.html go (None: a new ``reports/<time>/``).
    report_dir: Path | None = None
    #: None: the thresholds found from the working directory (``harness.load.gate``).
    thresholds: Path | None = None
    #: Locust processes (Locust's ``--processes``; the master merges the histograms).
    processes: int = 1
    #: CA certificates (PEM) an ``https://`` target must chain to (None: the system's).
    cafile: Path | None = None
    #: Accept any certificate from an ``https://`` target.
    insecure: bool = False
    #: More Locust arguments, e.g. ``("--sse-max-events", "10")``.
    locust_args: tuple[str, ...] = ()
    #: Where Locust's console output goes (None: inherited).
    stdout: TextIO | None = None
    #: Request headers, handed over in a private file, never on the command line.
    headers: tuple[tuple[str, str], ...] = ()
    #: More header names whose values load.json must mask (``--sse-redact-header``).
    redact_headers: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class LoadResult:
    #: Locust's exit code: 0 the gate passed, 1 a breach (or Locust's own failure).
    exit_code: int
    directory: Path

    @property
    def report_path(self) -> Path:
        return self.directory / "load.json"


def locustfile(profile: str) -> Path:
    """The path of a shipped locustfile (``LoadError`` for an unknown profile)."""
    if profile not in PROFILES:
        raise LoadError(f"no profile {profile!r}; profiles: {', '.join(PROFILES)}")
    path = Path(str(files("harness.locustfiles").joinpath(f"{profile}.py")))
    if not path.is_file():
        raise LoadError(f"the installed package lacks its locustfile {path}")
    return path


def run_load(options: LoadOptions) -> LoadResult:
    """Run Locust to its end; the report lands in ``LoadResult.directory``."""
    from harness.report.pages import new_run_folder

    script = locustfile(options.profile)
    if options.users < 1 or options.spawn_rate <= 0 or options.processes < 1:
        raise LoadError("users and processes must be >= 1 and the spawn rate > 0")
    directory = options.report_dir or new_run_folder()
    extra = list(options.locust_args)
    parts = urlsplit(options.url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise LoadError(f"expected an http:// or https:// URL, got {options.url!r}")
    # Locust reads these variables as --host and --sse-path; the command line still wins.
    environment = {**os.environ, "LOCUST_HOST": f"{parts.scheme}://{parts.netloc}"}
    if parts.path or parts.query:
        environment["LOCUST_SSE_PATH"] = (parts.path or "/") + (
            f"?{parts.query}" if parts.query else ""
        )
    command = [
        sys.executable, "-m", "locust", "-f", str(script), "--headless",
        "-u", str(options.users), "-r", str(options.spawn_rate),
        "-t", options.run_time, "--sse-report-dir", str(directory), *extra,
    ]  # fmt: skip
    for name in options.redact_headers:
        command += ["--sse-redact-header", name]
    if options.processes > 1:
        # Its own master port: Locust's default, 5557, is shared by every run on the machine,
        # and workers of another run (or left behind by one) would join this master.
        port = str(_free_loopback_port())
        command += ["--processes", str(options.processes), "--master-bind-host", "127.0.0.1"]
        command += ["--master-bind-port", port, "--master-port", port]
    if options.thresholds is not None:
        command += ["--sse-thresholds", str(options.thresholds)]
    if options.cafile is not None:
        if not options.cafile.is_file():  # else every user would fail its streams on it
            raise LoadError(f"no CA file {options.cafile}")
        command += ["--sse-cafile", str(options.cafile.resolve())]
    if options.insecure:
        command.append("--sse-insecure")
    # A load.json left by an earlier run in the same folder must not pass for this run's.
    (directory / "load.json").unlink(missing_ok=True)
    with _header_file(options.headers) as header_args:
        command += header_args
        if options.stdout is None:
            code = subprocess.run(command, check=False, env=environment).returncode
        else:
            done = subprocess.run(
                command, check=False, env=environment, stdout=subprocess.PIPE, text=True
            )
            options.stdout.write(done.stdout)
            code = done.returncode
    if code == 0 and not (directory / "load.json").is_file():
        raise LoadError(f"Locust ended without writing {directory / 'load.json'}")
    return LoadResult(code, directory)


@contextmanager
def _header_file(headers: tuple[tuple[str, str], ...]) -> Iterator[list[str]]:
    """``--sse-header-file PATH`` for a file of the headers in a folder only this user can
    open (``mkdtemp`` makes it 0700, the file is 0600), removed when the run ends; no
    arguments when there are no headers."""
    if not headers:
        yield []
        return
    with tempfile.TemporaryDirectory(prefix="sse-harness-") as folder:
        path = Path(folder) / "headers"
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            file.writelines(f"{name}: {value}\n" for name, value in headers)
        yield ["--sse-header-file", str(path)]


def _free_loopback_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port
