"""The load page (load.html), rendered from a ``load.json`` alone.

The plots are drawn by matplotlib as inline SVG, so the page stays one self-contained file; their
points come from the report's ``percentiles`` and ``series`` (see :mod:`harness.load.report`).
"""

from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import Any

from markupsafe import Markup

from harness.report.render import render

__all__ = ["load_verdict_line", "render_page"]

#: The latency histograms plotted, by plot.
_LATENCY_PLOT = ("latency", "lateness", "gap", "calibration")
_START_PLOT = ("connect", "ttfe", "ttft")
_MCP_PLOT = ("mcp_priming", "mcp_result", "mcp_resume_wait", "mcp_replay")


def render_page(report: dict[str, Any], nav: list[tuple[str, str]], page: str) -> str:
    """The load page, from ``load.json`` alone (so ``sse-harness report`` can rebuild it)."""
    plots = {
        "latency": _percentile_plot(report, _LATENCY_PLOT, "Delivery latency, lateness and gaps"),
        "start": _percentile_plot(report, _START_PLOT, "Connect, time to first event (or token)"),
        "series": _series_plot(report),
        "mcp": _percentile_plot(
            report, _MCP_PLOT, "MCP: to the priming event and the result; resume wait, replay"
        ),
        "soak": _soak_plot(report),
    }
    verdict = load_verdict_line(report)
    return render("load.html.j2", report=report, verdict=verdict, plots=plots, nav=nav, page=page)


# -- the verdict in words --------------------------------------------------------------------------

#: How the shipped thresholds' source begins (``harness.load.gate``); its path is left out.
_SHIPPED = "shipped defaults"


def _lost(report: dict[str, Any]) -> str:
    """Lost events, or that they were not counted: a run without id tracking cannot say 0."""
    if report.get("target", {}).get("ids") == "none":
        return "lost not counted (ids not tracked)"
    return f"{report['integrity']['lost']} lost"


def load_verdict_line(report: dict[str, Any]) -> str:
    """The load run in one line, for the terminal and the top of the page:

    ``load: PASS: 25 streams, 400 events, 0 lost, 0 failed; TTFE p99 3 ms; latency p99 2 ms
    (gate: shipped defaults)``, or ``load: BREACH: ... 12 failed (no_head 9, stalled 3); ...;
    error_rate 0.8 > 0.01 (gate: ...)``.
    A figure the run did not measure is said so (or left out), never printed as a bare None.
    """
    integrity, streams, gate = report["integrity"], report["streams"], report["gate"]
    failed = streams["errors"] + integrity["truncated_streams"]
    figures = [
        f"{_count(streams['started'], 'stream')}, {_count(integrity['events'], 'event')},"
        f" {_lost(report)}, {failed} failed{_why(streams)}",
        _p99(report, "ttfe", "TTFE", "no stream got a first event"),
        _p99(report, "latency", "latency", "latency not measured (events carry no send stamp)"),
    ]
    if "mcp" in report:
        figures = _mcp_figures(report)
    if "soak" in report:
        figures.append(_soak_figures(report["soak"]))
    breaches = [_breach(b) for b in gate["breaches"]]
    word = "PASS" if gate["passed"] else "BREACH"
    return f"load: {word}: {'; '.join(figures + breaches)} (gate: {_source(gate)})"


def _mcp_figures(report: dict[str, Any]) -> list[str]:
    """An mcp run's figures: ``3 sessions (peak 3), 172 calls, 17 drops, 0 lost, 0 duplicated
    (0 and 0 per 1,000 drops), 0 failed; result p99 106 ms; priming p99 4.9 ms; resume wait p99
    1.4 ms; replay p99 3.4 ms``; sessions that could not open and why calls failed, when any."""
    mcp, streams = report["mcp"], report["streams"]
    errors = mcp["session_errors"]
    sessions = f"{_count(mcp['sessions_opened'], 'session')} (peak {mcp['peak_sessions']}"
    sessions += f", {errors} could not open)" if errors else ")"
    rates = [mcp["lost_per_1000_drops"], mcp["duplicated_per_1000_drops"]]
    per_1000 = (
        f" ({_number(rates[0])} and {_number(rates[1])} per 1,000 drops)"
        if None not in rates
        else ""
    )
    failed = mcp["failed_calls"] + errors
    integrity = (
        f"{_count(mcp['drops'], 'drop')}, {mcp['lost']} lost, {mcp['duplicated']} duplicated"
        f"{per_1000}"
    )
    if not mcp["drops"] and mcp["not_resumable"]:
        # Nothing was dropped and resumed: "0 lost" would vouch for resumption never tried.
        integrity = (
            f"no drop ({mcp['not_resumable']} calls carried no event id to resume from),"
            " lost and duplicated not counted"
        )
    return [
        f"mcp: {sessions}, {_count(mcp['calls'], 'call')}, {integrity},"
        f" {failed} failed{_why(streams) if failed else ''}",
        _mcp_p99(mcp, "result", "result", "no call answered"),
        _mcp_p99(mcp, "priming", "priming", "no priming event"),
        _mcp_p99(mcp, "resume_wait", "resume wait", "no resume"),
        _mcp_p99(mcp, "replay", "replay", "nothing replayed"),
    ]


