"""First-use installs are pinned: what the matrix executes is what the shipped locks name.

One real first-use install per module, into a fresh cache (``SSE_HARNESS_CACHE``): ``npm ci``
from ``harness/clients/js/package-lock.json`` and ``pip install --require-hashes`` from
``harness/clients/pins/sseclient.txt``, through the matrix on one case. Then every installed
npm package and Python distribution must have the locked version, the reports must say pinned,
and a lock or pin with one hash changed must stop the install with one line naming the package,
the column UNIMPLEMENTED and the command exiting 2. ``--latest`` installs apart and says so.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import importlib.metadata
import json
import platform
import re
import shutil
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.cli import main
from harness.clients import installs, node
from harness.clients.adapters import CLIENTS
from harness.clients.catalog import CASES
from harness.clients.errors import Unavailable
from harness.clients.matrix import MatrixResult, run_columns
from harness.clients.report import to_json
from harness.outcome import Outcome
from harness.report.clients import LATEST_BANNER, render_page
from harness.report.clients_markdown import render_markdown

pytestmark = pytest.mark.timeout(300)

CASE = next(case for case in CASES if case.id == "client.lines.1")
#: A Python peer (environment), the pip-pinned client, a Node runner and a Node decoder.
COLUMNS = ("harness", "sseclient", "eventsource", "eventsource-parser")
LOCK = json.loads((node.JS / "package-lock.json").read_text(encoding="utf-8"))
_PIN = re.compile(r"^([A-Za-z0-9_.-]+)==(\S+)", re.MULTILINE)
PINS = dict(_PIN.findall((installs.PINS / "sseclient.txt").read_text(encoding="utf-8")))
_CPU = {"x86_64": "x64", "aarch64": "arm64", "arm64": "arm64"}[platform.machine().lower()]
RUNTIME = f"node-{sys.platform}-{_CPU}"


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A fresh cache folder, as a new user's machine has it, for the whole module."""
    folder = tmp_path_factory.mktemp("cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SSE_HARNESS_CACHE", str(folder))
        yield folder


@pytest.fixture(scope="module")
def pinned(cache: Path) -> MatrixResult:
    """The matrix's own first-use install, once: the columns of :data:`COLUMNS` on one case."""
    return asyncio.run(run_columns([CLIENTS[name] for name in COLUMNS], [CASE]))


def _npm_versions(root: Path) -> dict[str, str]:
    """Every package installed under ``root/node_modules``, nested ones included, by its path
    (the lock's keys) and the version its own package.json says."""
    found: dict[str, str] = {}

    def walk(modules: Path, prefix: str) -> None:
        for entry in sorted(modules.iterdir()) if modules.is_dir() else []:
            if entry.name.startswith("."):
                continue
            for package in sorted(entry.iterdir()) if entry.name.startswith("@") else [entry]:
                path = f"{prefix}node_modules/{package.relative_to(modules).as_posix()}"
                manifest = json.loads((package / "package.json").read_text(encoding="utf-8"))
                found[path] = manifest["version"]
                walk(package / "node_modules", f"{path}/")

    walk(root / "node_modules", "")
    return found


def _locked_here() -> dict[str, str]:
    """The lock's packages that npm installs on this platform: all but other platforms' Node."""
    packages = {path: entry for path, entry in LOCK["packages"].items() if path}
    return {
        path: entry["version"]
        for path, entry in packages.items()
        if not entry.get("optional") or path == f"node_modules/{RUNTIME}"
    }


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _tampered(integrity: str) -> str:
    """The same algorithm, another digest: what a swapped tarball would be checked against."""
    algorithm = integrity.partition("-")[0]
    return f"{algorithm}-{base64.b64encode(hashlib.sha512(b'not the tarball').digest()).decode()}"


def _js_with_a_changed_hash(tmp_path: Path, package: str) -> Path:
    js = tmp_path / "js"
    shutil.copytree(node.JS, js)
    lock = json.loads((js / "package-lock.json").read_text(encoding="utf-8"))
    entry = lock["packages"][f"node_modules/{package}"]
    entry["integrity"] = _tampered(entry["integrity"])
    (js / "package-lock.json").write_text(json.dumps(lock, indent=2), encoding="utf-8")
    return js


def test_the_lock_and_the_pins_are_exact() -> None:
    manifest = json.loads((node.JS / "package.json").read_text(encoding="utf-8"))
    wanted = {**manifest["dependencies"], **manifest["optionalDependencies"]}
    for name, version in wanted.items():
        assert re.fullmatch(r"\d+\.\d+\.\d+", version), (name, version)
        assert LOCK["packages"][f"node_modules/{name}"]["version"] == version
    assert all(
        entry["integrity"].startswith("sha512-")
        for entry in LOCK["packages"].values()
        if entry.get("version")
    )
    assert RUNTIME in manifest["optionalDependencies"]
    text = (installs.PINS / "sseclient.txt").read_text(encoding="utf-8")
    requirements = [line for line in text.splitlines() if _PIN.match(line)]
    assert len(requirements) == len(PINS) == text.count("--hash=sha256:") >= 7
    assert "sseclient" in PINS and "requests" in PINS


