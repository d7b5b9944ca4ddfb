"""Reports as a registry: every command draws what is registered; a new renderer is one registration.

The toy renderer (tests/fixtures/toy_renderer.py: a CSV of verdicts) is registered the way a new
one would be, and then shows up in `gateconform report`, in the files of a run (also through the
pytest plugin) and by name (`--render csv=PATH`) with no command changed.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import pytest
from rich.console import Console
from typer.testing import CliRunner

from harness.cli import app as cli
from harness.report import outputs, registry
from harness.store.documents import write_results
from tests.fixtures import matrix_docs, report_docs, toy_renderer
from tests.fixtures.fake_runner import ENV

ROOT = Path(__file__).parents[2]


@pytest.fixture
def toy() -> Iterator[None]:
    toy_renderer.register()
    try:
        yield
    finally:
        toy_renderer.unregister()


def test_the_built_in_renderers_and_their_default_file_names() -> None:
    def files(kind: str) -> dict[str, str | None]:
        return {r.name: r.file_name for r in registry.renderers(kind)}

    assert files(registry.RUN) == {"html": "report.html", "markdown": "summary.md", "junit": "junit.xml",
                                   "allure": "allure-results", "terminal": None}
    assert files(registry.MATRIX) == {"markdown": "matrix.md", "html": "matrix.html", "terminal": None}
    assert files(registry.BISECT) == {"terminal": None}


def test_a_run_writes_every_registered_report(tmp_path: Path, toy: None) -> None:
    result = report_docs.load()
    written = outputs.write_run_documents(result, tmp_path)
    assert [p.name for p in written] == ["results.json", "report.html", "summary.md", "junit.xml",
                                         "allure-results", "verdicts.csv"]
    first = result.scenarios[0].verdicts[0]
    assert (tmp_path / "verdicts.csv").read_text().startswith(f"{first.check_id},{first.outcome.value}\n")


def test_gateconform_report_draws_a_registered_renderer_by_default_and_by_name(tmp_path: Path, toy: None) -> None:
    results = write_results(report_docs.load(), tmp_path / "results.json")
    runner = CliRunner()
    done = runner.invoke(cli.app, ["report", str(results)])
    assert done.exit_code == 0, done.output
    assert (tmp_path / "verdicts.csv").exists() and (tmp_path / "report.html").exists()

    done = runner.invoke(cli.app, ["report", str(results), "--render", f"csv={tmp_path / 'elsewhere.csv'}"])
    assert done.exit_code == 0, done.output
    assert (tmp_path / "elsewhere.csv").read_text() == (tmp_path / "verdicts.csv").read_text()


def test_an_unknown_renderer_is_refused_naming_the_ones_there_are(tmp_path: Path) -> None:
    results = write_results(report_docs.load(), tmp_path / "results.json")
    done = CliRunner().invoke(cli.app, ["report", str(results), "--render", f"csv={tmp_path / 'x.csv'}"])
    assert done.exit_code == 2
    assert "no run report named csv (there are: html, markdown, junit, allure)" in " ".join(done.output.split())
    assert not (tmp_path / "x.csv").exists()


def test_a_matrix_renderer_is_registered_the_same_way(tmp_path: Path) -> None:
    matrix_json = matrix_docs.write_folder(tmp_path / "m", matrix_docs.with_server_error())
    rows = registry.Renderer(registry.MATRIX, "rows", "rows.txt",
                             registry.text_file(lambda document: "\n".join(row.id for row in document.scenarios)))
    registry.register(rows)
    try:
        done = CliRunner().invoke(cli.app, ["report", str(matrix_json)])
    finally:
        registry.unregister(registry.MATRIX, "rows")
    assert done.exit_code == 0, done.output
    assert (tmp_path / "m" / "rows.txt").read_text().splitlines() == [
        row.id for row in matrix_docs.document(matrix_docs.with_server_error()).scenarios]


def test_a_terminal_renderer_is_shown_with_the_others() -> None:
    shown: list[str] = []
    registry.register(registry.Renderer(registry.RUN, "count", None,
                                        lambda result, console: shown.append(f"{len(result.scenarios)} scenarios")))
    try:
        registry.show(registry.RUN, report_docs.load(), Console(file=io.StringIO(), width=160))
    finally:
        registry.unregister(registry.RUN, "count")
    assert shown == [f"{len(report_docs.load().scenarios)} scenarios"]


def test_one_name_is_one_renderer(toy: None) -> None:
    with pytest.raises(ValueError, match="a run renderer named 'csv' is registered already"):
        toy_renderer.register()
    with pytest.raises(ValueError, match="unknown kind 'table'"):
        registry.register(registry.Renderer("table", "x", None, print))


@pytest.mark.slow
def test_the_pytest_plugin_writes_every_registered_report(tmp_path: Path) -> None:
    document = report_docs.load()
    recorded = write_results(document, tmp_path / "recorded.json")
    scenarios = tmp_path / "scenarios"
    scenarios.mkdir()
    for scenario in document.scenarios:
        (scenarios / f"{scenario.id}.yaml").write_text(scenario.source or "")
    done = subprocess.run(
        [sys.executable, "-m", "pytest", str(scenarios), "-p", "tests.fixtures.fake_runner",
         "-p", "tests.fixtures.fake_releases", "-p", "tests.fixtures.toy_renderer", "-p", "no:cacheprovider",
         "--target", "litellm==1.82.3", "-q", f"--gateconform-report-dir={tmp_path / 'reports'}"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
        env={**os.environ, ENV: str(recorded), "GATECONFORM_CACHE_DIR": str(tmp_path / "cache")},
    )
    assert done.returncode in (0, 1), done.stdout + done.stderr
    assert {"results.json", "report.html", "verdicts.csv"} <= {p.name for p in (tmp_path / "reports").iterdir()}
