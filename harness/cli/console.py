"""The terminal of every command: results on stdout, progress and problems on stderr."""

from __future__ import annotations

from rich.console import Console

from harness.report.progress import ProgressPrinter

out = Console()
err = Console(stderr=True, soft_wrap=True)


def progress() -> ProgressPrinter:
    """A progress printer for one command, timing from now."""
    return ProgressPrinter(err)
