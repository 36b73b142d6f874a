"""The rule catalogue every case cites: producer rules (``S-*``), consumer rules (``C-*``) and
the rules MCP adds on top of them (``M-*``).

Each rule has a stable id, a level and a statement in this project's own words, with the part of
the standard it comes from: the WHATWG HTML Living Standard, section 9.2 "Server-sent events"
(9.2.2 processing model, 9.2.3 reconnection, 9.2.4 Last-Event-ID, 9.2.5 format, 9.2.6
interpretation, 9.2.7 authoring notes), the IANA registration of ``text/event-stream``, RFC 9113
(HTTP/2), the Model Context Protocol's transports page of the revision named (MCP rules), or
deployment practice. Levels: MUST (normative), SHOULD, ADVICE (non-normative
authoring note) and PRACTICE (not in the standard, but real deployments break without it); a
PRACTICE or ADVICE breach is never graded FAILED.

``docs/rules.md`` is this table as a page: ``python -m harness.rules > docs/rules.md`` writes it
and a test holds the two equal.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

from harness.outcome import Level

__all__ = ["RULES", "Rule", "markdown", "rule"]


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    level: Level
    text: str
    source: str


_M, _S, _A, _P = Level.MUST, Level.SHOULD, Level.ADVICE, Level.PRACTICE
_FORMAT, _PARSE, _MODEL = "HTML 9.2.5", "HTML 9.2.6", "HTML 9.2.2"
_RECONNECT, _NOTES, _IANA = "HTML 9.2.3", "HTML 9.2.7", "IANA text/event-stream"
_MCP_SINCE_2025_03 = "MCP 2025-03-26 and later transports"
_MCP_HANDSHAKE = "MCP 2025-03-26, 2025-06-18, 2025-11-25 transports"
_MCP_LEGACY = "MCP 2024-11-05 transports (HTTP+SSE)"
_MCP_STATELESS = "MCP 2026-07-28 transports"

RULES: dict[str, Rule] = {
    r.id: r
    for r in (
        # -- what a producer must emit ------------------------------------------------------
        Rule(
            "S-01",
            _M,
            "A stream response has status 200; clients fail on any other status.",
            _MODEL,
        ),
        Rule("S-02", _M, "Content-Type essence is text/event-stream.", _MODEL),
        Rule("S-03", _M, "A charset parameter, if present, is utf-8.", _IANA),
        Rule("S-04", _M, "The body is UTF-8; no invalid sequences.", _FORMAT),
        Rule("S-05", _M, "Lines end in CRLF, LF or CR.", _FORMAT),
        Rule(
            "S-06",
            _M,
            "Grammar: at most one BOM, only at byte 0; field names non-empty, no CR/LF/colon;"
            " values hold no CR/LF (multi-line payloads become several data: lines).",
            _FORMAT,
        ),
        Rule(
            "S-07",
            _M,
            "Every event ends with a blank line, the last one before close included.",
            _PARSE,
        ),
        Rule("S-08", _M, "Field names are exactly lowercase data, event, id, retry.", _PARSE),
        Rule(
            "S-09",
            _M,
            "One U+0020 after the colon is stripped by clients; a value that must start with a"
            " space needs two.",
            _PARSE,
        ),
        Rule("S-10", _M, "id values hold no U+0000 and no CR/LF; an empty id: resets.", _PARSE),
        Rule("S-11", _M, "retry values are ASCII digits only, base 10 milliseconds.", _PARSE),
        Rule("S-12", _M, "An omitted or empty event means type message.", _PARSE),
        Rule("S-13", _A, "204 (in fact any non-200) tells a client to stop reconnecting.", _NOTES),
        Rule("S-14", _S, "Capacity problems are answered with 5xx.", _IANA),
        Rule("S-15", _A, "Redirects (301/302/303/307/308) are followed by clients.", _NOTES),
        Rule(
            "S-16",
            _A,
            "A comment line about every 15 seconds keeps proxies from closing idle streams.",
            _NOTES,
        ),
        Rule(
            "S-17",
            _A,
            "Each event must be flushed when produced (no chunking/buffering delay).",
            _NOTES,
        ),
        Rule(
            "S-18",
            _P,
            "Resume after Last-Event-ID: a resumable stream continues after the named id, with no"
            " gap and no duplicate.",
            "practice (HTML 9.2.4 defines only the header)",
        ),
        Rule(
            "S-19",
            _P,
            "Cross-origin browsers need Access-Control-Allow-Origin; OPTIONS answers"
            " Access-Control-Allow-Headers: last-event-id.",
            "practice (Fetch CORS)",
        ),
        Rule("S-20", _P, "Cache-Control: no-cache or no-store on the response.", "practice"),
        Rule(
            "S-21",
            _P,
            "No proxy or compression buffering (X-Accel-Buffering: no, no gzip).",
            "practice",
        ),
        Rule("S-22", _M, "No Connection: header over HTTP/2.", "RFC 9113 8.2.2"),
        Rule(
            "S-23",
            _P,
            "When the client goes away, the server stops producing for it promptly.",
            "practice",
        ),
        # -- how a consumer requests ----------------------------------------------------------
        Rule("C-R1", _M, "GET the URL (POST and custom headers are extensions).", _MODEL),
        Rule("C-R2", _P, "Send Accept: text/event-stream.", _MODEL),
        Rule("C-R3", _P, "Send Cache-Control: no-cache (the request bypasses caches).", _MODEL),
        Rule(
            "C-R4",
            _M,
            "On reconnect, send Last-Event-ID with the last event ID, only when it is non-empty.",
            "HTML 9.2.4",
        ),
        Rule("C-R5", _M, "Follow redirects; reconnect to the original URL.", _MODEL),
        # -- how a consumer treats the response -----------------------------------------------
        Rule("C-H1", _M, "A request the user aborted fails the connection: no reconnect.", _MODEL),
        Rule("C-H2", _M, "Any other network error: reconnect (unless known futile).", _MODEL),
        Rule("C-H3", _M, "A status other than 200 fails the connection: no reconnect.", _MODEL),
        Rule(
            "C-H4",
            _M,
            "A Content-Type essence other than text/event-stream fails the connection;"
            " parameters (charset included) are ignored.",
            _MODEL,
        ),
        Rule("C-H5", _M, "Announce the connection (open) before reading the body.", _MODEL),
        Rule(
            "C-H6", _M, "A body that ends normally: reconnect after the reconnection time.", _MODEL
        ),
        Rule("C-H7", _M, "After failing, never reconnect.", _MODEL),
        Rule(
            "C-H8",
            _M,
            "Reconnect: wait the reconnection time (backoff may add), then the same request"
            " with Last-Event-ID.",
            _RECONNECT,
        ),
        Rule("C-H9", _A, "The default reconnection time is a few seconds.", _MODEL),
        # -- how a consumer decodes -----------------------------------------------------------
        Rule(
            "C-P1",
            _M,
            "Decode UTF-8 (invalid bytes become U+FFFD); strip one leading BOM, only at the start.",
            _PARSE,
        ),
        Rule(
            "C-P2",
            _M,
            "Lines end at CRLF, LF or CR, also when CR and LF arrive in different chunks; a CR at"
            " a chunk end does not delay the event; nothing else ends a line.",
            _PARSE,
        ),
        Rule("C-P3", _M, "An empty line dispatches the event.", _PARSE),
        Rule("C-P4", _M, "A line starting with a colon is a comment, ignored.", _PARSE),
        Rule(
            "C-P5",
            _M,
            "Field name before the first colon; value after it, minus one leading U+0020.",
            _PARSE,
        ),
        Rule("C-P6", _M, "A line without a colon is a field with an empty value.", _PARSE),
        Rule(
            "C-P7",
            _M,
            "At the end of the stream a pending event is discarded and its id not committed.",
            _PARSE,
        ),
        Rule("C-P8", _M, "Field names are case-sensitive; unknown fields are ignored.", _PARSE),
        Rule("C-P9", _M, "event sets the type; data appends the value and a LF.", _PARSE),
        Rule(
            "C-P10",
            _M,
            "id sets the last event ID buffer (empty resets) unless the value holds U+0000.",
            _PARSE,
        ),
        Rule(
            "C-P11",
            _M,
            "retry sets the reconnection time only when the value is all ASCII digits; a huge"
            " value must not crash the client.",
            _PARSE,
        ),
        # -- how a consumer dispatches --------------------------------------------------------
        Rule(
            "C-D1",
            _M,
            "Each dispatch sets the last event ID from the buffer, also for a block with no"
            " data; it persists across events and reconnects.",
            _PARSE,
        ),
        Rule("C-D2", _M, "An empty data buffer dispatches nothing (and resets the type).", _PARSE),
        Rule("C-D3", _M, "Exactly one trailing LF is removed from the data.", _PARSE),
        Rule(
            "C-D4",
            _M,
            "The type is the type buffer, or message when empty; the event carries data, type"
            " and last event ID.",
            _PARSE,
        ),
        Rule("C-D5", _M, "The data and type buffers reset after each dispatch.", _PARSE),
        # -- MCP Streamable HTTP (and its HTTP+SSE predecessor), on top of the rules above ---------
        Rule(
            "M-01",
            _M,
            "A POST carrying a JSON-RPC request is answered with Content-Type application/json"
            " (one JSON object) or text/event-stream (a stream of messages).",
            _MCP_SINCE_2025_03,
        ),
        Rule(
            "M-02",
            _M,
            "A POST carrying only a notification (or a response) that the server accepts is"
            " answered 202 Accepted with no body.",
            _MCP_SINCE_2025_03,
        ),
        Rule(
            "M-03",
            _M,
            "A GET of the MCP endpoint is answered with an event stream, or with 405 when the"
            " server offers no stream of its own.",
            _MCP_HANDSHAKE,
        ),
        Rule(
            "M-04",
            _S,
            "A stream opens with a priming event: an event id and an empty data field, so a"
            " client can resume even before the first message.",
            "MCP 2025-11-25 transports (SEP-1699)",
        ),
        Rule(
            "M-05",
            _M,
            "Every event that carries data carries one JSON-RPC message as JSON (2025-03-26 also"
            " allowed a batch array; 2025-06-18 removed batches).",
            _MCP_SINCE_2025_03,
        ),
        Rule(
            "M-06",
            _M,
            "Event ids, where given, are unique across every stream of a session, not only within"
            " one stream.",
            _MCP_HANDSHAKE,
        ),
        Rule(
            "M-07",
            _M,
            "Each JSON-RPC message goes on exactly one of the client's open streams; the server"
            " never broadcasts one message to several.",
            _MCP_HANDSHAKE,
        ),
        Rule(
            "M-08",
            _M,
            "The GET stream carries no JSON-RPC response, unless it resumes the stream of an"
            " earlier request.",
            _MCP_HANDSHAKE,
        ),
        Rule(
            "M-09",
            _S,
            "A server that gives event ids resumes a dropped stream on a GET with Last-Event-ID:"
            " that stream's messages after the id, in order, up to its response (replay itself"
            " is a MAY; ids promise it).",
            _MCP_HANDSHAKE,
        ),
        Rule(
            "M-10",
            _M,
            "A resume never replays messages that belonged to another stream: another request's"
            " or another session's.",
            _MCP_HANDSHAKE,
        ),
        Rule(
            "M-11",
            _S,
            "A server that closes the connection before the stream is over sends a retry field"
            " first, so the client knows when to reconnect.",
            "MCP 2025-11-25 transports (SEP-1699)",
        ),
        Rule(
            "M-12",
            _S,
            "The stream of a request eventually carries its response, on a resumed stream when"
            " the server closed the first connection.",
            _MCP_SINCE_2025_03,
        ),
        Rule(
            "M-13",
            _M,
            "A session id holds only visible ASCII (0x21 to 0x7E).",
            _MCP_HANDSHAKE,
        ),
        Rule(
            "M-14",
            _S,
            "A server that issues session ids answers a request without one (other than"
            " initialize) with 400 Bad Request.",
            _MCP_HANDSHAKE,
        ),
        Rule(
            "M-15",
            _M,
            "Once a session is ended (DELETE), requests carrying its id get 404 Not Found.",
            _MCP_HANDSHAKE,
        ),
        Rule(
            "M-16",
            _M,
            "A request whose MCP-Protocol-Version header names an invalid or unsupported"
            " revision gets 400 Bad Request.",
            "MCP 2025-06-18 and later transports",
        ),
        Rule(
            "M-17",
            _M,
            "A request with an Origin header the server does not trust gets 403 Forbidden"
            " (earlier revisions ask for the check without naming the status).",
            "MCP 2025-11-25 and later transports",
        ),
        Rule(
            "M-18",
            _M,
            "The legacy HTTP+SSE stream's first event is an endpoint event whose data is the URI"
            " to POST messages to.",
            _MCP_LEGACY,
        ),
        Rule(
            "M-19",
            _M,
            "On the legacy HTTP+SSE stream, server messages are message events whose data is the"
            " JSON-RPC message.",
            _MCP_LEGACY,
        ),
        Rule(
            "M-20",
            _S,
            "In the stateless revision a GET or DELETE of the MCP endpoint gets 405: there is no"
            " GET stream and no session.",
            _MCP_STATELESS,
        ),
        Rule(
            "M-21",
            _M,
            "In the stateless revision a response stream carries only notifications about its"
            " own request, then the response: no request of the server's own.",
            _MCP_STATELESS,
        ),
    )
}


def rule(rule_id: str) -> Rule:
    return RULES[rule_id]


def markdown() -> str:
    """The catalogue as the page ``docs/rules.md``."""
    lines = [
        "# The rules sse-harness grades against",
        "",
        "Generated from `harness/rules.py` by `python -m harness.rules > docs/rules.md`; a test",
        "holds the two equal. Every case in a report names the ids it checks. Levels: MUST",
        "(normative), SHOULD, ADVICE (non-normative authoring note), PRACTICE (not in the",
        "standard, but deployments break without it); PRACTICE and ADVICE breaches are graded",
        "NON-STRICT or INFORMATIONAL, never FAILED. Sources: the WHATWG HTML Living Standard,",
        'section 9.2 "Server-sent events"; the IANA registration of `text/event-stream`;',
        "RFC 9113 (HTTP/2); for the M-* rules, the transports page of the Model Context Protocol",
        "revision named.",
        "",
        "| id | level | rule | source |",
        "|---|---|---|---|",
    ]
    lines += [f"| {r.id} | {r.level.value} | {r.text} | {r.source} |" for r in RULES.values()]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.stdout.write(markdown())
