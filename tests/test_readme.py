"""Every command in README.md runs, so the docs cannot drift from the code.

``sh`` blocks run line by line against a reference server started by the README's own
``sse-harness serve`` command (port 8000 becomes a free port), each command with short bounds
appended (fewer events, users and seconds; later options win in argparse and Locust); ``python``
blocks run as scripts; ``yaml`` blocks and inline ``sse-harness`` spans are parsed by the real
command-line parser. Installing (``pip install``) is checked against pyproject's extras rather
than run again, and ``python -m pytest`` is checked to be exactly what ``.ci/run`` runs: it is
this very run.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
FENCE = re.compile(r"^```(\w+)\n(.*?)^```", re.M | re.S)
TIMEOUT = 120

#: Bounds appended to each command so the README's examples finish in seconds.
BOUNDS = {
    ("sse-harness", "check"): [
        "--window-seconds",
        "2",
        "--window-events",
        "20",
        "--keepalive-bound",
        "1",
    ],
    ("sse-harness", "load"): ["-t", "3s", "-u", "4", "-r", "4"],
    ("sse-harness", "clients"): ["--cases", "client.lines.1,client.retry.1", "-q"],
    ("sse-harness", "servers"): ["--cases", "server.status.*,server.headers.*", "-q"],
    ("locust",): ["-t", "3s", "-u", "4", "-r", "4"],
}
PROBE = ["--load-users", "4", "--load-seconds", "2"]


def blocks(language: str) -> list[str]:
    return [body for lang, body in FENCE.findall(README) if lang == language]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_listening(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        assert process.poll() is None, "the server exited during startup"
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)  # bounded wait for a port to open
    raise TimeoutError(f"nothing listens on {port}")


@pytest.fixture(scope="module")
def port() -> Iterator[int]:
    """The reference server, started by the README's own serve command."""
    (serve,) = [b.strip() for b in blocks("sh") if b.split()[:2] == ["sse-harness", "serve"]
                and "\n" not in b.strip()]  # fmt: skip
    chosen = free_port()
    process = subprocess.Popen(shlex.split(serve.replace("8000", str(chosen))), cwd=ROOT)
    try:
        wait_listening(chosen, process)
        yield chosen
    finally:
        process.terminate()
        # uvicorn shuts down gracefully, then re-raises the signal it caught.
        assert process.wait(20) in (0, -signal.SIGTERM)


def bounded(argv: list[str], tmp: Path) -> list[str]:
    if "--soak" in argv:  # a soak's length is its own: a few seconds here, and no --run-time
        at = argv.index("--soak") + 1
        argv = [*argv[:at], "3s", *argv[at + 1 :], "-u", "4", "-r", "4"]
        return argv
    for prefix, extra in BOUNDS.items():
        if tuple(argv[: len(prefix)]) == prefix:
            argv = argv + extra
    probed = "--load-users" in argv or "mcp" in argv  # the mcp profile has no load probe yet
    if argv[:2] == ["sse-harness", "check"] and not probed:
        argv += PROBE
    if argv[0] == "locust":
        argv += ["--sse-report-dir", str(tmp / "locust")]
    return argv


#: A command substitution the README uses: ``"$(sse-harness locustfiles --path NAME)"``.
SUBSTITUTION = re.compile(r'"\$\((sse-harness locustfiles --path \w+)\)"')


def expand(command: str, port: int, tmp: Path) -> list[str]:
    text = command.replace("8000", str(port)).replace("reports/", f"{tmp}/")

    def substitute(match: re.Match[str]) -> str:
        done = subprocess.run(shlex.split(match[1]), capture_output=True, text=True, check=True)
        return shlex.quote(done.stdout.strip())

    return shlex.split(SUBSTITUTION.sub(substitute, text))


def check_install(argv: list[str]) -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    target = argv[-1]
    assert target.startswith(".")
    named = re.findall(r"\[(.*)\]", target)
    assert all(e in extras for e in (named[0].split(",") if named else []))


