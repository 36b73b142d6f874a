"""The rule catalogue lives in the repository (harness/rules.py) and its page (docs/rules.md) is
generated from it; every case, server and client, cites only ids the catalogue knows."""

from __future__ import annotations

import re
from pathlib import Path

from harness.outcome import Level
from harness.rules import RULES, markdown
from harness.server.cases import load_catalog

DOCS = Path(__file__).resolve().parents[1] / "docs" / "rules.md"


def test_the_catalogue_is_complete_and_well_formed() -> None:
    ids = list(RULES)
    assert ids[:23] == [f"S-{n:02d}" for n in range(1, 24)]
    families = {"C-R": 5, "C-H": 9, "C-P": 11, "C-D": 5}
    for prefix, count in families.items():
        assert [i for i in ids if i.startswith(prefix + "")] == [
            f"{prefix}{n}" for n in range(1, count + 1)
        ]
    for rule in RULES.values():
        assert rule.text.endswith(".") and rule.source, rule
    # The few levels a reader relies on: S-22 is a MUST only over HTTP/2, S-18 is practice.
    assert RULES["S-22"].level is Level.MUST and RULES["S-18"].level is Level.PRACTICE
    assert RULES["S-14"].level is Level.SHOULD and RULES["S-16"].level is Level.ADVICE


def test_docs_rules_page_is_generated_from_the_catalogue() -> None:
    assert DOCS.read_text(encoding="utf-8") == markdown(), (
        "docs/rules.md is stale: python -m harness.rules > docs/rules.md"
    )


def test_every_server_case_cites_known_rules() -> None:
    cited = {r for case in load_catalog().values() for r in case.rules}
    assert cited <= set(RULES)
    assert {f"S-{n:02d}" for n in range(1, 24)} <= cited, "every producer rule has a case"


def test_no_test_reads_outside_the_repository() -> None:
    """A fresh clone with nothing beside it must pass: no test may reach the folder beside it."""
    here = Path(__file__).resolve().parent
    outside = re.compile(r"parents\[2\]|\.\./shared|\"shared\"")
    for path in [*here.glob("*.py"), *here.parent.joinpath("scenarios").glob("*.py")]:
        if path.name != Path(__file__).name:
            assert not outside.search(path.read_text(encoding="utf-8")), path
