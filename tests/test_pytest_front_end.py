"""The pytest front end gives every case the verdict ``check`` gives it, in pytest's words.

The mapping is the contract (``harness.pytest_plugin``): OK and INFORMATIONAL pass, UNIMPLEMENTED
skips with its reason, NON-STRICT passes with a warning (fails under ``--sse-strict``), FAILED
fails and ERROR is an error. A false PASS is the worst defect an instrument can have, so the
black-box tests run ``sse-harness check`` and ``pytest --pyargs harness.scenarios`` against the
same reference-server target, from a folder outside the checkout as a user would, and compare
case by case; the mapping of the outcomes no clean target yields (ERROR) is proved on a
synthetic report through the shipped test function itself.
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from harness.cli import main
from harness.pytest_plugin import PROFILE, REFERENCE_TARGET, scenario_seed
from harness.server.cases import load_catalog, select

# Every case module imported now, in this process: pytester's in-process runs forget the modules
# first imported during a run, and a case module imported again would register its ids twice.
load_catalog()
#: The cases a default (sse profile) run has, in catalog order.
SSE_CASES_IN_ORDER = [case.id for case in select(None, "sse")]
SSE_CASES = set(SSE_CASES_IN_ORDER)

pytest_plugins = ["pytester"]


@pytest.fixture
def suite(pytester: pytest.Pytester) -> pytest.Pytester:
    """A pytester folder with this project's asyncio setting (pytest-asyncio warns without one)."""
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    return pytester


#: What pytest must make of each outcome of ``check`` (and ``--sse-strict`` of NON-STRICT).
PYTEST_VERDICT = {
    "OK": "passed",
    "INFORMATIONAL": "passed",
    "NON-STRICT": "passed",
    "UNIMPLEMENTED": "skipped",
    "FAILED": "failure",
    "ERROR": "error",
}
STRICT_VERDICT = {**PYTEST_VERDICT, "NON-STRICT": "failure"}

#: A real event stream that aborts mid-block: with no contract and not resumable, one target
#: that yields OK, INFORMATIONAL, UNIMPLEMENTED, NON-STRICT (server.close.1) and FAILED.
ABORTED_STREAM = "/counter?count=40&interval_ms=50&fault=status_500_midstream"
#: A JSON route: not an event stream, so check runs only the response-head cases.
JSON_ROUTE = "/faults"

_CASE_NAME = re.compile(r"test_case\[(?P<id>[^\]]+)\]")


def junit_verdicts(path: Path) -> dict[str, tuple[str, str]]:
    """Case id -> (passed | skipped | failure | error, the message), from a JUnit file written by
    pytest (``test_case[ID]``) or by check (``ID: title``)."""
    verdicts = {}
    for testcase in ET.parse(path).getroot().iter("testcase"):
        name = testcase.get("name", "")
        found = _CASE_NAME.fullmatch(name)
        case_id = found["id"] if found else name.split(":", 1)[0]
        marks = [child for child in testcase if child.tag in ("skipped", "failure", "error")]
        verdicts[case_id] = (marks[0].tag, marks[0].get("message", "")) if marks else ("passed", "")
    return verdicts