def _soak_figures(soak: dict[str, Any]) -> str:
    """``soak: target +3.1 MiB/h, 0.6 KiB per finished stream, 0 streams left; load processes
    +0.4 MiB/h``; a figure the soak could not draw is said so."""
    target = soak["target"]
    if target["pid"] is None:
        memory = "target memory not sampled (no --target-pid)"
    else:
        memory = f"target {_memory_slopes(soak, 'target')}"
    observe = target["observe"]
    if soak["streams_left"] is None:
        left = f"live streams not observed ({observe.get('why') or 'no observation'})"
    else:
        left = _count(soak["streams_left"], "stream") + " left"
    return f"soak: {memory}, {left}; load processes {_memory_slopes(soak, 'harness')}"


def _memory_slopes(soak: dict[str, Any], who: str) -> str:
    per_h, per_stream = soak[f"{who}_growth_mib_per_h"], soak[f"{who}_kib_per_stream"]
    shown = [f"{per_h:+.3g} MiB/h" if per_h is not None else "no rate per hour (steady part short)"]
    if per_stream is not None:
        shown.append(f"{per_stream:.3g} KiB per finished stream")
    return ", ".join(shown)


def _mcp_p99(mcp: dict[str, Any], name: str, label: str, absent: str) -> str:
    summary = mcp.get(f"{name}_ms") or {}
    value = summary.get("p99") if summary.get("count") else None
    return absent if value is None else f"{label} p99 {_ms(value)} ms"


#: How many failure keys (the commonest) the verdict line names; the page lists them all.
_WHY_SHOWN = 3


def _why(streams: dict[str, Any]) -> str:
    """`` (no_head 9, stalled 3)``: why streams failed, commonest first; "" when none did."""
    failures = list(streams.get("failures", {}).items())
    if not failures:
        return ""
    named = [f"{key} {f['count']}" for key, f in failures[:_WHY_SHOWN]]
    if len(failures) > _WHY_SHOWN:
        named.append("...")
    return f" ({', '.join(named)})"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _p99(report: dict[str, Any], metric: str, label: str, absent: str) -> str:
    summary = report["metrics"].get(f"{metric}_ms") or {}
    value = summary.get("p99") if summary.get("count") else None
    return absent if value is None else f"{label} p99 {_ms(value)} ms"


def _ms(value: float) -> str:
    """Milliseconds as a reader wants them: 0.35, 3.2, 41, 1500."""
    if value < 1:
        return f"{value:.2g}"
    if value < 10:
        return f"{value:.1f}".removesuffix(".0")
    return f"{value:.0f}"


def _number(value: float) -> str:
    """0.736842 as 0.737, 250.0 as 250: enough digits to compare with a limit."""
    return f"{round(value, 3):.12g}"


def _breach(breach: dict[str, Any]) -> str:
    """``error_rate 0.8 > 0.01``: a limit's key, what was measured and the limit; any other
    breach (min_events, the CPU warning, a baseline, unreadable thresholds) in its own words."""
    check, value, limit = breach["check"], breach.get("value"), breach.get("limit")
    own_words = check in ("min_events", "cpu_warning") or check.startswith(("baseline", "mcp_min_"))
    if own_words or not isinstance(value, int | float) or not isinstance(limit, int | float):
        return str(breach["message"])
    return f"{check} {_number(value)} > {_number(limit)}"


