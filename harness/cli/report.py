"""`gateconform report`: re-render the reports of a past run (results.json) or matrix (matrix.json).

Which reports there are is asked of the renderer registry (`harness.report.registry`): with no
output option every registered file renderer of the document's kind writes its file; `--html`,
`--markdown`, `--junit`, `--allure` and `--render NAME=PATH` name one renderer each.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer

from harness.model.exit_codes import ExitCode


def report(
    results: Path = typer.Argument(
        ..., help="a results.json written by `gateconform run` or --gateconform-results, or a matrix.json"
    ),
    html: Optional[Path] = typer.Option(None, "--html", help="write the HTML report here"),
    markdown: Optional[Path] = typer.Option(None, "--markdown", "--md", help="write the Markdown summary here"),
    junit: Optional[Path] = typer.Option(None, "--junit", help="write JUnit XML here"),
    allure: Optional[Path] = typer.Option(None, "--allure", help="write Allure result files into this folder"),
    render: Optional[list[str]] = typer.Option(
        None, "--render", metavar="NAME=PATH", help="write the report of any registered renderer NAME here"
    ),
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
    from harness.report import registry

    def refuse(message: str) -> typer.Exit:
        err.print(f"gateconform report: {message}", markup=False, highlight=False)
        return typer.Exit(ExitCode.UNDECIDED)

    kind = registry.MATRIX if _is_matrix(results) else registry.RUN
    asked = {name: path for name, path in
             (("html", html), ("markdown", markdown), ("junit", junit), ("allure", allure)) if path}
    for item in render or []:
        name, _, path = item.partition("=")
        if not name or not path:
            raise refuse(f"--render {item!r}: write it NAME=PATH")
        asked[name] = Path(path)
    unknown = [name for name in asked if name not in {r.name for r in registry.files(kind)}]
    if unknown and kind == registry.MATRIX and set(unknown) <= {"junit", "allure"}:
        raise refuse(f"{results} is a matrix: JUnit and Allure come per release "
                     "(re-render each <version>/results.json)")
    if unknown:
        known = ", ".join(r.name for r in registry.files(kind))
        raise refuse(f"no {kind} report named {', '.join(unknown)} (there are: {known})")
    document = _read(results, kind, refuse)
    context: dict[str, Any] = {"matrix_folder": results.parent} if kind == registry.MATRIX else {}
    try:
        if asked:
            written = [registry.write(kind, name, document, path, **context) for name, path in asked.items()]
        else:
            folder = out_dir or results.parent
            written = registry.write_all(kind, document, folder, **context)
            asked["html"] = folder / registry.renderer(kind, "html").file_name  # type: ignore[operator]
        if screenshot:
            written.append(_screenshot(kind, document, asked.get("html"), screenshot, context, refuse))
    except OutputError as exc:  # a read-only or full folder: said in words, not a traceback
        raise refuse(f"{exc} (no partial file was left)")
    for path in written:
        out.print(f"report: {path}", markup=False, highlight=False, soft_wrap=True)  # paths stay copyable


def _read(path: Path, kind: str, refuse: Any) -> Any:
    """The results or matrix document in `path`; a clear refusal when it is not one."""
    from harness.model.matrix import MatrixDocument
    from harness.report import registry
    from harness.store.documents import read_results

    what = "matrix" if kind == registry.MATRIX else "results"
    try:
        if kind == registry.MATRIX:
            return MatrixDocument.model_validate_json(path.read_text(encoding="utf-8"))
        return read_results(path)
    except FileNotFoundError:
        raise refuse(f"{path}: no such file")
    except ValueError as exc:  # pydantic's ValidationError is a ValueError
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise refuse(f"{path}: not a gateconform {what} document ({first})")


def _screenshot(kind: str, document: Any, html: Optional[Path], png: Path, context: dict[str, Any],
                refuse: Any) -> Path:
    """A PNG of the HTML page: the one just written, else one drawn into a temporary folder."""
    import tempfile

    from harness.report import registry
    from harness.report.browser import BrowserError, screenshot

    try:
        if html is not None:
            return screenshot(html, png)
        with tempfile.TemporaryDirectory(prefix="gateconform-report-") as tmp:
            html_renderer = registry.renderer(kind, "html")
            page = registry.write(kind, "html", document, Path(tmp) / str(html_renderer.file_name), **context)
            return screenshot(page, png)
    except BrowserError as exc:
        raise refuse(f"no screenshot: {exc}")


def _is_matrix(path: Path) -> bool:
    """Whether `path` holds a matrix document (`gateconform.matrix/…`), not a results document."""
    import json

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False  # the results-document path says what is wrong with it
    return isinstance(data, dict) and str(data.get("schema_version", "")).startswith("gateconform.matrix/")


def register(app: typer.Typer) -> None:
    """Add this module's commands to the `gateconform` app."""
    app.command("report")(report)
