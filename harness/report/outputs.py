"""Every report file of a run, drawn from its results document only.

Each file is written all or nothing (`harness.output_files.write_text`); a folder or file that
cannot be written raises `OutputError` naming it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

from harness.common.files import OutputError, write_text
from harness.model.results import RunResult
from harness.report.names import (  # noqa: F401 - callers name the files through this module
    ALLURE_DIR, HTML_NAME, JUNIT_NAME, MARKDOWN_NAME, MATRIX_HTML_NAME, MATRIX_JSON_NAME, MATRIX_MARKDOWN_NAME,
)
from harness.store.documents import write_results

if TYPE_CHECKING:
    from harness.model.matrix import MatrixDocument


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
    caller, before this, so a report that fails to render never costs the verdicts). Raises
    `OutputError` at the first one that cannot be written, its `written` naming those before.
    """
    folder = Path(folder)
    writers = ((write_html, HTML_NAME), (write_markdown, MARKDOWN_NAME), (write_junit, JUNIT_NAME),
               (write_allure, ALLURE_DIR))
    written: list[Path] = []
    try:
        for write, name in writers:
            written.append(write(result, folder / name))
    except OutputError as exc:
        exc.written = written + exc.written
        raise
    return written


def write_run_documents(result: RunResult, folder: Path, secrets: Iterable[str] = ()) -> list[Path]:
    """results.json, then every report, into `folder`; returns the paths written.

    results.json first: it holds the verdicts, so a report that cannot be written or rendered
    afterwards never costs them. Raises `OutputError` at the first file that cannot be written;
    its `written` lists the files written before it.
    """
    folder = Path(folder)
    results_path = write_results(result, folder / "results.json", secrets=secrets)
    try:
        return [results_path, *write_reports(result, folder)]
    except OutputError as exc:
        exc.written = [results_path, *exc.written]
        raise


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
    from harness.report.matrix_text import markdown

    return write_text(path, markdown(document))
