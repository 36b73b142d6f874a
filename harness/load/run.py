"""The load instrument's one entry point: a bounded, headless Locust run of a shipped profile.

:func:`run_load` is what ``sse-harness load`` and ``check``'s load probe call. Locust runs as a
child process (``locust -f <shipped locustfile> --headless``) so that its gevent patching never
touches the caller; the locustfiles ship in the wheel as ``harness.locustfiles`` and are found
with :mod:`importlib.resources`, so the run works from any folder. A URL without a path
(``http://127.0.0.1:8000``) loads the profile's own default path. The exit code is Locust's,
which the quitting listener sets from the gate (0 pass, 1 breach); a run that cannot start is
:class:`LoadError`, never a pass.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import TextIO
from urllib.parse import urlsplit

__all__ = ["PROFILES", "LoadError", "LoadOptions", "LoadResult", "locustfile", "run_load"]

#: The shipped locustfiles, by profile name (``harness/locustfiles/<name>.py``).
PROFILES = ("stream", "llm", "broadcast", "reconnect")


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
    run_time: str = "10s"
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
    host = f"{parts.scheme}://{parts.netloc}"
    if parts.path or parts.query:
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        extra = ["--sse-path", path, *extra]
    command = [
        sys.executable, "-m", "locust", "-f", str(script), "--headless",
        "--host", host, "-u", str(options.users), "-r", str(options.spawn_rate),
        "-t", options.run_time, "--sse-report-dir", str(directory), *extra,
    ]  # fmt: skip
    if options.processes > 1:
        command += ["--processes", str(options.processes)]
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
    if options.stdout is None:
        code = subprocess.run(command, check=False).returncode
    else:
        done = subprocess.run(command, check=False, stdout=subprocess.PIPE, text=True)
        options.stdout.write(done.stdout)
        code = done.returncode
    if code == 0 and not (directory / "load.json").is_file():
        raise LoadError(f"Locust ended without writing {directory / 'load.json'}")
    return LoadResult(code, directory)
