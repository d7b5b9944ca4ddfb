"""`gateconform releases --check SELECTION [--sample minor]`: which releases start, and why the others cannot.

Every chosen release (or one per minor version, its newest) is booted locally with a trivial
scenario (`harness.compare.support`); the table says, per release, *starts*, *starts with
substitutions* or *cannot start* and why. It is written to `support.json` and `support.md`
(the README's table) next to each release's `results.json`.
"""

from __future__ import annotations

import time
from pathlib import Path

import typer

from harness.cli import console
from harness.cli.console import err, fail, out
from harness.cli.release_options import exit_if_not_written, folder_and_jobs
from harness.gateways.base import Gateway
from harness.model.exit_codes import ExitCode


def check_releases(gateway: Gateway, selection: str | None, *, pre: bool, sample: str | None, jobs: int | None,
                   report_dir: Path | None, deps: str) -> None:
    """Boot the releases `selection` names (sampled), print the support table, write its documents, exit."""
    from harness.common.files import OutputError
    from harness.compare.support import run_support_check
    from harness.report import names
    from harness.report import registry as renderers
    from harness.store.documents import write_support
    from harness.targets.errors import ReleaseError

    if not selection:
        raise fail("gateconform: --check needs releases, e.g. 1.80..latest (and --sample minor for one per minor)")
    catalogue = gateway.releases
    try:
        chosen = catalogue.select(selection, include_prereleases=pre, local_target=True)
        notes = list(chosen.notes)
        versions = chosen.versions
        if sample is not None:
            sampled = catalogue.sample(versions, sample, selection)
            versions, notes = sampled.versions, notes + sampled.notes
    except ReleaseError as exc:
        raise fail(f"gateconform: {exc}")
    for note in notes:
        err.print(f"note: {note}", highlight=False)
    folder, jobs = folder_and_jobs(report_dir, "support", jobs)
    progress = console.progress()
    progress(f"checking {len(versions)} release(s) ({', '.join(versions)}), {min(jobs, len(versions))} at a time "
             f"→ {folder}")
    started = time.monotonic()
    try:
        document = run_support_check(versions, folder, jobs, progress, gateway=gateway.name, selection=selection,
                                     sample=sample, notes=notes, deps=deps)
    except KeyboardInterrupt:
        err.print("interrupted: every proxy started by the check was stopped")
        raise typer.Exit(ExitCode.INTERRUPTED)
    renderers.show(renderers.SUPPORT, document, out)
    out.print(f"checked {len(versions)} release(s) in {time.monotonic() - started:.0f} s with {jobs} job(s)")
    write_errors: list[str] = []
    try:
        out.print(f"report: {write_support(document, folder / names.SUPPORT_JSON_NAME)}", highlight=False, soft_wrap=True)
        for path in renderers.write_all(renderers.SUPPORT, document, folder):
            out.print(f"report: {path}", highlight=False, soft_wrap=True)  # paths stay copyable
    except OutputError as exc:
        write_errors.append(str(exc))
    exit_if_not_written(write_errors, "table")
    raise typer.Exit(ExitCode.OK if document.started_count == len(document.rows) else ExitCode.UNDECIDED)
