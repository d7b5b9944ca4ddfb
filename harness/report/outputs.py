"""Every report file of a run, drawn from its results document only, by the registered renderers.

Which reports there are is the registry's to say (`harness.report.registry`); this module writes
the results document first and then all of them. Each file is written all or nothing
(`harness.common.files.write_text`); a folder or file that cannot be written raises
`OutputError` naming it. The `write_*` shortcuts name one registered renderer each.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Iterable

from harness.common.files import OutputError, write_text  # noqa: F401 - callers write through this module
from harness.model.results import RunResult
from harness.report import registry
from harness.report.names import (  # noqa: F401 - callers name the files through this module
    ALLURE_DIR, HTML_NAME, JUNIT_NAME, MARKDOWN_NAME, MATRIX_HTML_NAME, MATRIX_JSON_NAME, MATRIX_MARKDOWN_NAME,
)
from harness.store.documents import write_results

if TYPE_CHECKING:
    from harness.model.matrix import MatrixDocument


def write_reports(result: RunResult, folder: Path) -> list[Path]:
    """Write every registered run report of `result` into `folder`; returns the paths written.

    report.html, summary.md, junit.xml and allure-results/ (results.json is written by the
    caller, before this, so a report that fails to render never costs the verdicts). Raises
    `OutputError` at the first one that cannot be written, its `written` naming those before.
    """
    return registry.write_all(registry.RUN, result, Path(folder))


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


def write_html(result: RunResult, path: Path) -> Path:
    """The self-contained HTML report (the registered run renderer `html`)."""
    return registry.write(registry.RUN, "html", result, path)


def write_allure(result: RunResult, folder: Path) -> Path:
    """Allure 2 result files, `allure serve <folder>` (the registered run renderer `allure`)."""
    return registry.write(registry.RUN, "allure", result, folder)


def write_matrix_html(document: "MatrixDocument", path: Path, matrix_folder: Path | None = None) -> Path:
    """The matrix page; its links to each release's report.html are relative to `matrix_folder`
    (default: next to `path`, as `gateconform matrix` writes it)."""
    return registry.write(registry.MATRIX, "html", document, path, matrix_folder=matrix_folder)
