"""Progress lines for people: each with the seconds since the command started, on stderr.

The one progress printer of every command (run, matrix, bisect, image build); messages are
plain text, never rich markup (`package[extra]==1.82.3` must print as written).
"""

from __future__ import annotations

import time

from rich.console import Console
from rich.markup import escape


class ProgressPrinter:
    """`   12.3s message` lines; call it with a message (a `log` callback)."""

    def __init__(self, console: Console) -> None:
        self._console = console
        self.started = time.monotonic()

    def __call__(self, message: str) -> None:
        self._console.print(f"[dim]{self.elapsed_s:7.1f}s[/dim] {escape(message)}", highlight=False)

    @property
    def elapsed_s(self) -> float:
        """Seconds since the printer was made (the command started)."""
        return time.monotonic() - self.started