def test_the_wheel_ships_the_lock_and_the_pins(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for shipped in (
        "js/package.json",
        "js/package-lock.json",
        "pins/sseclient.txt",
        "pins/build.txt",
    ):
        assert f"harness/clients/{shipped}" in names, shipped


def test_the_installed_npm_packages_are_the_locked_versions(
    pinned: MatrixResult, cache: Path
) -> None:
    root = cache / "node"
    assert _npm_versions(root) == _locked_here()
    packages = LOCK["packages"]
    runtime = packages[f"node_modules/{RUNTIME}"]["version"]
    version = packages["node_modules/eventsource"]["version"]
    assert pinned.column("eventsource").version == f"{version} (Node {runtime})"
    assert not (cache / "node-latest").exists()


def test_sseclient_is_the_pinned_version_with_its_pinned_dependencies(
    pinned: MatrixResult, cache: Path
) -> None:
    folder = cache / "python" / "sseclient"
    installed = {
        _normal(dist.metadata["Name"]): dist.version
        for dist in importlib.metadata.distributions(path=[str(folder)])
    }
    assert installed == {_normal(name): version for name, version in PINS.items()}
    assert pinned.column("sseclient").version == PINS["sseclient"]
    assert [r.outcome for r in pinned.column("sseclient").results] == [Outcome.OK]


def test_the_reports_say_which_clients_are_pinned(pinned: MatrixResult) -> None:
    data = to_json(pinned)
    assert data["latest"] is False
    sources = {c["name"]: (c["source"], c["pinned"]) for c in data["clients"]}
    assert sources == {
        "harness": ("environment", False),
        "sseclient": ("lock", True),
        "eventsource": ("lock", True),
        "eventsource-parser": ("lock", True),
    }
    page = render_page(data, [], "clients.html")
    assert page.count("pinned (version and hash from a lock") == 3
    assert "your environment" in page and LATEST_BANNER not in page
    assert f"| sseclient | {PINS['sseclient']} | pinned (" in render_markdown(data)


def test_a_changed_integrity_hash_stops_the_install_naming_the_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(node, "JS", _js_with_a_changed_hash(tmp_path, "eventsource-parser"))
    monkeypatch.setenv("SSE_HARNESS_CACHE", str(tmp_path / "cache"))
    reports = tmp_path / "reports"
    args = ["clients", "--clients", "eventsource-parser", "--cases", CASE.id, "-q"]
    assert main([*args, "--report-dir", str(reports)]) == 2
    err = capsys.readouterr().err
    version = LOCK["packages"]["node_modules/eventsource-parser"]["version"]
    assert err == (
        f"sse-harness clients: eventsource-parser could not run: npm ci refused"
        f" eventsource-parser@{version}: its download does not match the integrity hash in"
        " package-lock.json (EINTEGRITY)\n"
    )
    data = json.loads((reports / "clients.json").read_text(encoding="utf-8"))
    assert [r["outcome"] for r in data["results"]] == ["UNIMPLEMENTED"]
    assert not (tmp_path / "cache" / "node" / ".installed").exists()


def test_a_locked_runtime_that_does_not_install_is_an_error_not_a_fallback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """npm skips an optional package whose hash does not match, and says nothing."""
    monkeypatch.setattr(node, "JS", _js_with_a_changed_hash(tmp_path, RUNTIME))
    monkeypatch.setenv("SSE_HARNESS_CACHE", str(tmp_path / "cache"))
    with pytest.raises(Unavailable) as refused:
        asyncio.run(node.prepare())
    version = LOCK["packages"][f"node_modules/{RUNTIME}"]["version"]
    assert f"the pinned Node runtime {RUNTIME}@{version} did not install" in str(refused.value)


def test_a_changed_pin_stops_the_install_naming_the_distribution(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pins = tmp_path / "pins"
    shutil.copytree(installs.PINS, pins)
    text = (pins / "sseclient.txt").read_text(encoding="utf-8")
    digest = re.search(r"sseclient==\S+ \\\n\s+--hash=sha256:(\w+)", text)
    assert digest is not None
    changed = digest.group(1)[::-1]
    (pins / "sseclient.txt").write_text(text.replace(digest.group(1), changed), encoding="utf-8")
    monkeypatch.setattr(installs, "PINS", pins)
    monkeypatch.setenv("SSE_HARNESS_CACHE", str(tmp_path / "cache"))
    with pytest.raises(Unavailable) as refused:
        asyncio.run(installs.pip_folder("sseclient"))
    assert str(refused.value) == (
        f"pip refused sseclient=={PINS['sseclient']}: its download does not match its pinned sha256"
    )


def test_latest_installs_the_newest_apart_and_says_so(pinned: MatrixResult, cache: Path) -> None:
    before = (cache / "node" / ".installed").read_text(encoding="utf-8")
    specs = [CLIENTS[name] for name in ("sseclient", "eventsource-parser")]
    latest = asyncio.run(run_columns(specs, [CASE], latest=True))
    assert latest.latest and all(c.source == "latest" and not c.pinned for c in latest.columns)
    assert all(c.unavailable is None for c in latest.columns), [
        c.unavailable for c in latest.columns
    ]
    manifest = json.loads((cache / "node-latest" / "package.json").read_text(encoding="utf-8"))
    assert set(manifest["dependencies"].values()) == {"latest"}
    assert (cache / "python-latest" / "sseclient" / "sseclient.py").is_file()
    # the pinned installs are untouched
    assert (cache / "node" / ".installed").read_text(encoding="utf-8") == before
    assert _npm_versions(cache / "node") == _locked_here()
    data = to_json(latest)
    assert data["latest"] is True and {c["source"] for c in data["clients"]} == {"latest"}
    assert f'<p class="latest" id="latest">{LATEST_BANNER}</p>' in render_page(data, [], "")
    assert render_markdown(data).count(LATEST_BANNER) == 1
    assert "newest releases, not the pinned ones" in LATEST_BANNER.lower()
