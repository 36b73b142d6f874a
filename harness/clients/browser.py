"""Launching a real browser on the runner page: Debian's ``chromium`` or ``firefox-esr``.

The browser is started directly, headless, with a fresh profile, on the fuzzing server's
``/page/<column>``; the page drives the native EventSource and posts its observations back
(:mod:`.launchers`). No automation protocol is involved, so stock Debian builds work (Playwright
cannot drive a stock Firefox) and nothing is downloaded. The machine's network is closed, so
every background service that would call out is switched off.
"""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

from harness.clients.adapters import ClientSpec
from harness.clients.errors import Unavailable

__all__ = ["CHROMIUM_FLAGS", "argv", "executable", "version"]

#: Headless Chromium on a machine with no outside network: without the background-networking
#: flags it keeps trying (and failing) to reach Google's hosts. Also used by the page tests.
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-background-timer-throttling",
    "--disable-renderer-backgrounding",
]

#: Firefox preferences (values as JavaScript literals) that keep a fresh profile quiet offline.
_FIREFOX_PREFS = {
    "app.update.disabledForTesting": "true",
    "browser.shell.checkDefaultBrowser": "false",
    "browser.startup.homepage_override.mstone": '"ignore"',
    "browser.safebrowsing.update.enabled": "false",
    "datareporting.policy.dataSubmissionEnabled": "false",
    "network.captive-portal-service.enabled": "false",
    "network.connectivity-service.enabled": "false",
    "toolkit.telemetry.reportingpolicy.firstRun": "false",
}


def executable(spec: ClientSpec) -> str:
    path = shutil.which(spec.target)
    if path is None:
        raise Unavailable(f"{spec.target} is not installed ({spec.install})")
    return path


async def version(path: str) -> str:
    process = await asyncio.create_subprocess_exec(
        path, "--version", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL
    )
    try:
        output, _ = await asyncio.wait_for(process.communicate(), 30)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise Unavailable(f"{path} --version did not answer") from None
    return output.decode("utf-8", "replace").strip()


def argv(spec: ClientSpec, path: str, url: str, profile: Path) -> list[str]:
    """The command line that opens ``url`` in a fresh ``profile`` directory."""
    if spec.target == "firefox-esr":
        prefs = "".join(
            f'user_pref("{name}", {value});\n' for name, value in _FIREFOX_PREFS.items()
        )
        (profile / "user.js").write_text(prefs)
        return [path, "--headless", "--no-remote", "--profile", str(profile), url]
    return [path, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", url]
