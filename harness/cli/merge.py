"""`gateconform merge SHARD_FOLDER…`: the shards of a matrix (`matrix --shard K/N`) joined into one.

Reads documents only (no proxy starts): per release one results.json and its reports, then
matrix.json, matrix.md and matrix.html, as one unsharded `matrix` run would have written them.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Optional

import typer

from harness.cli import console
from harness.cli.console import err, fail
from harness.cli.release_options import writable_or_exit


def register(app: typer.Typer) -> None:
    """Add `merge` to the `gateconform` app."""
    app.command("merge")(merge)


def merge(
    shards: list[Path] = typer.Argument(..., help="each shard's report folder (or its matrix.json)"),
    report_dir: Optional[Path] = typer.Option(None, "--report-dir", help="default reports/matrix-<time>/"),
) -> None:
    """Join the shards of a matrix (`matrix --shard K/N`, e.g. one per CI job) into one matrix and its reports.

    Exit code as `matrix`: 0 every cell passed (or skipped), 1 a cell failed, 2 undecided (a
    cell errored, a shard is missing) or the inputs are not shards of one matrix.
    """
    from harness.cli.releases import show_matrix_and_exit
    from harness.compare.merge import MergeError, merge_shards, read_shards
    from harness.report.outputs import write_reports

    try:
        found = read_shards(shards)
    except MergeError as exc:
        raise fail(f"gateconform: {exc}")
    writable_or_exit(report_dir)
    folder = report_dir or Path("reports") / f"matrix-{time.strftime('%Y%m%d-%H%M%S')}"
    progress = console.progress()
    progress(f"merging {len(found)} shard(s) ({', '.join(shard.label for shard in found)}) → {folder}")
    try:
        merged = merge_shards(found, folder, progress, draw_reports=write_reports)
    except MergeError as exc:
        raise fail(f"gateconform: {exc}")
    for note in merged.notes:
        err.print(f"note: {note}", highlight=False, markup=False)
    show_matrix_and_exit(merged, f"matrix: {len(merged.document.versions)} release(s) merged from "
                                 f"{len(found)} shard(s)")
