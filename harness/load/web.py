"""The "SSE streams" tab of Locust's web UI, its JSON and CSV, and the live charts page.

Everything goes through Locust's own extension points (``locust/web.py``, its
``examples/extend_web_ui.py``): ``template_args`` ``extended_tabs``/``extended_tables`` declare
the tab and its columns and ``extended_csv_files`` a download link; the tab's rows travel in the
``extended_stats`` of the ``stats/requests`` answer the UI polls every two seconds; the routes are
a Flask blueprint under ``--web-base-path``, each behind ``auth_required_if_enabled`` as Locust's
own are behind ``--web-login``. Locust's pages have no place for a link, so the index page and
the live report get a small block outside the UI's React root (``after_request``).

Importing it imports Flask (a Locust dependency): only ``harness.load.plugin`` does.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from importlib.resources import files
from typing import Any

from flask import Blueprint, Response, jsonify, make_response, request

from harness.load.live import FIGURES, LiveFigures, csv_text, html_section

__all__ = ["TAB_KEY", "mount"]

#: The tab's key: the UI's ``?tab=`` and the table the rows go in.
TAB_KEY = "sse-streams"
#: Under the web base path.
PREFIX = "/sse-harness"

#: Shown on the UI's index page, outside React's root: a link to the charts, on our tab only.
_INDEX_LINK = """<a id="sse-harness-charts-link" href="./sse-harness/charts" target="_blank"
 style="display:none;position:fixed;right:16px;bottom:16px;z-index:9999;padding:8px 14px;
 border-radius:6px;background:#1976d2;color:#fff;font:14px sans-serif;text-decoration:none"
>SSE stream charts &#8599;</a><script>(function () {
  var link = document.getElementById("sse-harness-charts-link");
  function show() {
    var tab = new URLSearchParams(window.location.search).get("tab");
    link.style.display = tab === "{tab}" ? "block" : "none";
  }
  show(); setInterval(show, 500);
})();</script>""".replace("{tab}", TAB_KEY)


def _declare_tab(web_ui: Any, **extension: Any) -> None:
    """Declare the tab in ``template_args``, so that it stays declared on every Locust we
    support (``locust>=2.20``), working around two habits of older ones in this one place:

    - Locust 2.20 and 2.21 serve their legacy Jinja UI unless ``--modern-ui`` is given, and it
      has no extended tabs: the React UI is switched on (what 2.22 made the default);
    - Locust before 2.31.8 rebuilds ``template_args`` as a new dict on every ``GET /``
      (``WebUI.update_template_args``), dropping what the init event declared: the rebuild is
      wrapped to declare the tab again. Later Locusts merge, so there it changes nothing.

    Both were seen on Locust 2.20.0 (the tab was missing; with this, Chromium shows it and its
    rows); the suite runs the newest Locust.
    """
    web_ui.template_args.update(extension)
    if getattr(web_ui, "modern_ui", True) is False:
        web_ui.modern_ui = True
    rebuild = web_ui.update_template_args

    def update_template_args() -> None:
        rebuild()
        web_ui.template_args.update(extension)

    web_ui.update_template_args = update_template_args


def mount(
    web_ui: Any, options: argparse.Namespace, live: LiveFigures, state: Callable[[], str]
) -> None:
    """Add the tab, its routes and links to Locust's web UI (``environment.web_ui``), before it
    starts serving (Locust's ``init`` event)."""
    base = (getattr(options, "web_base_path", None) or "").rstrip("/")
    protect: Callable[[Callable[..., Any]], Callable[..., Any]] = web_ui.auth_required_if_enabled
    blueprint = Blueprint("sse_harness", __name__, url_prefix=base + PREFIX)

    @blueprint.route("/stats")
    @protect
    def stats() -> Response:
        since = request.args.get("since", "0")
        try:
            after = float(since)
        except ValueError:
            return make_response(f"since: expected a number, got {since!r}\n", 400)
        return jsonify(live.document(state(), after))

    @blueprint.route("/stats.csv")
    @protect
    def stats_csv() -> Response:
        response = make_response(csv_text(live.rows))
        response.headers["Content-Type"] = "text/csv; charset=utf-8"
        response.headers["Content-Disposition"] = "attachment;filename=sse_stats.csv"
        return response

    @blueprint.route("/charts")
    @protect
    def charts() -> Response:
        page = files("harness.load").joinpath("live_charts.html").read_text(encoding="utf-8")
        return make_response(page)

    web_ui.app.register_blueprint(blueprint)
    _declare_tab(
        web_ui,
        extended_tabs=[{"title": "SSE streams", "key": TAB_KEY}],
        extended_tables=[
            {
                "key": TAB_KEY,
                "structure": [
                    {"key": "name", "title": "Endpoint"},
                    *({"key": key, "title": title} for key, title in FIGURES),
                ],
            }
        ],
        extended_csv_files=[
            {"href": "./sse-harness/stats.csv", "title": "Download SSE stream statistics CSV"}
        ],
    )

    def extend(response: Response) -> Response:
        """The tab's rows into the stats the UI polls; the links into its pages."""
        if response.status_code != 200:
            return response
        if request.path == base + "/stats/requests":
            answer = response.get_json()
            answer["extended_stats"] = [{"key": TAB_KEY, "data": live.rows}]
            response.set_data(jsonify(answer).get_data())
        elif request.path in (base + "/", base or "/") and response.mimetype == "text/html":
            _append_to_body(response, _INDEX_LINK)
        elif request.path == base + "/stats/report":
            links = [("./sse-harness/charts", "SSE stream charts")]
            _append_to_body(response, html_section(live.rows, links))
        return response

    web_ui.app.after_request(extend)


def _append_to_body(response: Response, block: str) -> None:
    page = response.get_data(as_text=True)
    at = page.rfind("</body>")
    response.set_data(page[:at] + block + page[at:] if at >= 0 else page + block)
