"""The shape of the package holds: import-linter's layer contracts pass, the core loads only the
standard library, and the command line answers ``--help`` without loading an instrument."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEAVY = [
    "aiohttp", "fastapi", "gevent", "hdrh", "hypothesis", "jinja2", "locust", "matplotlib",
    "playwright", "pydantic", "pytest", "rich", "sse_starlette", "starlette", "uvicorn",
]  # fmt: skip


def _loaded_after(code: str) -> set[str]:
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", probe], check=True, capture_output=True, text=True, cwd=ROOT
    ).stdout
    return {name.split(".")[0] for name in json.loads(out.splitlines()[-1])}


def test_import_contracts_hold() -> None:
    lint = shutil.which("lint-imports")
    assert lint, "import-linter is in the test extra"
    done = subprocess.run([lint], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stdout[-3000:]
    assert "BROKEN" not in done.stdout


def test_the_core_loads_only_the_standard_library() -> None:
    loaded = _loaded_after("import harness.stream, harness.connection, harness")
    assert not loaded & set(HEAVY), loaded & set(HEAVY)


def test_help_loads_no_instrument() -> None:
    loaded = _loaded_after("from harness.cli import build_parser\nbuild_parser().format_help()")
    assert not loaded & set(HEAVY), loaded & set(HEAVY)
