"""What breaks in each server library: the rules its app broke, with the case ids, and what to
change in the app.

The server counterpart of :mod:`.breaks`: a FAILED or NON-STRICT result counts against its
case's first rule (the one the case was written for), stated in the rule catalogue's own words
(:mod:`harness.rules`), FAILED first, then in rule order. The next steps are the results'
``evidence["next_step"]`` (the header to send, the keep-alive to set), each once, with the cases
that asked for it. Computed from ``servers.json`` alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from harness.report.breaks import Break
from harness.rules import RULES

__all__ = ["Fix", "what_breaks", "what_to_change"]

_BREACHES = ("FAILED", "NON-STRICT")


@dataclass(frozen=True, slots=True)
class Fix:
    """One change to the app, and the cases that ask for it."""

    step: str
    cases: tuple[str, ...]


def what_breaks(data: dict[str, Any]) -> dict[str, list[Break]]:
    """Per library of a ``servers.json`` document, its broken rules (an empty list: none)."""
    first_rule = {case["id"]: case["rules"][0] for case in data["cases"]}
    found: dict[str, dict[tuple[str, str], list[str]]] = {
        library["name"]: {} for library in data["libraries"]
    }
    for result in data["results"]:
        if result["outcome"] in _BREACHES:
            key = (result["outcome"], first_rule[result["case"]])
            found[result["library"]].setdefault(key, []).append(result["case"])
    return {
        name: [
            Break(rule, _sentence(rule), outcome, tuple(cases))
            for (outcome, rule), cases in sorted(rules.items(), key=_order)
        ]
        for name, rules in found.items()
    }


def what_to_change(data: dict[str, Any]) -> dict[str, list[Fix]]:
    """Per library, the next steps of its FAILED and NON-STRICT results, each once."""
    found: dict[str, dict[str, list[str]]] = {library["name"]: {} for library in data["libraries"]}
    for result in data["results"]:
        if result["outcome"] in _BREACHES and result["next_step"]:
            found[result["library"]].setdefault(result["next_step"], []).append(result["case"])
    return {
        name: [Fix(step, tuple(cases)) for step, cases in steps.items()]
        for name, steps in found.items()
    }


def _sentence(rule: str) -> str:
    known = RULES.get(rule)
    return f"{known.text} ({known.level.value})" if known else rule


def _order(item: tuple[tuple[str, str], list[str]]) -> tuple[bool, int, str]:
    (outcome, rule), _ = item
    number = rule.rpartition("-")[2]
    return outcome != "FAILED", int(number) if number.isdigit() else 0, rule
