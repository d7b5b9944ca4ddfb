"""The matrix page (matrix.html), drawn from a matrix document only: what a reader sees in it."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

import pytest
from typer.testing import CliRunner

from harness.cli import app as cli
from harness.model.matrix import NOT_RUN, MatrixDocument, build_matrix
from harness.report import outputs
from harness.report.matrix_html import build_matrix_page, render_matrix_html
from harness.report.view import anchor_for
from harness.store.documents import write_results, read_results
from tests.fixtures import matrix_docs, report_docs

SEED, LISTING, PASSING = matrix_docs.SEED_ID, matrix_docs.LISTING_ID, matrix_docs.PASSING_ID


class Page(HTMLParser):
    """Elements (tag, attributes), with the text inside each <td>/<th> of the page."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str]]] = []
        self.text: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, {k: v or "" for k, v in attrs}))

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def having(self, tag: str, *classes: str, **attrs: str) -> list[dict[str, str]]:
        return [a for t, a in self.elements
                if t == tag and set(classes) <= set(a.get("class", "").split())
                and all(a.get(k.replace("_", "-")) == v for k, v in attrs.items())]

    @property
    def words(self) -> str:
        return " ".join(" ".join(self.text).split())


@pytest.fixture(scope="module")
def document() -> MatrixDocument:
    return matrix_docs.document(matrix_docs.with_server_error())


@pytest.fixture(scope="module")
def page(document: MatrixDocument) -> Page:
    return Page(render_matrix_html(document))


def cell(page: Page, scenario_id: str, version: str) -> dict[str, str]:
    """The <td> of a scenario on a release (the row is found by its data-scenario)."""
    rows = [i for i, (t, a) in enumerate(page.elements) if t == "tr" and a.get("data-scenario") == scenario_id]
    assert len(rows) == 1
    for tag, attrs in page.elements[rows[0] + 1:]:
        if tag == "tr":
            break
        if tag == "td" and attrs.get("data-version") == version:
            return attrs
    raise AssertionError(f"no cell for {scenario_id} on {version}")


def verdict_links(page: Page) -> list[dict[str, str]]:
    return page.having("a", "verdict")


def test_every_cell_shows_the_verdict_of_its_scenario_on_its_release(page: Page) -> None:
    assert {a["data-state"] for a in page.having("td", "v")} == {"pass", "fail", "error", "skip"}
    assert cell(page, SEED, "1.81.11")["data-state"] == "skip"
    assert cell(page, SEED, "1.82.3")["data-state"] == "fail"
    assert cell(page, PASSING, "1.108.7")["data-state"] == "error"
    words = page.words
    assert "FAIL 3/7" in words and "FAIL 1/4" in words and "PASS" in words and "ERROR" in words
    assert "SKIP not applicable" in words  # a release that lacks the feature says so
    # 3 scenarios × 4 releases, each with a verdict that links somewhere
    assert len(page.having("td", "v")) == 12 and len(verdict_links(page)) == 12


def test_a_cell_links_to_its_releases_report_at_the_check_to_look_at(page: Page, document: MatrixDocument) -> None:
    seed = next(r for r in document.scenarios if r.id == SEED)
    first_failing = next(c for c in seed.checks if c.outcomes["1.82.3"] == "fail")
    hrefs = {a["href"] for a in verdict_links(page)}
    assert f"1.82.3/report.html#{anchor_for(first_failing.id)}" in hrefs
    # relative to the page, never absolute, and only into a release folder's report.html
    assert all(re.fullmatch(r"1\.\d+\.\d+/report\.html#c-[0-9a-f]{12}", href) for href in hrefs)
    assert {a["href"] for a in page.having("a") if "report.html" in a.get("href", "") and "#" not in a["href"]} == {
        f"{v}/report.html" for v in matrix_docs.VERSIONS}


def test_the_first_release_where_a_verdict_changed_is_highlighted(page: Page) -> None:
    highlighted = [(a["data-version"]) for a in page.having("td", "v", "first-change")]
    assert sorted(highlighted) == ["1.108.7", "1.81.12"]
    assert "first-change" in cell(page, SEED, "1.81.12")["class"].split()
    assert "first-change" not in cell(page, SEED, "1.82.3")["class"].split()  # still failing is no change
    assert "first-change" in cell(page, PASSING, "1.108.7")["class"].split()
    assert "changed" not in cell(page, LISTING, "1.81.12")["class"].split()  # always failing, never changed
    words = page.words
    assert "SKIP on 1.81.11 → FAIL 3/7 on 1.81.12" in words
    assert "PASS on 1.82.3 → ERROR on 1.108.7" in words


