"""`gateconform bisect SCENARIO --good V --bad V`: the last good and first bad release.

With --good newer than --bad, the last bad and first good: the release where it was fixed.
Heavy modules (runner, targets) are imported inside the command so `gateconform run` stays fast.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Optional

import typer

from harness.cli import console
from harness.cli.console import err, fail, out
from harness.cli.oracle_option import ORACLE_HELP, in_oracle_mode_or_exit
from harness.cli.release_options import (
    DEPS_HELP, deps_or_exit, exit_if_not_written, load_scenarios_or_exit, writable_or_exit,
)
from harness.model.exit_codes import ExitCode
from harness.report import registry as renderers

if TYPE_CHECKING:
    from harness.engine.events import EventSink
    from harness.model.bisect import BisectResult, ReleaseVerdict
    from harness.model.scenario import Scenario


def register(app: typer.Typer) -> None:
    """Add `bisect` to the `gateconform` app."""
    app.command("bisect")(bisect)


# --------------------------------------------------------------------------- bisect


def bisect(
    scenario_path: Path = typer.Argument(..., help="one scenario file"),
    good: str = typer.Option(
        ..., "--good", help="a release where the scenario passes (or cannot apply); newer than --bad: find the fix"
    ),
    bad: str = typer.Option(..., "--bad", help="a release where it fails (latest allowed)"),
    check: Optional[str] = typer.Option(
        None, "--check", help="bisect one check id (scenario::principal::probe[::model][::variant]) instead of all"
    ),
    report_dir: Optional[Path] = typer.Option(None, "--report-dir", help="default reports/bisect-<time>/"),
    deps: str = typer.Option("auto", "--deps", help=DEPS_HELP),
    oracle: Optional[str] = typer.Option(None, "--oracle", help=ORACLE_HELP),
) -> None:
    """Binary-search the releases between --good and --bad for the one where the verdict changed.

    --good older than --bad: the last good and first bad release (since when is it broken?).
    --good newer than --bad: the last bad and first good release (in which release was it fixed?).

    Exit code: 0 an answer (first bad or first good release, "always bad" or "still bad"),
    1 the --bad release does not fail (nothing to search), 2 undecided (releases could not be
    tested) or bad input.
    """
    deps = deps_or_exit(deps)
    scenario = in_oracle_mode_or_exit(oracle, load_scenarios_or_exit([scenario_path]))[0]
    candidates, fixed = _bisect_candidates_or_exit(good, bad)
    _check_exists_or_exit(scenario, check, (candidates[0], candidates[-1]))

    from harness.compare.bisect import BisectOutcome, bisect_fix, bisect_releases
    from harness.common.files import OutputError
    from harness.compare.release_run import EnvironmentPrefetcher

    writable_or_exit(report_dir)
    folder = report_dir or Path("reports") / f"bisect-{time.strftime('%Y%m%d-%H%M%S')}"
    progress = console.progress(nested_indent="  ")  # a release's lines under its "testing" line
    what = f"check {check}" if check else f"scenario {scenario.id}"
    ends = (f"{candidates[0]} (bad) .. {candidates[-1]} (good), looking for the fix" if fixed
            else f"{candidates[0]} (good) .. {candidates[-1]} (bad)")
    progress(f"bisect {what}: {ends}, {len(candidates)} releases, dependencies {deps} → {folder}")
    search = bisect_fix if fixed else bisect_releases
    timings: dict[str, float] = {}
    write_errors: list[str] = []
    verdict_for = _release_verdicts(scenario, check, folder, progress, timings, deps, write_errors)
    try:
        with EnvironmentPrefetcher(progress, deps) as prefetcher:
            result = search(candidates, verdict_for, progress, prefetcher.prefetch)
    except KeyboardInterrupt:
        err.print("interrupted: the proxy was stopped")
        raise typer.Exit(ExitCode.INTERRUPTED)
    # first: the answer is in memory, whatever happens to the files
    renderers.show(renderers.BISECT, result, out, check=check, timings=timings)
    try:
        written = _write_bisect_documents(folder, scenario, check, candidates, result, timings,
                                          progress.elapsed_s, deps)
        out.print(f"report: {written}", highlight=False, soft_wrap=True)  # paths stay copyable
    except OutputError as exc:
        write_errors.append(str(exc))
    out.print(f"bisect took {progress.elapsed_s / 60:.1f} min ({len(result.tested)} release(s) tested)")
    exit_if_not_written(write_errors, "answer")
    code = {BisectOutcome.NOT_REPRODUCED: ExitCode.FOUND, BisectOutcome.UNDECIDED: ExitCode.UNDECIDED}.get(result.outcome, ExitCode.OK)
    raise typer.Exit(code)


def _check_exists_or_exit(scenario: "Scenario", check: str | None, ends: tuple[str, str]) -> None:
    """Refuse a `--check` that is not a check of the scenario in its oracle mode on either end of
    the search (a derived check can depend on the release), with the nearest spelling."""
    if check is None:
        return
    from harness.common.spelling import closest_spelling
    from harness.gateways import registry
    from harness.oracle import checks_for_mode

    gateway = registry.gateway(scenario.gateway or registry.default_name())
    ids = list(dict.fromkeys(c.id for version in ends for c in checks_for_mode(scenario, None, gateway, version).checks))
    if check not in ids:
        hint = closest_spelling(check, ids)
        suggestion = f" (did you mean '{hint}'?)" if hint else f"; its checks: {', '.join(ids)}"
        raise fail(f"gateconform: --check {check!r} is not a check of {scenario.id}{suggestion}")


def _bisect_candidates_or_exit(good: str, bad: str) -> tuple[list[str], bool]:
    """The releases to search, oldest first, and whether this looks for a fix (--good is newer).

    [good, every final release strictly between, bad], or [bad, …, good] for a fix; each end
    checked against the default gateway's published list (`ReleaseCatalogue.bisect_range`).
    """
    from harness.gateways import registry
    from harness.targets.errors import ReleaseError

    try:
        ends = registry.default_gateway().releases.bisect_range(good, bad)
    except ReleaseError as exc:
        raise fail(f"gateconform: {exc}")
    for note in ends.notes:
        err.print(f"note: {note}", highlight=False, markup=False)
    if ends.good == ends.bad:
        raise fail(f"gateconform: --good and --bad are the same release ({ends.good}): one must be older "
                   "(--good older: where it broke; --good newer: where it was fixed)")
    if ends.good_is_newer:
        return [ends.bad, *ends.between, ends.good], True
    return [ends.good, *ends.between, ends.bad], False


def _release_verdicts(
    scenario: "Scenario",
    check: str | None,
    folder: Path,
    events: "EventSink",
    timings: dict[str, float],
    deps: str = "auto",
    write_errors: list[str] | None = None,
) -> Callable[[str], "ReleaseVerdict"]:
    """The real `verdict_for`: run the scenario on the release and classify what it showed.

    A release's documents that could not be written are named in `write_errors` (its verdict
    still counts: it was tested). What happens on the release reaches `events`.
    """
    from dataclasses import replace

    from harness.compare.bisect import ReleaseState, ReleaseVerdict, classify
    from harness.compare.release_run import run_on_release
    from harness.report.outputs import write_reports

    def verdict_for(version: str) -> ReleaseVerdict:
        started = time.monotonic()
        try:
            run = run_on_release(version, [scenario], events, folder / version, deps=deps, draw_reports=write_reports)
            verdict = replace(classify(run.result.scenarios[0], version, check), deps=run.deps,
                              deps_fallback=run.deps_fallback, substitutions=tuple(run.result.substitutions or ()))
            if run.write_error and write_errors is not None:
                write_errors.append(run.write_error)
        except Exception as exc:  # noqa: BLE001 - a broken release is marked, never guessed
            verdict = ReleaseVerdict(version, ReleaseState.UNTESTABLE, f"harness error: {type(exc).__name__}: {exc}")
        timings[version] = time.monotonic() - started
        return verdict

    return verdict_for


def _write_bisect_documents(
    folder: Path,
    scenario: "Scenario",
    check: str | None,
    candidates: list[str],
    result: "BisectResult",
    timings: dict[str, float],
    elapsed_s: float,
    deps: str = "auto",
) -> Path:
    """`bisect.json` (`harness.model.bisect.BisectDocument`) in `folder`; returns its path.

    Written shareable and all or nothing (`OutputError`) by `harness.store`.
    """
    from harness.common.redact import shareable_path
    from harness.model.bisect import bisect_document
    from harness.store.documents import write_bisect

    with_results = {v.version for v in result.tested if (folder / v.version / "results.json").exists()}
    document = bisect_document(
        scenario=scenario.id, scenario_path=shareable_path(scenario.path), check=check, candidates=candidates,
        result=result, timings=timings, elapsed_s=elapsed_s, deps=deps, with_results=with_results,
    )
    return write_bisect(document, folder / "bisect.json")
