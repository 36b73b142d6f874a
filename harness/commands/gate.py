"""``sse-harness gate REPORT [--baseline REPORT]``: the CI verdict on a load run or a benchmark.

A ``load.json`` is gated on the thresholds and, with ``--baseline``, on regressions; a benchmark
record (``reports/bench/*.json``) is compared with a saved one by the same +20% / +50% rule.
The first line is the verdict (``gate: PASS ...`` or ``gate: BREACH <checks> ...``), then every
check with its figure and limit. Exit codes: 0 pass (warnings allowed), 1 a breach, 2 usage
error (unreadable report or thresholds file).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from harness.commands.options import add_thresholds_option

if TYPE_CHECKING:
    from harness.load.gate import GateVerdict, Thresholds

__all__ = ["add_arguments", "run"]

HELP = "CI verdict on a load report, against thresholds and a baseline"
EXIT_PASS, EXIT_BREACH, EXIT_USAGE = 0, 1, 2


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "report", type=Path, help="a load.json (or its run folder), or a benchmark record"
    )
    parser.add_argument(
        "--baseline", type=Path, help="an earlier report of the same kind (or its folder)"
    )
    add_thresholds_option(parser, "the")
    parser.add_argument("--json", action="store_true", help="print the verdict as JSON")


def run(args: argparse.Namespace) -> int:
    from harness.load.gate import compare_figures, evaluate, read_report

    thresholds: Thresholds = args.resolved_thresholds  # read by harness.cli before this runs
    try:
        report = read_report(args.report)
        baseline = read_report(args.baseline) if args.baseline else None
        if baseline is not None and baseline.get("kind") != report.get("kind"):
            raise ValueError("the report and its baseline are not of the same kind")
    except ValueError as exc:
        print(f"sse-harness gate: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if report.get("kind") == "benchmark":
        verdict = compare_figures(report, baseline, thresholds)
    else:
        verdict = evaluate(report, thresholds, baseline)
    if args.json:
        print(json.dumps(verdict.as_json(), indent=2))
    else:
        _print_table(verdict)
    return EXIT_PASS if verdict.passed else EXIT_BREACH


def _print_table(verdict: GateVerdict) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from harness.load.gate import format_figure

    print(verdict.headline(), flush=True)  # plain: one line, never wrapped nor styled
    breaches = {id(f) for f in verdict.breaches}
    warnings = {id(f) for f in verdict.warnings}
    table = Table(title=escape(f"load gate ({verdict.thresholds['source']})"))
    for column in ("check", "value", "limit", "verdict"):
        table.add_column(column)
    for finding in verdict.checks:
        mark = (
            "[red]FAIL[/]"
            if id(finding) in breaches
            else "[yellow]WARN[/]"
            if id(finding) in warnings
            else "[green]ok[/]"
        )
        value, limit = format_figure(finding.value), format_figure(finding.limit)
        table.add_row(escape(finding.check), value, limit, mark)
    console = Console()
    console.print(table)
    for finding in verdict.breaches + verdict.warnings:
        console.print(escape(finding.message))
    console.print("[green]PASS[/]" if verdict.passed else "[red]FAIL[/]")