def test_failing_checks_show_on_hover_and_in_the_cells_popover(page: Page) -> None:
    seed_82 = next(a for a in verdict_links(page) if a["href"].startswith("1.82.3/") and "FAIL 3/7" in a["title"])
    tooltip = seed_82["title"]
    assert "svc cannot call gpt-4o: expected denied, saw allowed (200)" in tooltip
    assert "svc lists exactly [gpt-4o-mini]: expected [gpt-4o-mini], saw [all-proxy-models" in tooltip
    popovers = page.having("details", "why")
    # every failing or erroring cell has one: 3 seed + 4 listing + 1 error
    assert len(popovers) == 8
    evidence = [a["href"] for a in page.having("a", "ev-link")]
    assert len(evidence) == 3 * 3 + 4 * 1 + 1 and all("/report.html#c-" in href for href in evidence)
    assert "1 error" in page.words  # the HTTP 500 cell's popover


def test_the_drill_down_shows_each_check_of_a_failing_scenario_across_releases(
    page: Page, document: MatrixDocument
) -> None:
    sections = page.having("section", "drill")
    # the passing-then-erroring scenario counts as needing attention; every scenario here does
    assert {s["data-scenario"] for s in sections} == {SEED, LISTING, PASSING}
    seed = next(r for r in document.scenarios if r.id == SEED)
    rows = [a for a in page.having("tr") if a.get("data-check", "").startswith(SEED + "::")]
    assert [r["data-check"] for r in rows] == [c.id for c in seed.checks]
    outcomes = [a for a in page.having("td") if a.get("data-outcome")]
    assert len(outcomes) == sum(len(r.checks) for r in document.scenarios) * len(matrix_docs.VERSIONS)
    gpt4o = f"{SEED}::svc::chat::gpt-4o"
    linked = [a["href"] for a in page.having("a", "oc", "fail") if a["href"].endswith(anchor_for(gpt4o))]
    assert linked == [f"{v}/report.html#{anchor_for(gpt4o)}" for v in ("1.81.12", "1.82.3", "1.108.7")]


def test_a_passing_scenario_has_no_drill_down() -> None:
    release_runs = matrix_docs.runs()  # the real runs: the third scenario passes everywhere
    page = Page(render_matrix_html(matrix_docs.document(release_runs)))
    assert PASSING not in {s["data-scenario"] for s in page.having("section", "drill")}
    assert [a["data-version"] for a in page.having("td", "v", "first-change")] == ["1.81.12"]


def test_a_release_that_did_not_start_and_one_not_run(document: MatrixDocument) -> None:
    release_runs = matrix_docs.runs()
    broken = release_runs["1.82.3"]
    broken.scenarios = [report_docs.boot_failure(broken)]  # only the boot failure ran there
    versions = matrix_docs.VERSIONS + ["1.110.0"]
    matrix = build_matrix(versions, release_runs, {v: f"{v}/results.json" for v in release_runs})
    page = Page(render_matrix_html(matrix))
    assert cell(page, "litellm-boot-failure", "1.82.3")["data-state"] == "error"
    assert cell(page, "litellm-boot-failure", "1.81.12")["data-state"] == NOT_RUN
    assert cell(page, SEED, "1.110.0")["data-state"] == NOT_RUN
    words = page.words
    assert "target did not start: litellm==1.82.3 (local): the proxy exited with code 1" in words
    assert "did not run" in words
    assert "1.110.0 : no results (the release was not run)" in words  # listed under "could not be tested"
    # a release without results has no report to link to
    assert not [a for a in page.having("a") if a.get("href", "").startswith("1.110.0/")]


def test_no_secret_reaches_the_page_and_nothing_is_fetched() -> None:
    release_runs = matrix_docs.runs()
    key = "sk-" + "Zq9" * 12
    scenario = report_docs.scenario(release_runs["1.82.3"], SEED)
    scenario.verdicts[1] = replace(scenario.verdicts[1], message=f"leaked {key} and Bearer {key}",
                                   observed=f"allowed with {key}")
    html = render_matrix_html(matrix_docs.document(release_runs))
    assert key not in html and "Zq9Zq9Zq9" not in html
    assert "sk-…9Zq9" in html  # shown redacted
    page = Page(html)
    assert not page.having("link") and not page.having("img") and not [a for a in page.having("script") if "src" in a]
    assert not re.search(r"""(src|href)=["']?(https?:)?//(?!github\.com/BerriAI/)""", html)


