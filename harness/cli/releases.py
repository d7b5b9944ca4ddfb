"""`gateconform releases` and `gateconform matrix`: what is published, and every scenario on every release.

The releases are the default gateway's (`Gateway.releases`).

- `releases [SELECTION]`: what the gateway publishes (compromised releases never listed), oldest first;
  with `--check` (and `--sample minor`), which of them start (`harness.cli.support_check`);
- `matrix PATHS --versions …`: every scenario on every release, a table of verdicts.

Heavy modules (runner, targets) are imported inside the commands so `gateconform run` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Optional

import typer

from harness.cli import console
from harness.cli.console import err, fail, out
from harness.cli.oracle_option import ORACLE_HELP, in_oracle_mode_or_exit
from harness.cli.release_options import (
    DEPS_HELP, deps_or_exit, exit_if_not_written, folder_and_jobs, load_scenarios_or_exit,
)
from harness.gateways import registry
from harness.model.exit_codes import ExitCode

if TYPE_CHECKING:
    from harness.compare.matrix import MatrixRun
    from harness.compare.shards import Shard

#: A matrix over more releases than this needs --max-releases: each release costs minutes.
DEFAULT_MAX_RELEASES = 25
#: The gateway whose releases these commands work across.
_GATEWAY = registry.default_gateway()


def register(app: typer.Typer) -> None:
    """Add `releases` and `matrix` to the `gateconform` app."""
    app.command("releases", help=f"List {_GATEWAY.title} releases from PyPI, oldest first (compromised releases "
                "are never listed).")(releases)
    app.command("matrix")(matrix)


# --------------------------------------------------------------------------- releases


def releases(
    selection: Optional[str] = typer.Argument(
        None, help="e.g. 1.80.0..1.83.0, or 1.80.0,1.82.3,latest (default: every release)"
    ),
    pre: bool = typer.Option(False, "--pre", help="include pre-releases (rc, dev) in ranges"),
    check: bool = typer.Option(False, "--check", help="boot each release with a trivial scenario and say "
                               "which start (with substitutions or not) and why the others cannot"),
    sample: Optional[str] = typer.Option(None, "--sample", help="with --check: 'minor' checks one release per "
                                         "minor version (its newest)"),
    jobs: Optional[int] = typer.Option(None, "--jobs", "-j", min=1, help="with --check: releases booted at once "
                                       "(default: one per core, memory permitting)"),
    report_dir: Optional[Path] = typer.Option(None, "--report-dir", help="with --check: default "
                                              "reports/support-<time>/"),
    deps: str = typer.Option("auto", "--deps", help=DEPS_HELP),
) -> None:
    """List the gateway's releases, oldest first (compromised releases are never listed); with
    --check, boot each (or one per minor with --sample minor) and say which start.

    Exit code with --check: 0 every release checked starts, 2 one cannot start.
    """
    from harness.targets.errors import ReleaseError

    if check:
        from harness.cli.support_check import check_releases

        check_releases(_GATEWAY, selection, pre=pre, sample=sample, jobs=jobs, report_dir=report_dir,
                       deps=deps_or_exit(deps))
        return
    if sample is not None:
        raise fail("gateconform: --sample goes with --check")
    catalogue = _GATEWAY.releases
    try:
        if selection:
            chosen = catalogue.select(selection, include_prereleases=pre)
            versions, notes = chosen.versions, chosen.notes
        else:
            versions, notes = catalogue.published(pre), []
    except ReleaseError as exc:
        raise fail(f"gateconform: {exc}")
    for line in catalogue.describe(versions):
        out.print(line, highlight=False)
    for note in notes:
        err.print(f"note: {note}", highlight=False)
    err.print(f"{len(versions)} release(s)", highlight=False)


# --------------------------------------------------------------------------- matrix


def matrix(
    paths: list[Path] = typer.Argument(..., help="scenario files or folders"),
    versions: str = typer.Option(
        ..., "--versions", "-V", help="releases: 1.80.0,1.82.3,latest or 1.80.0..1.90.0 (inclusive), or a mix"
    ),
    jobs: Optional[int] = typer.Option(
        None, "--jobs", "-j", min=1, help="releases run at once (default: one per core, memory permitting)"
    ),
    pre: bool = typer.Option(False, "--pre", help="include pre-releases in ranges"),
    report_dir: Optional[Path] = typer.Option(None, "--report-dir", help="default reports/matrix-<time>/"),
    max_releases: int = typer.Option(
        DEFAULT_MAX_RELEASES, "--max-releases", help="refuse larger selections (each release costs minutes)"
    ),
    deps: str = typer.Option("auto", "--deps", help=DEPS_HELP),
    shard: Optional[str] = typer.Option(
        None, "--shard", metavar="K/N",
        help="run only slice K of N of the (scenario, release) cells, e.g. one per CI job; "
        "`gateconform merge` joins the shards' report folders",
    ),
    oracle: Optional[str] = typer.Option(None, "--oracle", help=ORACLE_HELP),
) -> None:
    """Run every scenario on every chosen release; print scenarios × releases.

    Exit code: 0 every cell passed (or skipped), 1 a cell failed, 2 a release or check could
    not be tested (with --shard: of the cells of this shard).
    """
    deps = deps_or_exit(deps)
    chosen_shard = _shard_or_exit(shard)
    scenarios = in_oracle_mode_or_exit(oracle, load_scenarios_or_exit(paths))
    selected = _select_or_exit(versions, pre)
    if len(selected) > max_releases:
        raise fail(f"gateconform: {len(selected)} releases selected ({selected[0]} … {selected[-1]}); "
                    f"narrow --versions or pass --max-releases {len(selected)}")

    from harness.compare.matrix import run_matrix
    from harness.report.outputs import write_reports

    folder, jobs = folder_and_jobs(report_dir, "matrix", jobs)
    progress = console.progress()
    of_shard = f", shard {chosen_shard.label}" if chosen_shard is not None else ""
    progress(f"{len(scenarios)} scenario(s) × {len(selected)} release(s) ({', '.join(selected)}){of_shard}, "
             f"{min(jobs, len(selected))} at a time → {folder}")
    try:
        finished = run_matrix(selected, scenarios, folder, jobs, progress, deps, draw_reports=write_reports,
                              shard=chosen_shard)
    except KeyboardInterrupt:
        err.print("interrupted: every proxy started by the matrix was stopped")
        raise typer.Exit(ExitCode.INTERRUPTED)
    summary = f"matrix: {len(finished.document.versions)} release(s) in {finished.elapsed_s:.0f} s with {jobs} job(s)"
    shard_info = finished.document.shard
    if shard_info is not None:
        cells = sum(len(ids) for ids in shard_info.cells.values())
        summary += (f"; shard {shard_info.label}: {cells} of {len(scenarios) * len(selected)} cells "
                    "(the others are the other shards')")
    show_matrix_and_exit(finished, summary)


def show_matrix_and_exit(finished: "MatrixRun", summary: str) -> None:
    """Print the matrix, write its pages next to matrix.json, name what was written; exit with its verdict.

    Exit 0 every cell passed (or skipped), 1 a cell failed, 2 undecided or a file not written.
    """
    from harness.common.files import OutputError
    from harness.report import registry as renderers

    document, folder = finished.document, finished.folder
    renderers.show(renderers.MATRIX, document, out)  # first: the verdicts are in memory, whatever happens to the files
    out.print(summary)
    written = [finished.matrix_json] if finished.matrix_json else []
    write_errors = list(finished.write_errors)
    for renderer in renderers.files(renderers.MATRIX):
        try:
            written.append(renderers.write(renderers.MATRIX, renderer.name, document, folder / str(renderer.file_name)))
        except OutputError as exc:
            write_errors.append(str(exc))
        except Exception as exc:  # noqa: BLE001 - matrix.json holds the verdicts; a page bug must not lose them
            err.print(f"{renderer.file_name} not written: {type(exc).__name__}: {exc}", highlight=False, markup=False)
    for path in written:
        out.print(f"report: {path}", highlight=False, soft_wrap=True)  # paths stay copyable
    exit_if_not_written(write_errors, "matrix")
    raise typer.Exit({"pass": ExitCode.OK, "fail": ExitCode.FOUND}.get(document.overall, ExitCode.UNDECIDED))


def _shard_or_exit(text: str | None) -> "Shard | None":
    if text is None:
        return None
    from harness.compare.shards import parse_shard

    try:
        return parse_shard(text)
    except ValueError as exc:
        raise fail(f"gateconform: {exc}")


def _select_or_exit(versions: str, pre: bool) -> list[str]:
    from harness.targets.errors import ReleaseError

    try:
        selection = _GATEWAY.releases.select(versions, include_prereleases=pre, local_target=True)
    except ReleaseError as exc:
        raise fail(f"gateconform: {exc}")
    for note in selection.notes:
        err.print(f"note: {note}", highlight=False)
    return selection.versions
