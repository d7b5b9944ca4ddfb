"""Copies of library scenarios for integration tests whose point is not the sweep.

The sweep (every other model-bearing route, on by default) finds bypasses on most releases; a
test about a target, a release or a timeline asserts the written checks, so it runs a copy
with `sweep: false` (the request-surface tests sweep).
"""

from __future__ import annotations

from pathlib import Path


def without_sweep(source: Path, folder: Path) -> Path:
    """A copy of the scenario at `source` in `folder`, its sweep turned off."""
    folder.mkdir(parents=True, exist_ok=True)
    copy = folder / source.name
    copy.write_text(source.read_text().rstrip("\n") + "\nsweep: false\n")
    return copy
