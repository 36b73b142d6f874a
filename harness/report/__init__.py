"""Report writers: JSON for tools, JUnit XML for CI, self-contained HTML for people.

Pages are rendered with Jinja2 from ``templates/``; every page extends ``base.html.j2`` so the
conformance, load and client pages share one look and stay self-contained (inline CSS, no CDN).
"""

from __future__ import annotations

from harness.report.conformance import write_conformance
from harness.report.render import render

__all__ = ["render", "write_conformance"]
