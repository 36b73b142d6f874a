"""The producer rules of SPEC.md with their levels, so that every report line can quote its rule.

The texts are short quotations of ``shared/SPEC.md``; ``tests/test_rules.py`` checks that every id
and level here matches that file, so the two cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.outcome import Level

__all__ = ["RULES", "Rule", "rule"]


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    level: Level
    text: str


_M, _S, _A, _P = Level.MUST, Level.SHOULD, Level.ADVICE, Level.PRACTICE

RULES: dict[str, Rule] = {
    r.id: r
    for r in (
        Rule("S-01", _M, "A stream response has status 200; clients fail on any other status."),
        Rule("S-02", _M, "Content-Type essence is text/event-stream."),
        Rule("S-03", _M, "A charset parameter, if present, is utf-8."),
        Rule("S-04", _M, "The body is UTF-8; no invalid sequences."),
        Rule("S-05", _M, "Lines end in CRLF, LF or CR."),
        Rule(
            "S-06",
            _M,
            "Grammar: at most one BOM, only at byte 0; field names non-empty, no CR/LF/colon;"
            " values hold no CR/LF (multi-line payloads become several data: lines).",
        ),
        Rule("S-07", _M, "Every event ends with a blank line, the last one before close included."),
        Rule("S-08", _M, "Field names are exactly lowercase data, event, id, retry."),
        Rule(
            "S-09",
            _M,
            "One U+0020 after the colon is stripped by clients; a value that must start with a"
            " space needs two.",
        ),
        Rule("S-10", _M, "id values hold no U+0000 and no CR/LF; an empty id: resets."),
        Rule("S-11", _M, "retry values are ASCII digits only, base 10 milliseconds."),
        Rule("S-12", _M, "An omitted or empty event means type message."),
        Rule("S-13", _A, "204 (in fact any non-200) tells a client to stop reconnecting."),
        Rule("S-14", _S, "Capacity problems are answered with 5xx."),
        Rule("S-15", _A, "Redirects (301/302/303/307/308) are followed by clients."),
        Rule(
            "S-16",
            _A,
            "A comment line about every 15 seconds keeps proxies from closing idle streams.",
        ),
        Rule("S-17", _A, "Each event must be flushed when produced (no chunking/buffering delay)."),
        Rule(
            "S-18",
            _P,
            "Resume after Last-Event-ID: a resumable stream continues after the named id, with no"
            " gap and no duplicate.",
        ),
        Rule(
            "S-19",
            _P,
            "Cross-origin browsers need Access-Control-Allow-Origin; OPTIONS answers"
            " Access-Control-Allow-Headers: last-event-id.",
        ),
        Rule("S-20", _P, "Cache-Control: no-cache or no-store on the response."),
        Rule("S-21", _P, "No proxy or compression buffering (X-Accel-Buffering: no, no gzip)."),
        Rule("S-22", _M, "No Connection: header over HTTP/2 (RFC 9113 8.2.2)."),
        Rule("S-23", _P, "When the client goes away, the server stops producing for it promptly."),
    )
}


def rule(rule_id: str) -> Rule:
    return RULES[rule_id]
