"""`gateconform report`: re-render the reports of a past run from its results.json."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from harness.model.exit_codes import ExitCode
from harness.store.documents import read_results



def report(
    results: Path = typer.Argument(
        ..., help="a results.json written by `gateconform run` or --gateconform-results, or a matrix.json"
    ),
    html: Optional[Path] = typer.Option(None, "--html", help="write the HTML report here"),
    markdown: Optional[Path] = typer.Option(None, "--markdown", "--md", help="write the Markdown summary here"),
    junit: Optional[Path] = typer.Option(None, "--junit", help="write JUnit XML here"),
    allure: Optional[Path] = typer.Option(None, "--allure", help="write Allure result files into this folder"),
    screenshot: Optional[Path] = typer.Option(
        None, "--screenshot", help="also save a PNG of the HTML report (needs chromium)"
    ),
    out_dir: Optional[Path] = typer.Option(
        None, "--out-dir", help="with no output option: write every report here (default: next to RESULTS)"
    ),
) -> None:
    """Re-render reports from a results document; the same document gives the same files.

    With no output option, writes report.html, summary.md, junit.xml and allure-results/
    next to RESULTS (or into --out-dir). A matrix.json of `gateconform matrix` gives the
    matrix page and Markdown instead (matrix.html, matrix.md; --html, --markdown).
    """
    from harness.cli.console import err, out
    from harness.common.files import OutputError

    try:
        if _is_matrix(results):
            _report_matrix(results, html, markdown, junit, allure, screenshot, out_dir, out, err)
        else:
            _report_run(results, html, markdown, junit, allure, screenshot, out_dir, out, err)
    except OutputError as exc:  # a read-only or full folder: said in words, not a traceback
        err.print(f"gateconform report: {exc} (no partial file was left)", markup=False, highlight=False)
        raise typer.Exit(ExitCode.UNDECIDED)


def _report_run(  # type: ignore[no-untyped-def]
    results: Path, html: Optional[Path], markdown: Optional[Path], junit: Optional[Path], allure: Optional[Path],
    screenshot: Optional[Path], out_dir: Optional[Path], out, err,
) -> None:
    """Re-render the reports of a results.json (every report next to it, or the ones asked for)."""
    from harness.report import outputs

    try:
        document = read_results(results)
    except FileNotFoundError:
        err.print(f"gateconform report: {results}: no such file", markup=False, highlight=False)
        raise typer.Exit(ExitCode.UNDECIDED)
    except ValueError as exc:  # pydantic's ValidationError is a ValueError
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        err.print(f"gateconform report: {results}: not a gateconform results document ({first})", markup=False, highlight=False)
        raise typer.Exit(ExitCode.UNDECIDED)

    written: list[Path] = []
    if not any((html, markdown, junit, allure)):
        folder = out_dir or results.parent
        written = outputs.write_reports(document, folder)
        html = folder / outputs.HTML_NAME if screenshot else None
    else:
        if html:
            written.append(outputs.write_html(document, html))
        if markdown:
            written.append(outputs.write_markdown(document, markdown))
        if junit:
            written.append(outputs.write_junit(document, junit))
        if allure:
            written.append(outputs.write_allure(document, allure))
    if screenshot:
        written.append(_screenshot(document, html, screenshot, err))
    for path in written:
        out.print(f"report: {path}", markup=False, highlight=False)


def _screenshot(document, html: Optional[Path], png: Path, err) -> Path:  # type: ignore[no-untyped-def]
    import tempfile

    from harness.report import outputs
    from harness.report.browser import BrowserError, screenshot

    try:
        if html is not None:
            return screenshot(html, png)
        with tempfile.TemporaryDirectory(prefix="gateconform-report-") as tmp:
            page = outputs.write_html(document, Path(tmp) / outputs.HTML_NAME)
            return screenshot(page, png)
    except BrowserError as exc:
        err.print(f"gateconform report: no screenshot: {exc}", markup=False, highlight=False)
        raise typer.Exit(ExitCode.UNDECIDED)


def _is_matrix(path: Path) -> bool:
    """Whether `path` holds a matrix document (`gateconform.matrix/…`), not a results document."""
    import json

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False  # the results-document path says what is wrong with it
    return isinstance(data, dict) and str(data.get("schema_version", "")).startswith("gateconform.matrix/")


def _report_matrix(  # type: ignore[no-untyped-def]
    path: Path, html: Optional[Path], markdown: Optional[Path], junit: Optional[Path], allure: Optional[Path],
    screenshot: Optional[Path], out_dir: Optional[Path], out, err,
) -> None:
    """Re-render the matrix page (and Markdown) of a matrix.json; links stay relative to its folder."""
    from harness.model.matrix import MatrixDocument
    from harness.report import outputs

    if junit or allure:
        err.print(f"gateconform report: {path} is a matrix: JUnit and Allure come per release "
                  "(re-render each <version>/results.json)", markup=False, highlight=False)
        raise typer.Exit(ExitCode.UNDECIDED)
    try:
        document = MatrixDocument.model_validate_json(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        err.print(f"gateconform report: {path}: not a gateconform matrix document ({first})", markup=False, highlight=False)
        raise typer.Exit(ExitCode.UNDECIDED)
    folder = path.parent
    written: list[Path] = []
    if not (html or markdown):
        target = out_dir or folder
        html = target / outputs.MATRIX_HTML_NAME
        markdown = target / outputs.MATRIX_MARKDOWN_NAME
    if html:
        written.append(outputs.write_matrix_html(document, html, folder))
    if markdown:
        written.append(outputs.write_matrix_markdown(document, markdown))
    if screenshot:
        from harness.report.browser import BrowserError
        from harness.report.browser import screenshot as take_screenshot

        try:
            if html is None:
                import tempfile

                with tempfile.TemporaryDirectory(prefix="gateconform-report-") as tmp:
                    page = outputs.write_matrix_html(document, Path(tmp) / outputs.MATRIX_HTML_NAME, folder)
                    written.append(take_screenshot(page, screenshot))
            else:
                written.append(take_screenshot(html, screenshot))
        except BrowserError as exc:
            err.print(f"gateconform report: no screenshot: {exc}", markup=False, highlight=False)
            raise typer.Exit(ExitCode.UNDECIDED)
    for written_path in written:
        out.print(f"report: {written_path}", markup=False, highlight=False)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the `gateconform` app."""
    app.command("report")(report)
