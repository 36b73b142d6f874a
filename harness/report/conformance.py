"""JUnit XML and the conformance page (index.html), rendered from a ``conformance.json``."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import defaultdict
from typing import Any

from harness.report.render import render

__all__ = ["SEVERITY", "by_severity", "junit_xml", "render_page", "verdict_line"]

_FAILURES = {"FAILED": "failure", "ERROR": "error"}
#: Outcomes in the order a reader acts on them: what broke, what could not run, what deviates,
#: what was not tried, then facts and passes.
SEVERITY = ("FAILED", "ERROR", "NON-STRICT", "UNIMPLEMENTED", "INFORMATIONAL", "OK")
#: How many case ids a verdict line names before it says how many more there are.
_NAMED_IDS = 3


def by_severity(cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The cases, worst outcome first, catalogue order within an outcome."""
    return sorted(cases, key=lambda case: SEVERITY.index(case["outcome"]))


def _ids(cases: list[dict[str, Any]]) -> str:
    named = ", ".join(case["id"] for case in cases[:_NAMED_IDS])
    more = len(cases) - _NAMED_IDS
    return named + (f" and {more} more" if more > 0 else "")


def verdict_line(report: dict[str, Any]) -> str:
    """The run in one line, for the terminal and the top of the page: PASS, FAILED or ERROR,
    which cases decided it, and the count of every outcome."""
    cases, summary = report["cases"], report["summary"]
    counts = ", ".join(f"{summary[o]} {o}" for o in SEVERITY if summary.get(o))
    failed = [c for c in cases if c["outcome"] == "FAILED"]
    errors = [c for c in cases if c["outcome"] == "ERROR"]
    if report.get("not_an_event_stream"):
        return (
            f"conformance: FAILED: {report['target']['url']} is not an event stream:"
            f" {report['not_an_event_stream']} ({len(cases)} response-head cases ran: {counts})"
        )
    if failed:
        verdict = f"FAILED: {len(failed)} of {len(cases)} cases break a MUST ({_ids(failed)})"
    elif errors:
        verdict = f"ERROR: {len(errors)} of {len(cases)} cases could not run ({_ids(errors)})"
    else:
        verdict = f"PASS: none of {len(cases)} cases FAILED"
    return f"conformance: {verdict}; {counts}"


def junit_xml(report: dict[str, Any]) -> bytes:
    """One testcase per case: FAILED is a failure, ERROR an error, UNIMPLEMENTED skipped.

    NON-STRICT and INFORMATIONAL pass (CI gates on MUSTs); their finding goes to system-out so a
    CI page still shows it.
    """
    cases = report["cases"]
    summary = report["summary"]
    suite = ET.Element(
        "testsuite",
        name="sse-harness conformance",
        tests=str(len(cases)),
        failures=str(summary.get("FAILED", 0)),
        errors=str(summary.get("ERROR", 0)),
        skipped=str(summary.get("UNIMPLEMENTED", 0)),
        time=str(report["duration_s"]),
        timestamp=report["started"],
    )
    ET.SubElement(
        ET.SubElement(suite, "properties"), "property", name="target", value=report["target"]["url"]
    )
    for case in cases:
        group = case["id"].rsplit(".", 1)[0]
        element = ET.SubElement(
            suite,
            "testcase",
            classname=group,
            name=f"{case['id']}: {case['title']}",
            time=str(case["duration_s"]),
        )
        evidence = case["evidence"]
        detail = "\n".join(
            [
                *(f"{r['id']} ({r['level']}): {r['text']}" for r in evidence["rules"]),
                f"observed: {evidence['observed']}",
                *([f"next step: {evidence['next_step']}"] if evidence.get("next_step") else []),
                *([f"bytes: {evidence['excerpt']}"] if evidence["excerpt"] else []),
            ]
        )
        outcome = case["outcome"]
        if outcome in _FAILURES:
            failure = ET.SubElement(
                element, _FAILURES[outcome], message=evidence["observed"], type=outcome
            )
            failure.text = detail
        elif outcome == "UNIMPLEMENTED":
            step = evidence.get("next_step")
            reason = f"{evidence['observed']}; next step: {step}" if step else evidence["observed"]
            ET.SubElement(element, "skipped", message=reason)
        else:
            ET.SubElement(element, "system-out").text = f"{outcome}\n{detail}"
    xml: bytes = ET.tostring(suite, encoding="utf-8", xml_declaration=True)
    return xml


def _groups(report: dict[str, Any]) -> dict[str, dict[str, list[dict[str, Any]]]]:
    groups: dict[str, dict[str, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    for case in report["cases"]:
        groups[case["id"].rsplit(".", 1)[0]][case["outcome"]].append(case)
    return groups


def render_page(report: dict[str, Any], nav: list[tuple[str, str]], page: str) -> str:
    return render(
        "conformance.html.j2",
        report=report,
        verdict=verdict_line(report),
        cases=by_severity(report["cases"]),
        groups=_groups(report),
        kill_matrix=report.get("kill_matrix"),
        nav=nav,
        page=page,
    )
