"""Processes on this machine as the harness sees them: which ones run from a folder, which are ours."""

from __future__ import annotations

import os
from pathlib import Path


def processes_using(root: Path) -> list[int]:
    """Pids of live processes started from `root` (its python or scripts in their command line)."""
    marker = str(root.resolve()).encode() + b"/"
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if marker in cmdline:
            pids.append(int(entry.name))
    return pids
