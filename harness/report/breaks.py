"""What breaks in each client: the rules it failed, one plain sentence each, with the case ids.

For people choosing a client, the matrix's FAILED and NON-STRICT cells are folded into a short
list per client. A cell counts against the rule its result names: the case's first rule, the one
it was written for (its other rules are context: ``client.reconnect.2`` is about Last-Event-ID,
C-R4, though it also needs a reconnect), unless the grader pinned the deviation on another rule
from the evidence (:class:`~harness.clients.grader.CellGrade`). The sentences say what goes
wrong in a client that breaks the rule; the rule ids are SPEC.md's. Everything is computed from
``clients.json`` alone, so the page and ``docs/clients.md`` can be rebuilt from a report.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["SENTENCES", "Break", "what_breaks"]

#: What goes wrong in a client that breaks each client rule of SPEC.md.
SENTENCES: dict[str, str] = {
    "C-R1": "Does not request the stream with a plain GET.",
    "C-R2": "Does not send Accept: text/event-stream.",
    "C-R3": "Does not send Cache-Control: no-cache, so a cache in between may answer instead.",
    "C-R4": "Sends a wrong Last-Event-ID on reconnect, or none, so the server cannot resume"
    " where the stream stopped.",
    "C-R5": "Does not follow redirects, or reconnects to the redirected URL instead of the"
    " original one.",
    "C-H1": "Reconnects after the user closed it.",
    "C-H2": "Does not reconnect after the connection breaks mid-stream.",
    "C-H3": "Reads a response whose status is not 200 as a stream, or keeps retrying it.",
    "C-H4": "Checks Content-Type wrongly: reads a body that is not text/event-stream, or refuses"
    " a valid one (parameters, letter case).",
    "C-H5": "Announces the connection late (with the first event) or not at all.",
    "C-H6": "Does not reconnect when the server ends the stream normally.",
    "C-H7": "Reconnects after it failed the connection.",
    "C-H8": "Reconnects too early or too late for the reconnection time, or with another request.",
    "C-H9": "Waits an unusual time before reconnecting when no retry was given.",
    "C-P1": "Decodes UTF-8 wrongly: a leading BOM kept (or a later one stripped), or a character"
    " split across network reads, or an invalid byte, comes out wrong.",
    "C-P2": "Splits lines wrongly: CR, LF or CRLF mishandled (also across network reads), a CR"
    " at the end of a read holding its event back, or other characters ending lines.",
    "C-P3": "Does not dispatch an event at its blank line: events come late, merged or not at all.",
    "C-P4": "Does not ignore comment lines.",
    "C-P5": "Splits field name and value wrongly (first colon, one leading space).",
    "C-P6": "Does not read a line without a colon as a field with an empty value.",
    "C-P7": "Dispatches the unfinished event at the end of a body (or keeps its id) instead of"
    " dropping it.",
    "C-P8": "Does not ignore unknown or differently cased field names.",
    "C-P9": "Builds the data or the event type wrongly (several data lines, a line split across"
    " network reads).",
    "C-P10": "Handles the id field wrongly: not set, not reset by an empty id, or set from a"
    " value holding NUL.",
    "C-P11": "Misreads retry: values that are not plain ASCII digits change the reconnection"
    " time, a valid one is ignored, or a huge one crashes it.",
    "C-D1": "Hands events a wrong last event ID: an id field not taken, kept or reset as the"
    " standard says (empty ids, ids holding NUL, blocks without data), or not carried on.",
    "C-D2": "Fires events for blocks without data (comment, id, retry or event-only blocks,"
    " extra blank lines), which code expecting JSON in every event chokes on.",
    "C-D3": "Keeps the trailing newline of the data, or removes more than one.",
    "C-D4": "Gets the event type wrong: not 'message' by default, or not the event field's value.",
    "C-D5": "Lets the event type or data of one event leak into the next.",
}


@dataclass(frozen=True, slots=True)
class Break:
    """One rule a client broke: at MUST level (FAILED) or below (NON-STRICT), and where."""

    rule: str
    sentence: str
    outcome: str
    cases: tuple[str, ...]


def what_breaks(data: dict[str, Any]) -> dict[str, list[Break]]:
    """Per client of a ``clients.json`` document, its broken rules in rule order, FAILED ones
    first; a client with none maps to an empty list."""
    first_rule = {case["id"]: case["rules"][0] for case in data["cases"]}
    found: dict[str, dict[tuple[str, str], list[str]]] = {c["name"]: {} for c in data["clients"]}
    for result in data["results"]:
        if result["outcome"] in ("FAILED", "NON-STRICT"):
            key = (result["outcome"], result.get("rule") or first_rule[result["case"]])
            found[result["client"]].setdefault(key, []).append(result["case"])
    return {
        client: [
            Break(rule, SENTENCES.get(rule, rule), outcome, tuple(cases))
            for (outcome, rule), cases in sorted(rules.items(), key=_order)
        ]
        for client, rules in found.items()
    }


_FAMILIES = ("C-R", "C-H", "C-P", "C-D")


def _order(item: tuple[tuple[str, str], list[str]]) -> tuple[bool, int, int, str]:
    """FAILED before NON-STRICT; then SPEC.md's order: request, response, parsing, dispatch."""
    (outcome, rule), _ = item
    family = rule.rstrip("0123456789")
    rank = _FAMILIES.index(family) if family in _FAMILIES else len(_FAMILIES)
    return outcome != "FAILED", rank, int(rule[len(family) :] or 0), rule
