"""The HTML report in a real browser: headless Chromium opens the file from disk.

Checks what a person would see (a matrix per scenario, failing cells marked, the evidence
reachable, no unredacted key) and saves PNG screenshots next to the report, desktop and
phone width. Without chromium the test skips locally; in CI (CI set) it fails instead, since
.ci/run installs chromium.
"""

from __future__ import annotations

import os
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest

from harness.report import outputs
from harness.report.browser import dump_dom, find_chromium, screenshot
from tests.fixtures import report_docs

KEY_PATTERN = re.compile(r"sk-[A-Za-z0-9_\-]{8,}")
ARTIFACTS = Path(__file__).parents[2] / "reports" / "browser-test"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def chromium() -> str:
    found = find_chromium()
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is missing in CI: .ci/run must install it (apt-get install chromium)")
        pytest.skip("chromium is not installed (Debian: apt-get install chromium); the browser test needs it")
    return found


class _Collector(HTMLParser):
    """Tags and classes of the DOM Chromium serialised (no regex over markup)."""

    def __init__(self) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, {k: v or "" for k, v in attrs}))

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def having(self, tag: str, *classes: str) -> list[dict[str, str]]:
        return [a for t, a in self.elements if t == tag and set(classes) <= set(a.get("class", "").split())]


def _page(dom: str) -> _Collector:
    collector = _Collector()
    collector.feed(dom)
    return collector


def _png_size(png: Path) -> tuple[int, int]:
    data = png.read_bytes()
    assert data[:8] == PNG_SIGNATURE
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def test_chromium_renders_the_report_with_matrix_marked_failures_and_no_keys(chromium: str, tmp_path: Path) -> None:
    result = report_docs.every_outcome()
    html = outputs.write_html(result, tmp_path / "report.html")

    dom = dump_dom(html)
    page = _page(dom)

    # The browser ran the page: a matrix per scenario, rows per principal.
    assert len(page.having("table", "matrix")) == len(result.scenarios) == 5
    assert {a["data-scenario"] for a in page.having("section", "scenario")} == {s.id for s in result.scenarios}
    # Failing cells are marked and link to the evidence of their check.
    failing = page.having("a", "part", "fail")
    assert len(failing) == 6
    evidence_ids = {a["id"] for a in page.having("details", "check")}
    assert all(a["href"].lstrip("#") in evidence_ids for a in failing)
    assert page.having("a", "part", "error") and page.having("a", "part", "skip") and page.having("span", "part", "none")
    # The first scenario shown is a failing one.
    assert page.having("section", "scenario")[0]["data-overall"] == "fail"
    text = " ".join(" ".join(page.text).split())
    assert "svc cannot call gpt-4o: expected denied, observed allowed" in text
    assert "4 failed" in text and "litellm==1.82.3" in text
    # No unredacted key anywhere in the rendered DOM.
    assert KEY_PATTERN.findall(dom) == []

    desktop = screenshot(html, tmp_path / "report.png", width=1280, height=2200)
    phone = screenshot(html, tmp_path / "report-phone.png", width=390, height=1600)
    assert _png_size(desktop) == (1280, 2200) and desktop.stat().st_size > 20_000
    assert _png_size(phone) == (390, 1600)

    # Kept for a person (and CI artifacts) to look at: reports/ is not committed.
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for path in (html, desktop, phone):
        shutil.copy2(path, ARTIFACTS / path.name)


def test_evidence_opens_from_a_cell_link(chromium: str, tmp_path: Path) -> None:
    result = report_docs.load()
    html = outputs.write_html(result, tmp_path / "report.html")
    first_fail = _page(html.read_text()).having("a", "part", "fail")[0]["href"]

    # The page's own script unfolds the <details> a cell links to.
    dom = dump_dom(html, fragment=first_fail)
    opened = [a for a in _page(dom).having("details", "check") if "open" in a]
    assert [a["id"] for a in opened] == [first_fail.lstrip("#")]

