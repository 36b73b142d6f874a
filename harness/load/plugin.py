"""The run-wide side of a load test, wired into Locust's events.

Per Locust process it keeps one :class:`LoadRun`:

- in a process that runs users (the local runner, or a worker): the :class:`Metrics` streams
  record into, a calibration stream, and a once-a-second sampler of open streams;
- a worker drains its metrics into every stats report it sends the master (Locust's own
  ``report_to_master``/``worker_report`` messaging), including the final one sent on quit;
- the master (or the local runner) merges them and, on ``quitting``, writes ``load.json`` and
  ``load.html`` (redacted: no secret header value or URL credential, ``harness.redact``), gates
  the run against the thresholds file and sets Locust's exit code (1 on a
  breach; Locust's CPU-usage warning is a breach too).

The process with Locust's web UI (the master, or a local runner) also shows the streams while
they run: an "SSE streams" tab, ``<base>/sse-harness/stats`` and live charts
(``harness.load.web``), from figures refreshed every :data:`LIVE_TICK_S` (``harness.load.live``).
A local runner then drains its own metrics into its merge on each refresh, as a worker does on
each report. Locust's own ``--html`` report and ``--csv`` files get the stream figures on quit.

What can be known wrong before a run is said before it (Locust's ``init``, before any user
spawns): thresholds that cannot be read and ``--sse-*`` values every stream would fail on end
the process with exit 2 and one line naming the problem, never a run gated on a placeholder.

Importing this module imports Locust (and so gevent's monkeypatching): only locustfiles and
``harness.load.user`` import it.
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from weakref import WeakKeyDictionary

import gevent
from locust import events
from locust.env import Environment
from locust.event import EventHook
from locust.rpc import Message
from locust.runners import MasterRunner, Runner, WorkerRunner

from harness.load.calibration import Calibration
from harness.load.gate import GateCheck, GateVerdict, Thresholds, evaluate, resolve_thresholds
from harness.load.live import LiveFigures, csv_text, html_section, rows, stream_figures
from harness.load.memory import StreamMemory, status_mib
from harness.load.metrics import Metrics
from harness.load.options import Defaults, add_arguments, check_options, redactor
from harness.load.session import halt_reading, resume_reading
from harness.load.soak import Sample, soak_section, steady_window
from harness.load.target_watch import TargetWatch, observe_url

__all__ = ["LoadRun", "install", "metrics_for"]

logger = logging.getLogger("sse_harness.load")

#: The key of our share of each worker's stats message.
MESSAGE_KEY = "sse_harness"
#: The key of a worker's own memory figures and soak samples in the same message.
PROCESS_KEY = "sse_harness_process"
#: Prefix of the log line each worker writes with its own totals when it quits.
WORKER_TOTALS = "sse-harness worker totals: "
#: Seconds between refreshes of the live figures (Locust's web UI polls every two seconds).
LIVE_TICK_S = 2.0

_runs: WeakKeyDictionary[Environment, LoadRun] = WeakKeyDictionary()
_installed: list[Defaults] = []


#: Collector thresholds while users run: young generations as usual, the oldest never (a count
#: of young collections no run reaches). See :func:`_collect_young_only`.
_YOUNG_ONLY_THRESHOLD2 = 10**9


def _collect_young_only() -> tuple[int, int, int]:
    """Keep the garbage collector's full passes out of the run; returns the thresholds to restore.

    A full pass visits every tracked object and stops every stream while it runs: at 10,000
    streams that is some 600,000 objects (Locust's users, their greenlets, the readers), and
    pauses of hundreds of milliseconds every few seconds, which the run would have reported as
    delivery latency. What exists at start (Locust, gevent, every import) is frozen, and while
    users run only the young generations are collected; one full pass runs when they stop.

    The young generations are also collected once a second (:meth:`LoadRun._each_second`).
    CPython starts a young pass when allocations outnumber deallocations by 700, and any
    object freed counts, however old: while streams end and others start, the two balance and
    the young generation grew unnoticed, in one 10,000-stream run to 248,000 objects, whose
    collection then paused every stream for 190 ms and the next one for 210 ms.

    Nothing is lost: the readers make no reference cycles on any of their paths (a test holds
    that), so their objects are freed by reference counting as they end; a cycle that outlives
    two young passes (in a locustfile's own code, say) waits for the pass at the end.
    ``gc_pause_ms`` in load.json shows the pauses that remain.
    """
    gc.collect()
    gc.freeze()
    before = gc.get_threshold()
    gc.set_threshold(before[0], before[1], _YOUNG_ONLY_THRESHOLD2)
    return before


def raise_open_file_limit() -> int | None:
    """Raise this process's open-file limit to its hard limit; return the limit now in force.

    Every stream holds a socket, and Locust raises the soft limit to 10,000 only: a process
    asked for 19,000 streams would fail the rest with "Too many open files" although the hard
    limit allowed them. Nothing above the hard limit can be had without privileges; load.json's
    ``process.open_file_limit`` says what the run had.
    """
    try:
        import resource
    except ImportError:  # not a Unix
        return None
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != soft:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        except (ValueError, OSError):
            logger.warning("could not raise the open-file limit from %d to %d", soft, hard)
    return None if soft == resource.RLIM_INFINITY else soft


def metrics_for(environment: Environment) -> Metrics:
    """The metrics streams of this process record into."""
    return _runs[environment].metrics


class LoadRun:
    def __init__(self, environment: Environment, defaults: Defaults) -> None:
        self.environment = environment
        self.defaults = defaults
        #: What this process measures, drained into each report to the master.
        self.metrics = Metrics()
        #: Master or local runner: the whole run. Worker: what it sent (for its totals line).
        self.merged = Metrics()
        self.per_worker: dict[str, Metrics] = {}
        self.started: float | None = None
        self._calibration: Calibration | None = None
        self._sampler: gevent.Greenlet | None = None
        self._gc_started = 0.0
        self._gc_thresholds: tuple[int, int, int] | None = None
        #: Memory per stream held, of this process (users run here) or of each worker; the
        #: open-file limit, which bounds the streams one process can hold.
        self.memory = StreamMemory()
        self.open_file_limit = raise_open_file_limit()
        self.worker_memory: dict[str, dict[str, Any]] = {}
        #: Soak: when the ramp ended and the run began to stop (the steady part lies between),
        #: this process's own memory samples (and each worker's), the target's.
        self.ramped: float | None = None
        self.stopping_at: float | None = None
        self.own_samples: list[Sample] = []
        self._samples_sent = 0
        self.worker_samples: dict[str, list[Sample]] = {}
        self.watch: TargetWatch | None = None
        self.target_samples: list[Sample] = []
        self._soaker: gevent.Greenlet | None = None
        if environment.runner is None or environment.parsed_options is None:
            raise RuntimeError("sse-harness load runs need Locust's runner and parsed options")
        self.runner: Runner = environment.runner
        self.options: argparse.Namespace = environment.parsed_options
        self.is_master = isinstance(self.runner, MasterRunner)
        self.is_worker = isinstance(self.runner, WorkerRunner)
        #: The gate, read now so that a file that cannot be read stops the run before it starts
        #: (a worker does not gate: its master does).
        self.thresholds: Thresholds | None = None
        self._thresholds_path = ""
        if not self.is_worker:
            check_options(environment.host, self.options)
            self.thresholds = self._read_thresholds()
        if self.is_master:
            _listen(environment.events.worker_report, self.on_worker_report)
            _await_final_reports(self.runner)
        if self.is_worker:
            _listen(environment.events.report_to_master, self.on_report_to_master)
        else:
            _listen(environment.events.spawning_complete, self.on_spawning_complete)
        #: What the web UI shows while the run goes (only in the process that has the UI).
        self.live: LiveFigures | None = None
        web_ui = getattr(environment, "web_ui", None)
        if web_ui is not None and not self.is_worker:
            from harness.load.web import mount

            self.live = LiveFigures()
            mount(web_ui, self.options, self.live, lambda: str(self.runner.state))
            gevent.spawn(self._live_ticks, self.live)

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> None:
        if self.started is None:
            self.started = time.time()
        if self.options.sse_soak and self._soaker is None:
            self._start_soak()
        if self.is_master or self._sampler is not None:
            return
        self.memory.begin()
        resume_reading()
        self._gc_thresholds = _collect_young_only()
        gc.callbacks.append(self._gc_pause)
        interval_ms = self.options.sse_calibration_ms
        if interval_ms > 0:
            self._calibration = Calibration(interval_ms / 1000)
            self._calibration.start()
        self._sampler = gevent.spawn(self._each_second)

    def _each_second(self) -> None:
        """Sample the series, and collect the young generations (see _collect_young_only)."""
        while True:
            self.metrics.sample(time.time())
            self.memory.note(self.metrics.active)
            gc.collect(1)
            gevent.sleep(1.0)

    def on_spawning_complete(self, **_kw: Any) -> None:
        if self.ramped is None:
            self.ramped = time.time()

    def _start_soak(self) -> None:
        """Sample, every ``--sse-soak-sample-s`` until the users stop, this process's memory
        (where users run) and the target (where the run is gated), which is first observed
        now, before any user starts."""
        options = self.options
        if not self.is_worker:
            self.watch = TargetWatch(
                pid=options.sse_target_pid or None,
                url=observe_url(self.environment.host or "", options.sse_contract),
                cafile=options.sse_cafile or None,
                insecure=options.sse_insecure,
            )
            self.watch.begin()

        def samples() -> None:
            while True:
                if not self.is_master:
                    own = Sample(time.time(), status_mib("VmRSS"), self._finished_here())
                    self.own_samples.append(own)
                if self.watch is not None:
                    self.target_samples.append(self.watch.sample(self._finished_in_run()))
                gevent.sleep(options.sse_soak_sample_s)

        self._soaker = gevent.spawn(samples)

    def _finished_here(self) -> int:
        """Streams this process has finished: started (sent or merged, and not yet drained)
        minus open now."""
        started = self.merged.counters["streams"] + self.metrics.counters["streams"]
        return started - self.metrics.active

    def _finished_in_run(self) -> int:
        """Streams the whole run has finished, as far as this process knows now."""
        if not self.is_master:
            return self._finished_here()
        return self.merged.counters["streams"] - self._open_streams()

    def stopping(self) -> None:
        """The test begins to stop. Unless users get time to end their streams
        (``--stop-timeout``), they are killed next, one by one: the streams stop reading now, so
        that the stall of stopping thousands is not recorded as their latency."""
        if self.stopping_at is None:
            self.stopping_at = time.time()
        if not self.is_master and not self.environment.stop_timeout:
            halt_reading()

    def _live_ticks(self, live: LiveFigures) -> None:
        """Refresh the live figures for as long as the process runs."""
        while True:
            if not self.is_master:
                delta = self.metrics.drain()
                self.merged.absorb(delta)
                live.absorb(delta)
            live.tick(
                time.time(),
                self.merged,
                endpoint=self._endpoint(),
                open_streams=self._open_streams(),
                complete_to=self._complete_to(),
            )
            gevent.sleep(LIVE_TICK_S)

    def _endpoint(self) -> str:
        """The endpoint's name, as Locust's rows name it (the path, never its query)."""
        return urlsplit(self.options.sse_path).path or "/"

    def _open_streams(self) -> int:
        """Streams open now: this process's own, or the sum of each worker's last sample."""
        if not self.is_master:
            return self.metrics.active
        return sum(
            m.active_per_s[max(m.active_per_s)] for m in self.per_worker.values() if m.active_per_s
        )

    def _complete_to(self) -> int | None:
        """The last whole second whose events every process has reported (None: none yet)."""
        if not self.is_master:
            return int(time.time()) - 1
        reported = [max(m.active_per_s) for m in self.per_worker.values() if m.active_per_s]
        return min(reported) if reported else None

    def _gc_pause(self, phase: str, _info: dict[str, int]) -> None:
        if phase == "start":
            self._gc_started = time.perf_counter()
        else:
            self.metrics.histogram("gc_pause").record(time.perf_counter() - self._gc_started)

    def stop(self) -> None:
        """Users are stopped: stop the sampler and the calibration stream (not on the master)."""
        if self._gc_pause in gc.callbacks:
            gc.callbacks.remove(self._gc_pause)
        if self._gc_thresholds is not None:
            gc.set_threshold(*self._gc_thresholds)
            self._gc_thresholds = None
            gc.unfreeze()
            gc.collect()
        if self._sampler is not None:
            self._sampler.kill()
            self._sampler = None
        if self._soaker is not None:
            self._soaker.kill()
            self._soaker = None
        if self._calibration is not None:
            self._collect_calibration()
            self._calibration.stop()
            self._calibration = None

    def _collect_calibration(self) -> None:
        if self._calibration is not None:
            self._calibration.collect(self.metrics.histogram("calibration"))

    # -- messaging ----------------------------------------------------------------------------

    def on_report_to_master(self, client_id: str, data: dict[str, Any]) -> None:
        self._collect_calibration()
        delta = self.metrics.drain()
        data[MESSAGE_KEY] = delta
        self.merged.absorb(delta)
        fresh = self.own_samples[self._samples_sent :]
        self._samples_sent = len(self.own_samples)
        data[PROCESS_KEY] = {
            "memory": self._own_figures(),
            "soak": [sample.as_json() for sample in fresh],
        }

    def on_worker_report(self, client_id: str, data: dict[str, Any]) -> None:
        delta = data.get(MESSAGE_KEY)
        if delta is None:
            return
        self.merged.absorb(delta)
        self.per_worker.setdefault(client_id, Metrics()).absorb(delta)
        if self.live is not None:
            self.live.absorb(delta)
        process = data.get(PROCESS_KEY)
        if process is not None:
            self.worker_memory[client_id] = process["memory"]
            samples = self.worker_samples.setdefault(client_id, [])
            samples.extend(Sample.from_json(row) for row in process["soak"])

    # -- the end ------------------------------------------------------------------------------

    def quit(self) -> None:
        if self.is_worker:
            logger.info(WORKER_TOTALS + json.dumps(totals(self.merged), sort_keys=True))
            return
        runner = self.runner
        if not self.is_master:
            runner.stop()  # on Ctrl-C or SIGTERM, users may still be running
            self.merged.absorb(self.metrics.drain())
        if self.watch is not None:
            self.watch.settle(self.options.sse_soak_settle_s, gevent.sleep)
        report = redactor(self.environment.host or "", self.options).report(self._report())
        verdict = self._verdict(report)
        report["gate"] = verdict.as_json()
        from harness.load.report import write_load
        from harness.report.pages import new_run_folder

        directory = Path(self.options.sse_report_dir or new_run_folder())
        paths = write_load(report, directory)
        self._extend_locust_reports(report, paths[1])
        for finding in verdict.breaches:
            logger.error("sse-harness gate breach: %s", finding.message)
        logger.info(
            "sse-harness load report: %s (gate %s)", paths[1], "PASS" if verdict.passed else "FAIL"
        )
        if not verdict.passed:
            self.environment.process_exit_code = 1
        elif not runner.exceptions:
            # Failed stream rows are within the thresholds (error_rate): the gate decides.
            self.environment.process_exit_code = 0

    def _extend_locust_reports(self, report: dict[str, Any], load_html: Path) -> None:
        """The stream figures into Locust's ``--html`` report (written before ``quitting``;
        Locust has no hook to add to it, so a section is added to the file, with a link to
        ``load.html``) and ``--csv`` files (``<prefix>_sse_stats.csv`` beside Locust's own)."""
        html_file = getattr(self.options, "html_file", None)
        csv_prefix = getattr(self.options, "csv_prefix", None)
        if not html_file and not csv_prefix:
            return
        figures = stream_figures(
            self.merged,
            open_streams=self._open_streams(),
            events_per_s=report["throughput"]["events_per_s"],
        )
        table = rows(self._endpoint(), figures)
        if csv_prefix:
            Path(f"{csv_prefix}_sse_stats.csv").write_text(csv_text(table), encoding="utf-8")
        if html_file:
            page = Path(html_file)
            if not page.is_file():
                logger.error("sse-harness: no Locust HTML report at %s to add streams to", page)
                return
            link = os.path.relpath(load_html.resolve(), page.resolve().parent)
            section = html_section(table, [(link, "load.html: the full stream report")])
            text = page.read_text(encoding="utf-8")
            at = text.rfind("</body>")
            at = at if at >= 0 else len(text)
            page.write_text(text[:at] + section + text[at:], encoding="utf-8")

    def _report(self) -> dict[str, Any]:
        from harness.load.report import load_report

        options, runner = self.options, self.runner
        final = getattr(runner, "final_user_classes_count", None) or {}
        started = self.started if self.started is not None else time.time()
        mcp = None
        if self.defaults.profile == "mcp":
            from harness.load.options import mcp_settings

            mcp = mcp_settings(options)
        report = load_report(
            self.merged,
            target={
                "url": (self.environment.host or "").rstrip("/") + options.sse_path,
                "method": options.sse_method.upper(),
                "profile": self.defaults.profile,
                #: "sequence" or "none": whether lost and duplicated events were counted.
                "ids": options.sse_ids,
            },
            users=sum(final.values()) or options.num_users or 0,
            workers=len(self.per_worker) if self.is_master else 1,
            started=started,
            duration_s=time.time() - started,
            cpu_warning=bool(
                runner.cpu_warning_emitted or getattr(runner, "worker_cpu_warning_emitted", False)
            ),
            per_worker=self.per_worker,
            mcp=mcp,
        )
        report["process"] = self._memory_section()
        if options.sse_soak:
            report["soak"] = self._soak_section()
        return report

    def _memory_section(self) -> dict[str, Any]:
        """load.json's ``process``: this process's peak memory, and each load process's memory
        per stream held (``rss_per_stream_kib``: the most of any of them)."""
        processes = self.worker_memory if self.is_master else {"local": self._own_figures()}
        figures = [p["rss_per_stream_kib"] for p in processes.values()]
        return {
            "peak_rss_mib": status_mib("VmHWM"),
            "rss_per_stream_kib": max((f for f in figures if f is not None), default=None),
            "load_processes": processes,
        }

    def _own_figures(self) -> dict[str, Any]:
        """This load process's memory per stream and open-file limit."""
        return {**self.memory.as_json(), "open_file_limit": self.open_file_limit}

    def _soak_section(self) -> dict[str, Any]:
        started = self.started if self.started is not None else time.time()
        harness = self.worker_samples if self.is_master else {"local": self.own_samples}
        watch = self.watch
        return soak_section(
            sample_s=self.options.sse_soak_sample_s,
            window=steady_window(started, self.ramped, self.stopping_at or time.time()),
            target=self.target_samples,
            target_pid=watch.pid if watch else None,
            observe=watch.as_json() if watch else {},
            harness=harness,
        )

    def _read_thresholds(self) -> Thresholds:
        """The thresholds ``--sse-thresholds`` names (or the ones found from the working
        directory); ``ValueError`` names the file and what is wrong with it."""
        self._thresholds_path = self.options.sse_thresholds
        path = self._thresholds_path
        return resolve_thresholds(Path(path) if path else None)

    def _verdict(self, report: dict[str, Any]) -> GateVerdict:
        """The gate's verdict. The web UI may have named another thresholds file since init: it
        is read now, and one that cannot be read is the breach, in its own words."""
        thresholds = self.thresholds
        if thresholds is None or self.options.sse_thresholds != self._thresholds_path:
            try:
                thresholds = self._read_thresholds()
            except ValueError as exc:
                unreadable = GateCheck("thresholds", None, None, str(exc))
                return GateVerdict(breaches=[unreadable], checks=[unreadable])
        return evaluate(report, thresholds)


def totals(metrics: Metrics) -> dict[str, Any]:
    """Counters and histogram counts: what a worker logs, and what tests compare."""
    counts = {f"{name}_count": h.count for name, h in metrics.histograms.items()}
    return {**{k: v for k, v in metrics.counters.items() if v}, **counts}


def install(defaults: Defaults) -> None:
    """Register the ``--sse-*`` options and the run's listeners (once per process)."""
    if _installed:
        return
    _installed.append(defaults)

    def options(parser: Any, **_kw: Any) -> None:
        add_arguments(parser, defaults)

    def init(environment: Environment, **_kw: Any) -> None:
        try:
            _runs[environment] = LoadRun(environment, defaults)
        except ValueError as exc:  # before any user spawns: one line, exit 2, no run
            sys.stderr.write(f"sse-harness: {exc}\n")
            raise SystemExit(2) from None

    _listen(events.init_command_line_parser, options)
    _listen(events.init, init)
    _listen(events.test_start, lambda environment, **_kw: _runs[environment].start())
    _listen(events.test_stopping, lambda environment, **_kw: _runs[environment].stopping())
    _listen(events.test_stop, lambda environment, **_kw: _runs[environment].stop())
    _listen(events.quitting, lambda environment, **_kw: _runs[environment].quit())


#: How long the master waits for the workers' final reports when it quits.
FINAL_REPORTS_WAIT_S = 60.0


def _await_final_reports(runner: Runner) -> None:
    """Work around Locust's fixed wait for the workers' final reports, in this one place.

    ``MasterRunner.quit`` (locust/runners.py) sends each worker "quit", sleeps a fixed 0.5 s
    "for final stats report from all workers", then stops receiving. A worker that takes longer
    to stop its users (thousands of streams, or ``--stop-timeout``) sends its final report too
    late: what it measured last, and the streams its stop ended, were missing from the merged
    report. So the master's quit first asks the workers to quit and waits, bounded, until each
    has said "quit" (a worker sends its final report before that, on the same socket), then lets
    Locust's own quit go on. tests/test_load_locust.py shows the loss with ``--stop-timeout``.
    """
    assert isinstance(runner, MasterRunner)
    locust_quit = runner.quit

    def quit() -> None:
        runner.stop(send_stop_to_client=False)
        for client in runner.clients.all:
            runner.server.send_to_client(Message("quit", None, client.id))  # type: ignore[no-untyped-call]
        deadline = time.monotonic() + runner.environment.stop_timeout + FINAL_REPORTS_WAIT_S
        while runner.clients.all and time.monotonic() < deadline:
            gevent.sleep(0.1)  # the master's receiving greenlet runs meanwhile
        if runner.clients.all:
            missing = ", ".join(c.id for c in runner.clients.all)
            logger.error(
                "no final report from worker(s) %s: their last measurements are missing", missing
            )
        locust_quit()

    runner.quit = quit  # type: ignore[method-assign]


def _listen(hook: EventHook, listener: Callable[..., None]) -> None:
    hook.add_listener(listener)  # type: ignore[no-untyped-call]  # Locust leaves it untyped
