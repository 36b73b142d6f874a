"""The load reader over TLS, against the reference server behind a throwaway CA: a verified
stream is exact and its handshakes are measured once per connection, an unverified certificate
is one clean error (no events, no retry), ``--sse-insecure`` trusts anything, and the whole
``sse-harness load https://... --cafile`` run reports and gates ``tls_ms``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.cli import main
from harness.connection import SSEConnectionError
from harness.load.gate import evaluate, load_thresholds
from harness.load.metrics import Metrics
from harness.load.report import load_report
from harness.load.run import LoadError, LoadOptions, run_load
from harness.load.session import StreamResult, StreamSpec, run_stream
from reference_server.app import create_app
from reference_server.launch import serve_in_thread
from reference_server.settings import Settings
from reference_server.tls import TlsFiles, make_tls_files

pytestmark = pytest.mark.timeout(90)

#: Every stream the server sends is closed after this many events (so a resumed stream of 12
#: events takes three connections, three handshakes).
PER_CONNECTION = 4


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_tls_files(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def tls_url(tls_files: TlsFiles) -> Iterator[str]:
    """``https://127.0.0.1:PORT`` of a reference server whose certificate ``tls_files.ca`` signs."""
    app = create_app(Settings(max_events=PER_CONNECTION))
    with serve_in_thread(
        app, ssl_certfile=str(tls_files.cert), ssl_keyfile=str(tls_files.key)
    ) as url:
        yield url.replace("http://", "https://", 1)


def _run(url: str, **options: object) -> tuple[StreamResult, Metrics]:
    metrics = Metrics()
    spec = StreamSpec(url, **{"max_seconds": 10.0, "timeout_s": 5.0, **options})  # type: ignore[arg-type]
    return run_stream(spec, metrics), metrics


def _counts(metrics: Metrics) -> dict[str, int]:
    return {name: h.count for name, h in metrics.histograms.items()}


def test_a_verified_stream_is_exact_and_each_connection_has_one_handshake(
    tls_url: str, tls_files: TlsFiles
) -> None:
    result, metrics = _run(
        tls_url + "/counter?count=12&interval_ms=2&retry_ms=10",
        max_events=12,
        reconnect=True,
        cafile=str(tls_files.ca),
    )
    assert (result.end, result.error, result.events, result.reconnects) == ("bound", None, 12, 2)
    c = metrics.counters
    assert (c["lost"], c["duplicated"], c["out_of_order"], c["resume_exact"]) == (0, 0, 0, 2)
    counts = _counts(metrics)
    assert counts["tls"] == counts["connect"] == 3
    assert counts["latency"] == 12
    # The handshake is a part of each connect (request start to response head), never more.
    tls, connect = metrics.histograms["tls"].summary(), metrics.histograms["connect"].summary()
    assert 0 < tls["max"] <= connect["max"]
    assert (
        "tls_ms"
        in load_report(
            metrics, target={}, users=1, workers=1, started=0.0, duration_s=1.0, cpu_warning=False
        )["metrics"]
    )


def test_a_plain_http_run_reports_no_tls(reference_server_url: str) -> None:
    _, metrics = _run(reference_server_url + "/counter?count=3&interval_ms=2", max_events=3)
    report = load_report(
        metrics, target={}, users=1, workers=1, started=0.0, duration_s=1.0, cpu_warning=False
    )
    assert "tls_ms" not in report["metrics"] and report["metrics"]["connect_ms"]["count"] == 1


def test_a_certificate_that_does_not_verify_is_one_error_and_no_events(tls_url: str) -> None:
    # The system CAs do not know the throwaway CA. Reconnecting is allowed, yet futile here:
    # the stream fails at once instead of handshaking again until its deadline.
    result, metrics = _run(tls_url + "/counter?count=5&interval_ms=2", reconnect=True)
    assert (result.end, result.events, result.reconnects) == ("error", 0, 0)
    assert isinstance(result.failure, SSEConnectionError)
    assert result.error is not None and "\n" not in result.error
    assert "certificate verify failed" in result.error and "127.0.0.1" in result.error
    assert metrics.counters["events"] == metrics.counters["bytes"] == 0
    assert metrics.counters["errors"] == 1
    assert all(n == 0 for n in _counts(metrics).values())


def test_insecure_accepts_any_certificate(tls_url: str) -> None:
    result, metrics = _run(tls_url + "/counter?count=3&interval_ms=2", max_events=3, insecure=True)
    assert (result.end, result.events) == ("bound", 3)
    assert _counts(metrics)["tls"] == 1


def test_load_command_over_tls_writes_and_gates_tls_ms(
    tls_url: str, tls_files: TlsFiles, tmp_path: Path, lenient_thresholds: Path
) -> None:
    thresholds = tmp_path / "thresholds.toml"  # the shipped timing checks off, TLS's on
    thresholds.write_text(
        lenient_thresholds.read_text() + "error_rate = 0.0\ntls_p99_ms = 10000.0\n",
        encoding="utf-8",
    )
    reports = tmp_path / "report"
    code = main([
        "load", tls_url + "/counter?count=4&interval_ms=2", "--cafile", str(tls_files.ca),
        "-u", "2", "-r", "2", "-t", "2s", "--report-dir", str(reports),
        "--thresholds", str(thresholds), "--locust", "--only-summary --sse-max-events 4",
    ])  # fmt: skip
    report = json.loads((reports / "load.json").read_text(encoding="utf-8"))
    assert code == 0, report["gate"]
    metrics = report["metrics"]
    assert report["integrity"]["events"] > 0 and report["streams"]["errors"] == 0
    assert metrics["tls_ms"]["count"] == metrics["connect_ms"]["count"] > 0
    assert report["gate"]["warnings"] == []  # tls_p99_ms was measured, not skipped
    # The same report against a limit no handshake meets: the gate names the TLS figure.
    strict = tmp_path / "strict.toml"
    strict.write_text(lenient_thresholds.read_text() + "tls_p99_ms = 0.000001\n", encoding="utf-8")
    breaches = evaluate(report, load_thresholds(strict)).breaches
    assert [b.check for b in breaches] == ["tls_p99_ms"]


def test_load_command_refuses_an_untrusted_certificate_in_one_line(
    tls_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["load", tls_url + "/counter?count=4", "--report-dir", str(tmp_path / "r")])
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert "certificate" in err and "--cafile" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "r" / "load.json").exists()


def test_a_missing_ca_file_is_a_load_error(tls_url: str, tmp_path: Path) -> None:
    with pytest.raises(LoadError, match="no CA file"):
        run_load(LoadOptions(tls_url, cafile=tmp_path / "absent.pem", report_dir=tmp_path))
