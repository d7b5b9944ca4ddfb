"""Every report file of a run, drawn from its results document only."""

from __future__ import annotations

from pathlib import Path

from harness.results import RunResult


def write_reports(result: RunResult, folder: Path) -> list[Path]:
    """Write the human-facing reports of `result` into `folder`; returns the paths written."""
    return []