def test_rendering_is_a_pure_function_of_the_document(document: MatrixDocument) -> None:
    again = MatrixDocument.model_validate_json(document.model_dump_json())
    assert render_matrix_html(document) == render_matrix_html(again)
    page = build_matrix_page(document)
    assert [r.worst for r in page.rows] == ["fail", "fail", "error"]  # what needs attention first


def test_links_follow_the_page_when_it_is_written_elsewhere(tmp_path: Path, document: MatrixDocument) -> None:
    html = outputs.write_matrix_html(document, tmp_path / "site" / "matrix.html", matrix_folder=tmp_path / "m")
    hrefs = {a["href"] for a in Page(html.read_text()).having("a", "verdict")}
    assert all(href.startswith("../m/1.") for href in hrefs)


# --------------------------------------------------------------------------- the commands


def test_report_re_renders_a_matrix_json_byte_for_byte(tmp_path: Path) -> None:
    matrix_json = matrix_docs.write_folder(tmp_path / "m", matrix_docs.with_server_error())
    document = MatrixDocument.model_validate_json(matrix_json.read_text())
    first = outputs.write_matrix_html(document, tmp_path / "m" / "matrix.html").read_bytes()

    result = CliRunner().invoke(cli.app, ["report", str(matrix_json)])  # no option: next to it
    assert result.exit_code == 0, result.output
    assert (tmp_path / "m" / "matrix.html").read_bytes() == first
    assert (tmp_path / "m" / "matrix.md").read_text().startswith("# gateconform matrix")
    assert "report: " in result.output and "matrix.html" in result.output

    result = CliRunner().invoke(cli.app, ["report", str(matrix_json), "--html", str(tmp_path / "out" / "m.html")])
    assert result.exit_code == 0, result.output
    assert 'href="../m/1.82.3/report.html' in (tmp_path / "out" / "m.html").read_text()

    refused = CliRunner().invoke(cli.app, ["report", str(matrix_json), "--junit", str(tmp_path / "j.xml")])
    assert refused.exit_code == 2 and "per release" in refused.output


def test_report_still_re_renders_a_results_document(tmp_path: Path) -> None:
    path = write_results(report_docs.load(), tmp_path / "results.json")
    result = CliRunner().invoke(cli.app, ["report", str(path), "--html", str(tmp_path / "r.html")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "r.html").read_text() == outputs.write_html(read_results(path), tmp_path / "x.html").read_text()


def test_matrix_command_writes_and_prints_the_html_page(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from harness.compare import matrix
    from harness.gateways.litellm import release_list
    from harness.gateways.litellm.release_list import ReleaseList
    from harness.compare.release_run import ReleaseRun

    release_runs = matrix_docs.with_server_error()
    monkeypatch.setenv("GATECONFORM_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(release_list, "published_releases",
                        lambda list_versions=None: ReleaseList.of(matrix_docs.VERSIONS))
    monkeypatch.setattr(release_list, "_default_latest", lambda: matrix_docs.VERSIONS[-1])

    def run_on_release(version, scenarios, log, out_dir, cancel, runner_started, deps="today", draw_reports=None):  # type: ignore[no-untyped-def]
        run = release_runs[version]
        path = write_results(run, out_dir / "results.json")
        outputs.write_html(run, out_dir / outputs.HTML_NAME)
        return ReleaseRun(version, run, 1.0, path)

    monkeypatch.setattr(matrix, "run_on_release", run_on_release)
    seed = Path(__file__).parents[2] / "scenarios/litellm/issue-23850-access-group-limits-service-key.yaml"
    result = CliRunner().invoke(cli.app, ["matrix", str(seed), "--versions", ",".join(matrix_docs.VERSIONS),
                                          "--report-dir", str(tmp_path / "m")])
    assert result.exit_code == 1, result.output  # a cell failed
    assert f"report: {tmp_path / 'm' / 'matrix.html'}" in " ".join(result.output.split()).replace("\n", "")
    page = Page((tmp_path / "m" / "matrix.html").read_text())
    assert len(page.having("td", "v")) == 12
    # the page is what `gateconform report matrix.json` gives
    again = render_matrix_html(MatrixDocument.model_validate(json.loads((tmp_path / "m" / "matrix.json").read_text())))
    assert (tmp_path / "m" / "matrix.html").read_text() == again


def test_the_same_verdict_observed_differently_is_marked_in_the_drill_down(page: Page) -> None:
    # 1.108.7 denies with 403 where older releases said 401: still a pass, but worth seeing
    marked = [a for a in page.having("td", "observed-changed")]
    assert marked and {a["data-version"] for a in marked} == {"1.108.7"}
    assert all(a["data-outcome"] == "pass" for a in marked)
