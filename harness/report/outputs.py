"""Every report file of a run, drawn from its results document only."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from harness.results import RunResult

if TYPE_CHECKING:
    from harness.matrix import MatrixDocument

HTML_NAME = "report.html"
MATRIX_JSON_NAME = "matrix.json"
MATRIX_HTML_NAME = "matrix.html"
MATRIX_MARKDOWN_NAME = "matrix.md"
MARKDOWN_NAME = "summary.md"
JUNIT_NAME = "junit.xml"
ALLURE_DIR = "allure-results"


def write_text(path: Path, text: str) -> Path:
    """Write `text` as UTF-8 with `\\n` line ends (parents created); returns `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="\n") as handle:
        handle.write(text)
    return path


def write_html(result: RunResult, path: Path) -> Path:
    """The self-contained HTML report."""
    from harness.report.html import render_html

    return write_text(path, render_html(result))


def write_markdown(result: RunResult, path: Path) -> Path:
    """The Markdown summary for an issue or PR comment."""
    from harness.report.markdown import render_markdown

    return write_text(path, render_markdown(result))


def write_junit(result: RunResult, path: Path) -> Path:
    """JUnit XML, one testcase per check."""
    from harness.report.junit import render_junit

    return write_text(path, render_junit(result))


def write_allure(result: RunResult, folder: Path) -> Path:
    """Allure 2 result files (`allure serve <folder>`)."""
    from harness.report.allure import write_allure_results

    return write_allure_results(result, folder)


def write_reports(result: RunResult, folder: Path) -> list[Path]:
    """Write the human-facing reports of `result` into `folder`; returns the paths written.

    report.html, summary.md, junit.xml and allure-results/ (results.json is written by the
    caller, before this, so a report that fails to render never costs the verdicts).
    """
    folder = Path(folder)
    return [
        write_html(result, folder / HTML_NAME),
        write_markdown(result, folder / MARKDOWN_NAME),
        write_junit(result, folder / JUNIT_NAME),
        write_allure(result, folder / ALLURE_DIR),
    ]


def write_matrix_html(document: "MatrixDocument", path: Path, matrix_folder: Path | None = None) -> Path:
    """The self-contained matrix page; its links to each release's report.html are relative.

    `matrix_folder` is where matrix.json and the per-release folders are (default: next to
    `path`, as `gateconform matrix` writes it).
    """
    from harness.report.matrix_html import render_matrix_html

    path = Path(path)
    base = ""
    if matrix_folder is not None:
        relative = os.path.relpath(Path(matrix_folder).resolve(), path.resolve().parent)
        base = "" if relative == "." else Path(relative).as_posix()
    return write_text(path, render_matrix_html(document, base))


def write_matrix_markdown(document: "MatrixDocument", path: Path) -> Path:
    """The matrix as Markdown (the table, where verdicts changed, the changed checks)."""
    from harness.matrix_view import markdown

    return write_text(path, markdown(document))
