"""What the commands share: the --deps option, the report folder check, loading scenarios, files not written."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from harness.cli.console import err, fail

if TYPE_CHECKING:
    from harness.model.scenario import Scenario

DEPS_HELP = (
    "dependencies: 'auto' (default: today's, and a release that does not install or start with them is "
    "retried once with dependencies as released), 'today' (what pip installs today) or 'as-released' "
    "(as of each release's upload date: uv --exclude-newer)"
)


def deps_or_exit(deps: str) -> str:
    """`deps` if it names a dependency mode, else exit 2 saying which ones there are."""
    from harness.compare.release_run import RELEASE_DEPS_MODES

    if deps not in RELEASE_DEPS_MODES:
        raise fail(f"gateconform: --deps {deps!r}: use {', '.join(RELEASE_DEPS_MODES)}")
    return deps


def writable_or_exit(report_dir: Path | None) -> None:
    """Exit 2 now if reports cannot be written into `--report-dir` (default: under reports/):
    a matrix or a bisect costs minutes to hours."""
    from harness.common.files import OutputError, check_folder

    try:
        check_folder(report_dir or Path("reports"))
    except OutputError as exc:
        hint = "" if report_dir else "choose another folder with --report-dir; "
        raise fail(f"gateconform: {exc} ({hint}nothing was started)")


def folder_and_jobs(report_dir: Path | None, kind: str, jobs: int | None) -> tuple[Path, int]:
    """Where a run across releases writes (`--report-dir`, default `reports/<kind>-<time>/`; checked
    writable now, exit 2 if not) and how many releases it runs at once (default: one per core)."""
    import time

    from harness.compare.matrix import default_jobs

    writable_or_exit(report_dir)
    return report_dir or Path("reports") / f"{kind}-{time.strftime('%Y%m%d-%H%M%S')}", jobs or default_jobs()


def exit_if_not_written(write_errors: list[str], what: str) -> None:
    """Name every file that could not be written and exit 2; `what` (printed above) is complete."""
    if not write_errors:
        return
    for message in write_errors:
        err.print(f"gateconform: {message}", highlight=False, markup=False)
    raise fail(f"gateconform: the {what} above is complete; the files named were not written "
               "(no partial file was left)")


def load_scenarios_or_exit(paths: list[Path]) -> list["Scenario"]:
    from harness.scenario.loader import ScenarioError, load_scenarios

    try:
        scenarios = load_scenarios(paths)
    except ScenarioError as exc:
        raise fail(str(exc))
    if not scenarios:
        raise fail("gateconform: no scenario files found in " + ", ".join(map(str, paths)))
    return scenarios
