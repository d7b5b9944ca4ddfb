"""The free-text log callback that targets, gateways and builds speak through (one definition for all).

Progress of a run is typed (`harness.engine.events`); what a target, a build or a cleanup says
while it works stays a line of text handed to a `Log`: the runner wraps those lines into events,
the CLI prints them as they come.
"""

from __future__ import annotations

from typing import Callable

#: Receives one line of progress text (no trailing newline).
Log = Callable[[str], None]


def quiet(_message: str) -> None:
    """A log that keeps nothing (for callers that show no progress)."""