def run_sh(block: str, port: int, tmp: Path, lenient: Path) -> None:
    """The commands run from a user's folder whose sse-harness.toml switches the timing checks
    off: these tests are about the commands working, not about the latency of a busy machine."""
    background: list[subprocess.Popen[bytes]] = []
    env = {**os.environ, "SSE_HARNESS_EXAMPLES": "5"}
    user = tmp / "user-project"
    user.mkdir()
    (user / "sse-harness.toml").write_text(lenient.read_text())
    for example in blocks("python"):  # the user's own app, saved as the README says
        if example.startswith("# myapp.py\n"):
            (user / "myapp.py").write_text(example)
    try:
        for line in block.strip().splitlines():
            detach = line.rstrip().endswith("&")
            for part in line.rstrip(" &").split(" && "):
                argv = expand(part, port, tmp)
                if argv[:4] == ["python", "-m", "pip", "install"]:
                    check_install(argv)
                elif argv[:3] == ["python", "-m", "pytest"]:
                    assert line in (ROOT / ".ci" / "run").read_text(), ".ci/run must run it"
                elif argv[:2] == ["sse-harness", "serve"]:
                    continue  # the module's server, started by this very command
                elif detach:
                    background.append(subprocess.Popen(bounded(argv, tmp), cwd=user, env=env))
                else:
                    done = subprocess.run(bounded(argv, tmp), cwd=user, env=env, timeout=TIMEOUT)
                    assert done.returncode == 0, f"exit {done.returncode}: {part}"
        for process in background:
            assert process.wait(TIMEOUT) == 0, process.args
    finally:
        for process in background:
            if process.poll() is None:
                process.kill()


@pytest.mark.timeout(600)
@pytest.mark.parametrize("index", range(len(blocks("sh"))))
def test_shell_block_runs(index: int, port: int, tmp_path: Path, lenient_thresholds: Path) -> None:
    run_sh(blocks("sh")[index], port, tmp_path, lenient_thresholds)


@pytest.mark.parametrize("index", range(len(blocks("python"))))
def test_python_block_runs(index: int, port: int) -> None:
    code = blocks("python")[index].replace("8000", str(port))
    done = subprocess.run(
        [sys.executable, "-c", code + "\nprint('block ran')"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.rstrip().endswith("block ran")


def test_the_contract_example_mounts_the_contract() -> None:
    (code,) = [b for b in blocks("python") if "make_router" in b]
    scope: dict[str, object] = {}
    exec(code, scope)  # the README's own example
    paths = set(scope["app"].openapi()["paths"])  # type: ignore[attr-defined]
    assert {"/_contract", "/_script", "/_observe/streams"} <= paths


def test_ci_recipe_and_inline_commands_parse(monkeypatch: pytest.MonkeyPatch) -> None:
    """--header-env reads its variable while parsing: the recipe's secrets are set, as CI would."""
    for variable in re.findall(r"--header-env '?[\w-]+=(\w+)", README):
        monkeypatch.setenv(variable, "secret-from-ci")
    parser = build_parser()
    lines = [m for y in blocks("yaml") for m in re.findall(r"run: (sse-harness .*)", y)]
    inline = re.findall(r"`(sse-harness [^`]+)`", README)
    assert lines and inline
    for command in lines + inline:
        argv = shlex.split(command.replace("<time>", "x").replace("[URL]", ""))[1:]
        argv = [a for a in argv if not a.startswith("[")]
        parser.parse_args(argv)  # exits 2 (SystemExit) on an option the code does not have


def test_the_counts_the_readme_quotes_are_the_code_s() -> None:
    from harness.clients.catalog import CASES
    from harness.server.cases import load_catalog
    from reference_server.faults import FAULTS
    from reference_server.mcp import MCP_FAULTS

    text = " ".join(README.split())
    profiles = [case.profile for case in load_catalog().values()]
    assert f"{profiles.count('sse')} numbered cases" in text
    assert f"and {profiles.count('mcp')} more for the rules MCP servers add" in text
    assert f"{len(CASES)} tricky streams" in text
    assert f"{len(FAULTS)} named faults (and {len(MCP_FAULTS)} more on its MCP endpoint" in text