def run_pytest_elsewhere(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``pytest --pyargs harness.scenarios -k test_case`` from a folder outside the checkout, so
    scenarios/conftest.py is not an initial conftest (as for a user's own repository)."""
    return subprocess.run(
        [sys.executable, "-m", "pytest", "--pyargs", "harness.scenarios", "-k", "test_case",
         "-p", "no:randomly", "-p", "no:cacheprovider", "-rs", "--junitxml", "junit.xml", *args],
        cwd=folder, capture_output=True, text=True, timeout=180,
    )  # fmt: skip


@pytest.mark.parametrize("path", [ABORTED_STREAM, JSON_ROUTE], ids=["aborted-stream", "json"])
def test_pytest_gives_each_case_the_verdict_check_gives_it(
    reference_server_url: str, tmp_path: Path, path: str
) -> None:
    url = reference_server_url + path
    check_dir = tmp_path / "check"
    no_load = ["--load-users", "0"]
    code = main(["check", url, "--contract", "", *no_load, "--report-dir", str(check_dir)])
    report = json.loads((check_dir / "conformance.json").read_text(encoding="utf-8"))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    done = run_pytest_elsewhere(elsewhere, "--sse-url", url, "--sse-contract", "")
    ran = junit_verdicts(elsewhere / "junit.xml")
    assert set(ran) == SSE_CASES, done.stdout[-3000:]

    check_junit = junit_verdicts(check_dir / "junit.xml")
    for case in report["cases"]:
        verdict, message = ran[case["id"]]
        assert verdict == PYTEST_VERDICT[case["outcome"]], (case, ran[case["id"]])
        assert verdict == check_junit[case["id"]][0]
        if verdict == "skipped":
            assert case["evidence"]["observed"] in message
            assert case["evidence"].get("next_step", "") in message
    for case_id in set(ran) - {case["id"] for case in report["cases"]}:
        verdict, message = ran[case_id]
        assert verdict == "skipped" and "is not an event stream" in message, (case_id, message)

    outcomes = {case["outcome"] for case in report["cases"]}
    if path == ABORTED_STREAM:
        assert outcomes >= {"OK", "INFORMATIONAL", "UNIMPLEMENTED", "NON-STRICT", "FAILED"}
        (deviant,) = [case for case in report["cases"] if case["outcome"] == "NON-STRICT"]
        warning = re.search(r"SSENonStrictWarning: (.*)", done.stdout)
        assert warning, done.stdout[-3000:]
        assert warning[1].startswith(f"{deviant['id']} NON-STRICT (")
        assert all(rule in warning[1] for rule in deviant["rules"])
        assert deviant["evidence"]["observed"][:60] in warning[1]
    else:
        assert report["not_an_event_stream"] and len(report["cases"]) < len(ran)
    assert code == done.returncode == 1  # a case FAILED (the JSON route: server.headers.1)
    header = done.stdout.split("collect", 1)[0]
    assert f"sse-harness: profile {PROFILE}; target GET {url};" in header
    assert f"seed {scenario_seed()} (SSE_HARNESS_SEED)" in header


# The shipped test function and its fixture, run on a report the test writes: a module of its
# own that overrides ``sse_conformance`` and nothing else.
SYNTHETIC_SUITE = """
import json
from pathlib import Path

import pytest

from harness.scenarios.test_cases import case, test_case


@pytest.fixture(scope="session")
def sse_conformance():
    return json.loads(Path(__file__).with_name("report.json").read_text(encoding="utf-8"))
"""


def synthetic_report() -> dict[str, Any]:
    """Every outcome in turn over the catalogue, the first case left out of the run (as when the
    target is not an event stream)."""
    outcomes = list(PYTEST_VERDICT)
    cases = [
        {
            "id": case_id,
            "outcome": outcomes[n % len(outcomes)],
            "evidence": {
                "observed": f"what {case_id} saw",
                "next_step": f"what fixes {case_id}",
                "rules": [{"id": "S-20", "level": "PRACTICE", "text": "Cache-Control: no-cache"}],
                "excerpt": "",
            },
        }
        for n, case_id in enumerate(list(SSE_CASES_IN_ORDER)[1:])
    ]
    return {
        "target": {"url": "http://127.0.0.1:9/stream"},
        "cases": cases,
        "not_an_event_stream": "it answered 404 Not Found",
    }


@pytest.mark.parametrize("strict", [False, True], ids=["default", "sse-strict"])
def test_every_outcome_speaks_pytest(suite: pytest.Pytester, strict: bool) -> None:
    report = synthetic_report()
    suite.makepyfile(test_synthetic=SYNTHETIC_SUITE)
    (suite.path / "report.json").write_text(json.dumps(report), encoding="utf-8")
    flags = ["--sse-strict"] if strict else []
    done = suite.runpytest("-p", "no:randomly", "--junitxml", "junit.xml", *flags)
    ran = junit_verdicts(suite.path / "junit.xml")
    mapping = STRICT_VERDICT if strict else PYTEST_VERDICT
    assert {c["id"]: ran[c["id"]][0] for c in report["cases"]} == {
        c["id"]: mapping[c["outcome"]] for c in report["cases"]
    }
    left_out = SSE_CASES_IN_ORDER[0]
    assert ran[left_out] == (
        "skipped",
        "not run: http://127.0.0.1:9/stream is not an event stream: it answered 404 Not Found",
    )
    output = done.stdout.str()
    for case in report["cases"]:
        message = ran[case["id"]][1]
        if case["outcome"] == "ERROR":
            assert "the harness could not run the case" in message
        if case["outcome"] == "UNIMPLEMENTED":
            assert message == f"what {case['id']} saw; next step: what fixes {case['id']}"
        if case["outcome"] == "NON-STRICT":
            said = (
                f"SSENonStrictWarning: {case['id']} NON-STRICT (S-20 PRACTICE): what"
                f" {case['id']} saw; next step: what fixes {case['id']}"
            )
            assert (said in output) is not strict, output[-3000:]
            assert ("fails under --sse-strict" in message) is strict
    non_strict = sum(c["outcome"] == "NON-STRICT" for c in report["cases"])
    # Ours only: the run may warn of other things (an assertion rewrite it could not do, say).
    assert output.count("SSENonStrictWarning: ") == (0 if strict else non_strict)


def test_a_target_that_does_not_answer_is_an_error_naming_the_cause(
    suite: pytest.Pytester,
) -> None:
    with socket.socket() as probe:  # a loopback port with nothing listening once closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    suite.makepyfile(test_dead="from harness.scenarios.test_cases import case, test_case")
    done = suite.runpytest(
        "-p", "no:randomly", "-k", "server.status.1", "--sse-url", f"http://127.0.0.1:{port}/"
    )
    done.assert_outcomes(errors=1)
    assert f"cannot connect to http://127.0.0.1:{port}/" in done.stdout.str()


def test_the_header_names_profile_target_seed_and_examples(
    suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSE_HARNESS_SEED", "7")
    monkeypatch.setenv("SSE_HARNESS_EXAMPLES", "3")
    done = suite.runpytest("-p", "no:randomly", "--co", "--sse-strict")
    done.stdout.fnmatch_lines(
        [
            f"sse-harness: profile {PROFILE}; target {REFERENCE_TARGET}; NON-STRICT fails*",
            "sse-harness scenarios: seed 7 (SSE_HARNESS_SEED), 3 examples (SSE_HARNESS_EXAMPLES)",
        ]
    )


@pytest.mark.parametrize(
    ("variable", "value"), [("SSE_HARNESS_SEED", "x1"), ("SSE_HARNESS_EXAMPLES", "0")]
)
def test_a_bad_scenario_variable_is_a_one_line_usage_error(
    suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    done = suite.runpytest("-p", "no:randomly", "--co")
    assert done.ret == pytest.ExitCode.USAGE_ERROR
    assert f"ERROR: {variable} must be an integer" in done.stderr.str()
    assert f"got {value!r}" in done.stderr.str()
