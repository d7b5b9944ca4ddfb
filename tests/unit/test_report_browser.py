"""The HTML report in a real browser: headless Chromium opens the file from disk.

Checks what a person would see (a matrix per scenario, failing cells marked, the evidence
reachable, no unredacted key) and saves PNG screenshots next to the report, desktop and
phone width, in the test's tmp_path (pytest keeps the last three sessions' folders under
/tmp/pytest-of-<user>/ for a person to look at; nothing is written into the checkout). Without chromium the test skips locally; in CI (CI set) it fails instead, since
.ci/run installs chromium.
"""

from __future__ import annotations

import os
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from harness.report import outputs
from harness.report.browser import dump_dom, find_chromium, screenshot
from tests.fixtures import report_docs

# Seconds each (a pytest subprocess or a browser): `pytest -m "not integration and not slow"` skips them.
pytestmark = pytest.mark.slow

KEY_PATTERN = re.compile(r"sk-[A-Za-z0-9_\-]{8,}")
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



def test_evidence_opens_from_a_cell_link(chromium: str, tmp_path: Path) -> None:
    result = report_docs.load()
    html = outputs.write_html(result, tmp_path / "report.html")
    first_fail = _page(html.read_text()).having("a", "part", "fail")[0]["href"]

    # The page's own script unfolds the <details> a cell links to.
    dom = dump_dom(html, fragment=first_fail)
    opened = [a for a in _page(dom).having("details", "check") if "open" in a]
    assert [a["id"] for a in opened] == [first_fail.lstrip("#")]



# --------------------------------------------------------------------------- the matrix page


def test_chromium_renders_the_matrix_page_with_changes_marked_links_that_resolve_and_no_keys(
    chromium: str, tmp_path: Path
) -> None:
    from harness.model.matrix import MatrixDocument
    from tests.fixtures import matrix_docs

    folder = tmp_path / "matrix"
    matrix_json = matrix_docs.write_folder(folder, matrix_docs.with_server_error())
    document = MatrixDocument.model_validate_json(matrix_json.read_text())
    html = outputs.write_matrix_html(document, folder / outputs.MATRIX_HTML_NAME)

    dom = dump_dom(html)
    page = _page(dom)
    # scenarios × releases, one verdict per cell; the first change of each scenario highlighted
    assert len(page.having("table", "versions")) == 1
    cells = page.having("td", "v")
    assert len(cells) == 3 * len(matrix_docs.VERSIONS)
    assert sorted(a["data-version"] for a in page.having("td", "v", "first-change")) == ["1.108.7", "1.81.12"]
    text = " ".join(" ".join(page.text).split())
    assert "SKIP on 1.81.11 → FAIL 3/7 on 1.81.12" in text and "PASS on 1.82.3 → ERROR on 1.108.7" in text
    # a drill-down per failing scenario: check rows × releases
    assert len(page.having("section", "drill")) == 3 and len(page.having("table", "checks-x")) == 3
    # every link into a release's report reaches a file next to the page, at a check it has
    links = [a["href"] for a in page.having("a") if "report.html" in a.get("href", "")]
    assert links
    for href in links:
        target, _, anchor = href.partition("#")
        report = (html.parent / target)
        assert report.is_file(), href
        assert not anchor or f'id="{anchor}"' in report.read_text(), href
    assert KEY_PATTERN.findall(dom) == []

    # the page's script opens a cell's popover when linked to it
    popover = page.having("details", "why")[0]["id"]
    opened = [a for a in _page(dump_dom(html, fragment=popover)).having("details", "why") if "open" in a]
    assert [a["id"] for a in opened] == [popover]

    desktop = screenshot(html, tmp_path / "matrix.png", width=1280, height=2000)
    phone = screenshot(html, tmp_path / "matrix-phone.png", width=390, height=1600)
    assert _png_size(desktop) == (1280, 2000) and desktop.stat().st_size > 20_000
    assert _png_size(phone) == (390, 1600)
    # A person should also see a popover: headless screenshots of a scrolled fragment are unreliable,
    # so a copy of the page is opened with the seed's 1.82.3 popover already open.
    seed_popover = next(a["id"] for a in page.having("details", "why") if a["id"].endswith("-2"))
    with_popover = folder / "matrix-popover.html"
    with_popover.write_text(html.read_text().replace(f'id="{seed_popover}">', f'id="{seed_popover}" open>', 1))
    open_png = screenshot(with_popover, tmp_path / "matrix-popover.png", width=1280, height=1000)
    assert _png_size(open_png) == (1280, 1000)
