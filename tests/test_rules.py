"""harness.rules must match the rule table of shared/SPEC.md, id for id and level for level."""

from __future__ import annotations

import re
from pathlib import Path

from harness.rules import RULES

SPEC = Path(__file__).resolve().parents[2] / "shared" / "SPEC.md"


def spec_rows() -> dict[str, str]:
    rows = re.findall(r"^\| (S-\d\d) \| .* \| ([A-Z +()/0-9a-z]+) \|$", SPEC.read_text(), re.M)
    return dict(rows)


def test_every_spec_rule_is_known_with_its_level() -> None:
    rows = spec_rows()
    assert len(rows) == 23
    assert sorted(RULES) == sorted(rows)
    for rule_id, level in rows.items():
        assert level.startswith(RULES[rule_id].level.value), (rule_id, level)
