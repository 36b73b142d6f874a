"""The MCP vocabulary (``harness.mcp``): what the harness sends, and how it reads what comes."""

from __future__ import annotations

import json

import pytest

from harness import mcp


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        ('{"jsonrpc":"2.0","id":1,"result":{}}', "response"),
        ('{"jsonrpc":"2.0","id":1,"error":{"code":-1,"message":"x"}}', "error"),
        ('{"jsonrpc":"2.0","method":"notifications/progress","params":{}}', "notification"),
        ('{"jsonrpc":"2.0","id":"a","method":"sampling/createMessage"}', "request"),
        ('[{"jsonrpc":"2.0","id":1,"result":{}}]', "not-json-rpc"),
        ('{"id":1,"result":{}}', "not-json-rpc"),
        ('{"jsonrpc":"2.0","id":1}', "not-json-rpc"),
        ('{"jsonrpc":"2.0","id":1,"res', "not-json-rpc"),
        ("", "not-json-rpc"),
    ],
)
def test_one_event_reads_as_one_message_or_says_why_not(data: str, kind: str) -> None:
    message = mcp.read_message(data)
    assert message.kind == kind
    assert bool(message.problem) == (kind == "not-json-rpc")


def test_a_batch_is_named_as_one() -> None:
    assert mcp.read_message("[1, 2]").problem == "a batch of 2 messages"


def test_progress_token_and_key_identify_a_message_wherever_it_arrives() -> None:
    one = mcp.read_message(
        '{"jsonrpc":"2.0","method":"notifications/progress",'
        '"params":{"progressToken":"t","progress":50}}'
    )
    same = mcp.read_message(
        '{"params":{"progress":50,"progressToken":"t"},'
        '"method":"notifications/progress","jsonrpc":"2.0"}'
    )
    assert one.progress_token == "t" and one.key() == same.key()
    assert mcp.read_message('{"jsonrpc":"2.0","id":1,"result":{}}').progress_token is None


def test_revisions_compare_by_their_order_and_unknown_ones_by_none() -> None:
    assert mcp.at_least("2025-11-25", "2025-06-18")
    assert not mcp.at_least("2025-03-26", "2025-06-18")
    assert not mcp.at_least("2099-01-01", "2024-11-05")


@pytest.mark.parametrize(
    ("value", "visible"),
    [("a1-B_~!", True), ("has space", False), ("", False), ("tab\t", False), ("é", False)],
)
def test_session_ids_must_be_visible_ascii(value: str, visible: bool) -> None:
    assert mcp.visible_ascii(value) is visible


def test_a_call_carries_its_progress_token() -> None:
    body = json.loads(mcp.tools_call(7, "tool", {"a": 1}, "tok"))
    assert body["params"] == {
        "name": "tool",
        "arguments": {"a": 1},
        "_meta": {"progressToken": "tok"},
    }


def test_a_stateless_request_says_its_revision_in_meta_and_headers() -> None:
    body = json.loads(mcp.tools_call(7, "tool", None, "tok", mcp.STATELESS_REVISION))
    meta = body["params"]["_meta"]
    assert meta["progressToken"] == "tok"
    assert meta["io.modelcontextprotocol/protocolVersion"] == mcp.STATELESS_REVISION
    assert "io.modelcontextprotocol/clientCapabilities" in meta
    assert mcp.stateless_headers("tools/call", "tool") == {
        mcp.VERSION_HEADER: mcp.STATELESS_REVISION,
        "Mcp-Method": "tools/call",
        "Mcp-Name": "tool",
    }
    handshake = json.loads(mcp.tools_list(1, "2025-11-25"))
    assert "_meta" not in handshake["params"]