def _source(gate: dict[str, Any]) -> str:
    source = str(gate.get("thresholds", {}).get("source") or "thresholds not recorded")
    if source.startswith(_SHIPPED):
        return _SHIPPED
    return f"{source} over the {_SHIPPED}"


# -- plots ---------------------------------------------------------------------------------------


def _svg(figure: Any) -> Markup:
    import matplotlib

    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none"}):  # text stays text: smaller, faster
        figure.savefig(buffer, format="svg", bbox_inches="tight")
    text = buffer.getvalue()
    return Markup(text[text.index("<svg") :])  # matplotlib's own SVG, no user text


def _percentile_plot(report: dict[str, Any], names: tuple[str, ...], title: str) -> Markup | None:
    """HdrHistogram's percentile-distribution plot: the tail is spread out, not squashed."""
    from matplotlib.figure import Figure

    found = report.get("percentiles", {})
    curves = [(name, found[name]["x"], found[name]["ms"]) for name in names if name in found]
    if not curves:
        return None
    figure = Figure(figsize=(7.5, 3.6))
    axes = figure.add_subplot()
    for name, xs, ys in curves:
        axes.plot(xs, ys, label=f"{name}_ms")
    axes.set_xscale("log")
    ticks = [1, 2, 10, 100, 1000, 10000, 100000]
    axes.set_xticks(ticks, ["0%", "50%", "90%", "99%", "99.9%", "99.99%", "99.999%"])
    axes.set_xlim(1, max(max(xs) for _, xs, _ in curves) * 1.5)
    axes.set_yscale("symlog", linthresh=1)  # log above 1 ms, linear below: 0 stays on the plot
    axes.set_ylim(bottom=0)
    axes.set_xlabel("percentile")
    axes.set_ylabel("ms")
    axes.set_title(title)
    axes.grid(True, which="major", alpha=0.3)
    axes.legend(loc="upper left", fontsize="small")
    return _svg(figure)


def _soak_plot(report: dict[str, Any]) -> Markup | None:
    """Memory over the run (the target's and each load process's), the target's live streams,
    and the steady part the verdicts are drawn from shaded."""
    from matplotlib.figure import Figure

    soak = report.get("soak")
    if not soak:
        return None
    curves = [("target", soak["target"]["series"])]
    curves += [(f"load {name}", part["series"]) for name, part in soak["harness"].items()]
    start = min((series[0][0] for _, series in curves if series), default=None)
    if start is None:
        return None
    figure = Figure(figsize=(7.5, 3.6))
    memory = figure.add_subplot()
    for label, series in curves:
        points = [(t - start, rss) for t, rss, *_ in series if rss is not None]
        if points:
            memory.plot(*zip(*points, strict=True), label=f"{label} RSS")
    live = [(row[0] - start, row[3]) for row in soak["target"]["series"] if row[3] is not None]
    if live:
        streams = memory.twinx()
        streams.plot(*zip(*live, strict=True), color="#c62828", alpha=0.5)
        streams.set_ylabel("target live streams", color="#c62828")
    memory.axvspan(soak["steady"]["from"] - start, soak["steady"]["to"] - start, alpha=0.08)
    memory.set_xlabel(f"seconds since {datetime.fromtimestamp(start, UTC):%H:%M:%S} UTC")
    memory.set_ylabel("MiB")
    memory.set_title("Soak: resident memory (steady part shaded) and live streams")
    memory.grid(True, alpha=0.3)
    memory.legend(loc="upper left", fontsize="small")
    return _svg(figure)


def _series_plot(report: dict[str, Any]) -> Markup | None:
    from matplotlib.figure import Figure

    series = report["series"]
    if not series["events_per_s"]:
        return None
    seconds = list(range(len(series["events_per_s"])))
    figure = Figure(figsize=(7.5, 3.6))
    events = figure.add_subplot()
    events.plot(seconds, series["events_per_s"], color="#1565c0", label="events/s")
    events.set_xlabel(f"seconds since {datetime.fromtimestamp(series['start'], UTC):%H:%M:%S} UTC")
    events.set_ylabel("events/s", color="#1565c0")
    streams = events.twinx()
    streams.plot(seconds, series["active_streams"], color="#c62828", label="open streams")
    streams.set_ylabel("open streams", color="#c62828")
    events.set_title("Events per second and open streams")
    events.grid(True, alpha=0.3)
    return _svg(figure)
