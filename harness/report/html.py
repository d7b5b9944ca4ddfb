"""The HTML conformance report: one self-contained page (inline CSS and JS, no fetches)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import jinja2

from harness.report.view import build_view
from harness.model.results import RunResult

TEMPLATES = Path(__file__).parent / "templates"


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,  # a typo in the template fails loudly, not as a blank
        keep_trailing_newline=True,
    )


def render_html(result: RunResult) -> str:
    """The report page of `result`; the same document always gives the same text."""
    return _environment().get_template("report.html.j2").render(r=build_view(result))
