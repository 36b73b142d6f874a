"""``sse-harness serve`` and ``python -m reference_server``: one set of flags from Settings, and
the console script really serves."""

from __future__ import annotations

import json
import shutil
import urllib.request

import pytest

from harness.cli import build_parser, main
from reference_server.launch import serve_subprocess
from reference_server.settings import Settings, settings_from_args

pytestmark = pytest.mark.timeout(60)


def test_serve_flags_come_from_the_settings() -> None:
    args = build_parser().parse_args(
        ["serve", "--port", "0", "--char-interval-s", "0.5", "--replay-buffer", "7"]
    )
    assert (args.host, args.port) == ("127.0.0.1", 0)
    assert settings_from_args(args) == Settings(char_interval_s=0.5, replay_buffer=7)


def test_serve_help_lists_every_setting(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["serve", "--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    assert "--keepalive-s" in out and "--max-body-bytes" in out and "--leak-linger-s" in out


def test_no_command_prints_help_and_fails(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "serve" in capsys.readouterr().out


@pytest.mark.parametrize("field", ["char_interval_s", "max_events"])
def test_settings_refuse_negative_values(field: str) -> None:
    with pytest.raises(ValueError, match=field):
        Settings(**{field: -1})


@pytest.mark.skipif(shutil.which("sse-harness") is None, reason="console script not installed")
def test_the_console_script_serves_the_reference_server() -> None:
    command = (shutil.which("sse-harness") or "", "serve")
    with serve_subprocess(["--no-access-log"], command=command) as server:
        with urllib.request.urlopen(server.url + "/faults", timeout=10) as response:
            assert len(json.load(response)) >= 20
        assert server.terminate() in (0, -15)
