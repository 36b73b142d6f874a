"""Pure renderers: a report dictionary in, HTML or JUnit XML out; and :func:`publish`.

Instruments write their own JSON and call :func:`harness.report.pages.publish`, which renders
every page whose JSON is in the run folder. Pages are rendered with Jinja2 from ``templates/``;
every page extends ``base.html.j2`` so the conformance, load and client pages share one look and
stay self-contained (inline CSS, no CDN). Nothing here imports an instrument.
"""

from __future__ import annotations

from harness.report.pages import new_run_folder, publish

__all__ = ["new_run_folder", "publish"]
