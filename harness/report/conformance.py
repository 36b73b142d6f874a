"""JUnit XML and the conformance page (index.html), rendered from a ``conformance.json``."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import defaultdict
from typing import Any

from harness.report.render import render

__all__ = ["junit_xml", "render_page"]

_FAILURES = {"FAILED": "failure", "ERROR": "error"}


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
            ET.SubElement(element, "skipped", message=evidence["observed"])
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
        groups=_groups(report),
        kill_matrix=report.get("kill_matrix"),
        nav=nav,
        page=page,
    )
