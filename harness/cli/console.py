"""The terminal of every command: results on stdout, progress and problems on stderr."""

from __future__ import annotations

import typer
from rich.console import Console

from harness.model.exit_codes import ExitCode
from harness.report.progress import ProgressPrinter

out = Console()
err = Console(stderr=True, soft_wrap=True)


def progress(nested_indent: str = "") -> ProgressPrinter:
    """The progress printer of one command, timing from now (it takes events and lines of text)."""
    return ProgressPrinter(err, nested_indent)


def fail(message: str, code: int = ExitCode.UNDECIDED) -> typer.Exit:
    """Print `message` on stderr as written; the `typer.Exit` to raise with `code`."""
    err.print(message, highlight=False, markup=False)
    return typer.Exit(code)
