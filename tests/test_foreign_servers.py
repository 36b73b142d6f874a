"""The suite against servers this project did not write, on loopback, and what each gets.

- aiohttp-sse: a plain ``sse_response`` handler. It sets Cache-Control: no-cache and
  X-Accel-Buffering: no, and passes every MUST; like sse-starlette it always sends
  ``Connection: keep-alive`` (S-22, latent over HTTP/1.1: NON-STRICT).
- sse-starlette behind Starlette's GZipMiddleware: Starlette excludes text/event-stream from
  compression (``DEFAULT_EXCLUDED_CONTENT_TYPES``), so the stream stays uncompressed; the only
  deviation is sse-starlette's unconditional ``Connection: keep-alive`` (S-22, latent over
  HTTP/1.1).
- The reference server behind nginx 1.22, ``proxy_buffering off`` or ``on``: events flow as
  produced (nginx passes upstream data on as it arrives, and the reference server's
  ``X-Accel-Buffering: no`` turns buffering off per response anyway). nginx consumes that header
  and adds its own ``Connection: keep-alive``, so the client sees NON-STRICT on server.headers.4
  and server.headers.6: true of what reaches the client, and worth knowing when another proxy or
  CDN sits in front. With ``gzip on`` for text/event-stream and the header ignored, nginx holds
  the whole stream, headers included, until it ends: server.headers.5, server.timing.1,
  server.timing.3 and the scripted schedule case (server.script.10) flag it. That is S-17 and
  S-21 in one experiment.
- The same nginx terminating TLS and speaking HTTP/2 to the client (ALPN h2; Debian's
  nginx-light has the http_v2 module): events still flow as produced, buffering on or off; over
  HTTP/2 nginx sends no connection-specific header, so S-22 (server.headers.7) holds and only
  the consumed X-Accel-Buffering shows; 100 streams multiplex on one connection; gzip holds the
  stream exactly as over HTTP/1.1.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import pytest
from aiohttp import web

from harness.server.probe import Window
from harness.server.runner import ConformanceRun, run_cases
from harness.server.target import Target
from reference_server.app import create_app
from reference_server.launch import serve_in_thread
from reference_server.tls import TlsFiles, make_tls_files

WINDOW = Window(max_events=40, max_seconds=6.0)
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def outcomes(run: ConformanceRun) -> dict[str, str]:
    return {r.case.id: r.outcome.value for r in run.results}


def deviations(run: ConformanceRun) -> dict[str, str]:
    return {k: v for k, v in outcomes(run).items() if v in ("FAILED", "NON-STRICT", "ERROR")}


# -- aiohttp-sse ---------------------------------------------------------------------------


@pytest.fixture
async def aiohttp_sse_url(serve_aiohttp: Callable[[web.Application], Awaitable[str]]) -> str:
    from aiohttp_sse import sse_response

    async def stream(request: web.Request) -> web.StreamResponse:
        async with sse_response(request) as response:
            for n in range(30):
                await response.send(json.dumps({"n": n}), id=str(n), event="tick")
                await asyncio.sleep(0.03)  # the producer's pace, not synchronisation
        return response

    app = web.Application()
    app.router.add_get("/stream", stream)
    return await serve_aiohttp(app) + "/stream"


async def test_aiohttp_sse_passes_every_must_but_sends_a_connection_header(
    aiohttp_sse_url: str,
) -> None:
    run = await run_cases(Target(aiohttp_sse_url), window=WINDOW)
    assert deviations(run) == {"server.headers.6": "NON-STRICT"}  # Connection: keep-alive
    assert outcomes(run)["server.script.1"] == "UNIMPLEMENTED"  # no scripting contract


# -- sse-starlette behind GZipMiddleware -----------------------------------------------------


@pytest.fixture(scope="module")
def gzip_starlette_url() -> Iterator[str]:
    from sse_starlette import EventSourceResponse
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.middleware.gzip import GZipMiddleware
    from starlette.requests import Request
    from starlette.routing import Route

    async def stream(request: Request) -> EventSourceResponse:
        async def events() -> AsyncIterator[dict[str, str]]:
            for n in range(30):
                yield {"id": str(n), "data": f"tick {n}"}
                await asyncio.sleep(0.03)

        return EventSourceResponse(events())

    app = Starlette(
        routes=[Route("/stream", stream)], middleware=[Middleware(GZipMiddleware, minimum_size=0)]
    )
    with serve_in_thread(app) as base:
        yield base + "/stream"


async def test_sse_starlette_behind_gzip_middleware_is_not_compressed(
    gzip_starlette_url: str,
) -> None:
    run = await run_cases(Target(gzip_starlette_url), window=WINDOW)
    found = outcomes(run)
    assert found["server.headers.5"] == "OK"  # Starlette never gzips text/event-stream
    assert deviations(run) == {"server.headers.6": "NON-STRICT"}  # Connection: keep-alive


# -- the reference server behind nginx ----------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


NGINX_CONF = """
worker_processes 1;
error_log {prefix}/error.log warn;
pid {prefix}/nginx.pid;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    server {{
        listen 127.0.0.1:{port}{listen};
        {tls}
        location / {{
            proxy_pass {upstream};
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_buffering {buffering};
            {extra}
        }}
    }}
}}
"""


@pytest.fixture(scope="module")
def reference_base() -> Iterator[str]:
    with serve_in_thread(create_app()) as base:
        yield base


@pytest.fixture(scope="module")
def nginx(tmp_path_factory: pytest.TempPathFactory, reference_base: str):  # type: ignore[no-untyped-def]
    """A factory: nginx in front of the reference server with the given proxy settings."""
    if not Path(NGINX).exists():
        pytest.skip("nginx is not installed (.ci/run installs Debian's nginx-light)")
    started: list[subprocess.Popen[bytes]] = []

    def start(buffering: str, extra: str = "", tls: TlsFiles | None = None) -> str:
        prefix = tmp_path_factory.mktemp("nginx")
        port = _free_port()
        conf = prefix / "nginx.conf"
        secure = (
            "" if tls is None else f"ssl_certificate {tls.cert}; ssl_certificate_key {tls.key};"
        )
        conf.write_text(
            NGINX_CONF.format(
                prefix=prefix,
                port=port,
                listen="" if tls is None else " ssl http2",
                tls=secure,
                upstream=reference_base,
                buffering=buffering,
                extra=extra,
            )
        )
        process = subprocess.Popen([NGINX, "-p", str(prefix), "-c", str(conf), "-g", "daemon off;"])
        started.append(process)
        deadline = time.monotonic() + 10
        while True:  # bounded wait for the port to accept
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                return f"{'http' if tls is None else 'https'}://127.0.0.1:{port}"
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError((prefix / "error.log").read_text()) from None
                time.sleep(0.05)

    yield start
    for process in started:
        process.terminate()
        process.wait(10)


PATH = "/counter?count=40&interval_ms=50"


@pytest.mark.parametrize("buffering", ["off", "on"])
async def test_reference_server_behind_nginx_streams_either_way(nginx, buffering: str) -> None:  # type: ignore[no-untyped-def]
    base = nginx(buffering)
    run = await run_cases(Target(base + PATH, resumable=True), window=WINDOW)
    assert deviations(run) == {
        "server.headers.4": "NON-STRICT",  # nginx consumed X-Accel-Buffering
        "server.headers.6": "NON-STRICT",  # nginx's own Connection: keep-alive
    }


async def test_nginx_gzipping_the_stream_delivers_it_in_one_burst(nginx) -> None:  # type: ignore[no-untyped-def]
    base = nginx(
        "on",
        "proxy_ignore_headers X-Accel-Buffering;"
        " gzip on; gzip_types text/event-stream; gzip_min_length 0;",
    )
    run = await run_cases(Target(base + PATH, resumable=True), window=WINDOW)
    found = deviations(run)
    held = ("server.headers.5", "server.timing.1", "server.timing.3", "server.script.10")
    for case_id in held:
        assert found.pop(case_id) == "NON-STRICT", case_id
    assert found == {"server.headers.4": "NON-STRICT", "server.headers.6": "NON-STRICT"}


# -- nginx terminating TLS and speaking HTTP/2 to the client -----------------------------------


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_tls_files(tmp_path_factory.mktemp("tls"))


@pytest.mark.parametrize("buffering", ["off", "on"])
async def test_nginx_over_tls_and_http2_streams_either_way(  # type: ignore[no-untyped-def]
    nginx, tls_files: TlsFiles, buffering: str
) -> None:
    base = nginx(buffering, tls=tls_files)
    target = Target(base + PATH, resumable=True, cafile=str(tls_files.ca))
    run = await run_cases(target, window=WINDOW)
    assert run.as_json()["target"]["http_version"] == "HTTP/2"  # chosen by ALPN
    assert deviations(run) == {"server.headers.4": "NON-STRICT"}  # nginx consumed the header
    # Over HTTP/2 nginx sends no connection-specific header: the S-22 MUST holds.
    assert outcomes(run)["server.headers.7"] == "OK"
    assert outcomes(run)["server.capacity.2"] == "OK"  # 100 streams on one connection


async def test_nginx_gzipping_over_http2_holds_the_stream(  # type: ignore[no-untyped-def]
    nginx, tls_files: TlsFiles
) -> None:
    base = nginx(
        "on",
        "proxy_ignore_headers X-Accel-Buffering;"
        " gzip on; gzip_types text/event-stream; gzip_min_length 0;",
        tls=tls_files,
    )
    target = Target(base + PATH, resumable=True, cafile=str(tls_files.ca))
    run = await run_cases(target, window=WINDOW)
    found = deviations(run)
    for case_id in ("server.headers.5", "server.timing.1", "server.timing.3"):
        assert found.pop(case_id) == "NON-STRICT", case_id
    assert found.pop("server.headers.4") == "NON-STRICT"
    assert found == {"server.script.10": "NON-STRICT"}, found  # scripts arrive in one burst too
