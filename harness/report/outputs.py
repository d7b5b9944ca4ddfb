"""Every report file of a run, drawn from its results document only."""

from __future__ import annotations

from pathlib import Path

from harness.results import RunResult

HTML_NAME = "report.html"
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
