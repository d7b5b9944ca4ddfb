"""`gateconform releases | matrix | bisect | cache`: working across LiteLLM releases.

- `releases [SELECTION]`: what PyPI serves (compromised releases never listed), oldest first;
- `matrix PATHS --versions …`: every scenario on every release, a table of verdicts;
- `bisect SCENARIO --good V --bad V`: the last good and first bad release (or, with --good
  newer than --bad, the last bad and first good: where it was fixed);
- `cache list|prune`: the per-release environments on disk.

Heavy modules (runner, targets) are imported inside the commands so `gateconform run` stays fast.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

if TYPE_CHECKING:
    from harness.compare.bisect import BisectResult, ReleaseVerdict
    from harness.model.scenario import Scenario

out = Console()
err = Console(stderr=True, soft_wrap=True)

EXIT_OK, EXIT_FAIL, EXIT_ERROR = 0, 1, 2
#: A matrix over more releases than this needs --max-releases: each release costs minutes.
DEFAULT_MAX_RELEASES = 25
_STATE_STYLE = {"good": "green", "bad": "bold red", "not applicable": "yellow", "untestable": "magenta"}

cache_app = typer.Typer(no_args_is_help=True, help="The per-release environments on disk.")

_DEPS_HELP = (
    "dependencies: 'auto' (default: today's, and a release that does not install or start with them is "
    "retried once with dependencies as released), 'today' (what pip installs today) or 'as-released' "
    "(as of each release's upload date: uv --exclude-newer)"
)


def _deps_or_exit(deps: str) -> str:
    from harness.compare.release_run import RELEASE_DEPS_MODES

    if deps not in RELEASE_DEPS_MODES:
        raise _fail(f"gateconform: --deps {deps!r}: use {', '.join(RELEASE_DEPS_MODES)}")
    return deps


class _Progress:
    """Progress lines on stderr, each with the time since the command started."""

    def __init__(self) -> None:
        self.started = time.monotonic()

    def __call__(self, message: str) -> None:
        err.print(f"[dim]{time.monotonic() - self.started:7.1f}s[/dim] {escape(message)}", highlight=False)

    @property
    def elapsed_s(self) -> float:
        return time.monotonic() - self.started


def _fail(message: str, code: int = EXIT_ERROR) -> typer.Exit:
    err.print(message, highlight=False, markup=False)
    return typer.Exit(code)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the `gateconform` app."""
    app.command("releases")(releases)
    app.command("matrix")(matrix)
    app.command("bisect")(bisect)
    app.add_typer(cache_app, name="cache")


# --------------------------------------------------------------------------- releases


def releases(
    selection: Optional[str] = typer.Argument(
        None, help="e.g. 1.80.0..1.83.0, or 1.80.0,1.82.3,latest (default: every release)"
    ),
    pre: bool = typer.Option(False, "--pre", help="include pre-releases (rc, dev) in ranges"),
) -> None:
    """List LiteLLM releases from PyPI, oldest first (compromised releases are never listed)."""
    from harness.gateways.litellm.release_list import published_releases, release_list_lines, select_releases
    from harness.targets.errors import ReleaseError

    try:
        if selection:
            chosen = select_releases(selection, include_prereleases=pre)
            versions, notes = chosen.versions, chosen.notes
        else:
            versions, notes = [str(v) for v in published_releases().finals(pre)], []
    except ReleaseError as exc:
        raise _fail(f"gateconform: {exc}")
    for line in release_list_lines(versions):
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
    deps: str = typer.Option("auto", "--deps", help=_DEPS_HELP),
) -> None:
    """Run every scenario on every chosen release; print scenarios × releases.

    Exit code: 0 every cell passed (or skipped), 1 a cell failed, 2 a release or check could
    not be tested.
    """
    deps = _deps_or_exit(deps)
    scenarios = _load_scenarios_or_exit(paths)
    selected = _select_or_exit(versions, pre)
    if len(selected) > max_releases:
        raise _fail(f"gateconform: {len(selected)} releases selected ({selected[0]} … {selected[-1]}); "
                    f"narrow --versions or pass --max-releases {len(selected)}")

    from harness.compare.matrix import default_jobs, run_matrix
    from harness.report.outputs import write_reports
    from harness.report.matrix_text import change_lines, release_errors, terminal_table
    from harness.common.files import OutputError
    from harness.report import outputs

    _writable_or_exit(report_dir)
    jobs = jobs or default_jobs()
    folder = report_dir or Path("reports") / f"matrix-{time.strftime('%Y%m%d-%H%M%S')}"
    progress = _Progress()
    progress(f"{len(scenarios)} scenario(s) × {len(selected)} release(s) ({', '.join(selected)}), "
             f"{min(jobs, len(selected))} at a time → {folder}")
    try:
        finished = run_matrix(selected, scenarios, folder, jobs, progress, deps, draw_reports=write_reports)
    except KeyboardInterrupt:
        err.print("interrupted: every proxy started by the matrix was stopped")
        raise typer.Exit(130)
    document = finished.document
    out.print(terminal_table(document))  # first: the verdicts are in memory, whatever happens to the files
    for line in change_lines(document):
        out.print(f"changed: {escape(line)}", highlight=False)
    for line in release_errors(document):
        out.print(f"[bold magenta]could not test[/] {escape(line)}", highlight=False)
    for line in deps_lines(document.releases.values()):
        out.print(escape(line), highlight=False)
    out.print(f"matrix: {len(selected)} release(s) in {finished.elapsed_s:.0f} s with {jobs} job(s)")
    written = [finished.matrix_json] if finished.matrix_json else []
    write_errors = list(finished.write_errors)
    for write, name in ((outputs.write_matrix_markdown, outputs.MATRIX_MARKDOWN_NAME),
                        (outputs.write_matrix_html, outputs.MATRIX_HTML_NAME)):
        try:
            written.append(write(document, folder / name))
        except OutputError as exc:
            write_errors.append(str(exc))
        except Exception as exc:  # noqa: BLE001 - matrix.json holds the verdicts; a page bug must not lose them
            err.print(f"{name} not written: {type(exc).__name__}: {exc}", highlight=False, markup=False)
    for path in written:
        out.print(f"report: {path}", highlight=False)
    if write_errors:
        for message in write_errors:
            err.print(f"gateconform: {message}", highlight=False, markup=False)
        raise _fail("gateconform: the matrix above is complete; the files named were not written "
                    "(no partial file was left)")
    raise typer.Exit({"pass": EXIT_OK, "fail": EXIT_FAIL}.get(document.overall, EXIT_ERROR))


def _writable_or_exit(report_dir: Path | None) -> None:
    """Exit 2 now if reports cannot be written into `--report-dir` (default: under reports/):
    a matrix or a bisect costs minutes to hours."""
    from harness.common.files import OutputError, check_folder

    try:
        check_folder(report_dir or Path("reports"))
    except OutputError as exc:
        hint = "" if report_dir else "choose another folder with --report-dir; "
        raise _fail(f"gateconform: {exc} ({hint}nothing was started)")


def deps_lines(releases: "Iterable[object]") -> list[str]:
    """One line per release tested with dependencies as released (and why), for the terminal."""
    lines = []
    for release in releases:
        if getattr(release, "deps", None) != "as-released":
            continue
        fallback = getattr(release, "deps_fallback", None)
        why = f" (retried: today's did not start: {_short(fallback, 120)})" if fallback else ""
        lines.append(f"dependencies as released: {getattr(release, 'version', '?')}{why}")
    return lines


def _load_scenarios_or_exit(paths: list[Path]) -> list["Scenario"]:
    from harness.scenario.loader import ScenarioError, load_scenarios

    try:
        scenarios = load_scenarios(paths)
    except ScenarioError as exc:
        raise _fail(str(exc))
    if not scenarios:
        raise _fail("gateconform: no scenario files found in " + ", ".join(map(str, paths)))
    return scenarios


def _select_or_exit(versions: str, pre: bool) -> list[str]:
    from harness.gateways.litellm.release_list import select_releases
    from harness.targets.errors import ReleaseError

    try:
        selection = select_releases(versions, include_prereleases=pre, local_target=True)
    except ReleaseError as exc:
        raise _fail(f"gateconform: {exc}")
    for note in selection.notes:
        err.print(f"note: {note}", highlight=False)
    return selection.versions


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
    deps: str = typer.Option("auto", "--deps", help=_DEPS_HELP),
) -> None:
    """Binary-search the releases between --good and --bad for the one where the verdict changed.

    --good older than --bad: the last good and first bad release (since when is it broken?).
    --good newer than --bad: the last bad and first good release (in which release was it fixed?).

    Exit code: 0 an answer (first bad or first good release, "always bad" or "still bad"),
    1 the --bad release does not fail (nothing to search), 2 undecided (releases could not be
    tested) or bad input.
    """
    deps = _deps_or_exit(deps)
    scenario = _load_scenarios_or_exit([scenario_path])[0]
    _check_exists_or_exit(scenario, check)
    candidates, fixed = _bisect_candidates_or_exit(good, bad)

    from harness.compare.bisect import BisectOutcome, bisect_fix, bisect_releases
    from harness.common.files import OutputError
    from harness.compare.release_run import EnvironmentPrefetcher

    _writable_or_exit(report_dir)
    folder = report_dir or Path("reports") / f"bisect-{time.strftime('%Y%m%d-%H%M%S')}"
    progress = _Progress()
    what = f"check {check}" if check else f"scenario {scenario.id}"
    ends = (f"{candidates[0]} (bad) .. {candidates[-1]} (good), looking for the fix" if fixed
            else f"{candidates[0]} (good) .. {candidates[-1]} (bad)")
    progress(f"bisect {what}: {ends}, {len(candidates)} releases, dependencies {deps} → {folder}")
    search = bisect_fix if fixed else bisect_releases
    timings: dict[str, float] = {}
    write_errors: list[str] = []
    verdict_for = _release_verdicts(scenario, check, folder, progress, timings, deps, write_errors)

    def announce(version: str, step: int, total: int) -> None:
        progress(f"testing {version} — {step} of ~{total}")

    try:
        with EnvironmentPrefetcher(progress, deps) as prefetcher:
            result = search(candidates, verdict_for, announce, prefetcher.prefetch)
    except KeyboardInterrupt:
        err.print("interrupted: the proxy was stopped")
        raise typer.Exit(130)
    _print_bisect(result, check, timings)  # first: the answer is in memory, whatever happens to the files
    try:
        written = _write_bisect_documents(folder, scenario, check, candidates, result, timings,
                                          progress.elapsed_s, deps)
        out.print(f"report: {written}", highlight=False)
    except OutputError as exc:
        write_errors.append(str(exc))
    out.print(f"bisect took {progress.elapsed_s / 60:.1f} min ({len(result.tested)} release(s) tested)")
    if write_errors:
        for message in write_errors:
            err.print(f"gateconform: {message}", highlight=False, markup=False)
        raise _fail("gateconform: the answer above is complete; the files named were not written "
                    "(no partial file was left)")
    code = {BisectOutcome.NOT_REPRODUCED: EXIT_FAIL, BisectOutcome.UNDECIDED: EXIT_ERROR}.get(result.outcome, EXIT_OK)
    raise typer.Exit(code)


def _check_exists_or_exit(scenario: "Scenario", check: str | None) -> None:
    if check is None:
        return
    from harness.oracle.explicit import checks_for
    from harness.common.spelling import closest_spelling

    ids = [c.id for c in checks_for(scenario)]
    if check not in ids:
        hint = closest_spelling(check, ids)
        suggestion = f" (did you mean '{hint}'?)" if hint else f"; its checks: {', '.join(ids)}"
        raise _fail(f"gateconform: --check {check!r} is not a check of {scenario.id}{suggestion}")


def _bisect_candidates_or_exit(good: str, bad: str) -> tuple[list[str], bool]:
    """The releases to search, oldest first, and whether this looks for a fix (--good is newer).

    [good, every final release strictly between, bad], or [bad, …, good] for a fix; each end
    checked against PyPI's list.
    """
    from packaging.version import Version

    from harness.gateways.litellm.release_list import ExactItem, parse_selection, published_releases, select_releases
    from harness.targets.errors import ReleaseError
    from harness.gateways.litellm.releases import LATEST, refuse_too_old_for_local

    try:
        for end in (good, bad):  # compromised, malformed or too old for the local target: refused before any lookup
            for item in parse_selection(end):
                if isinstance(item, ExactItem) and item.version != LATEST:
                    refuse_too_old_for_local(item.version)
        releases = published_releases()
        ends = [select_releases(end, releases, local_target=True) for end in (good, bad)]
    except ReleaseError as exc:
        raise _fail(f"gateconform: {exc}")
    good_v, bad_v = ends[0].versions[0], ends[1].versions[0]
    for note in dict.fromkeys(note for end in ends for note in end.notes):
        err.print(f"note: {note}", highlight=False, markup=False)
    if Version(good_v) == Version(bad_v):
        raise _fail(f"gateconform: --good and --bad are the same release ({good_v}): one must be older "
                    "(--good older: where it broke; --good newer: where it was fixed)")
    if Version(good_v) > Version(bad_v):
        return [bad_v, *releases.strictly_between(bad_v, good_v), good_v], True
    return [good_v, *releases.strictly_between(good_v, bad_v), bad_v], False


def _release_verdicts(
    scenario: "Scenario",
    check: str | None,
    folder: Path,
    log: Callable[[str], None],
    timings: dict[str, float],
    deps: str = "auto",
    write_errors: list[str] | None = None,
) -> Callable[[str], "ReleaseVerdict"]:
    """The real `verdict_for`: run the scenario on the release and classify what it showed.

    A release's documents that could not be written are named in `write_errors` (its verdict
    still counts: it was tested).
    """
    from dataclasses import replace

    from harness.compare.bisect import ReleaseState, ReleaseVerdict, classify
    from harness.compare.release_run import run_on_release
    from harness.report.outputs import write_reports

    def verdict_for(version: str) -> ReleaseVerdict:
        started = time.monotonic()
        try:
            run = run_on_release(version, [scenario], lambda m: log(f"  [{version}] {m}"), folder / version,
                                 deps=deps, draw_reports=write_reports)
            verdict = replace(classify(run.result.scenarios[0], version, check), deps=run.deps,
                              deps_fallback=run.deps_fallback)
            if run.write_error and write_errors is not None:
                write_errors.append(run.write_error)
        except Exception as exc:  # noqa: BLE001 - a broken release is marked, never guessed
            verdict = ReleaseVerdict(version, ReleaseState.UNTESTABLE, f"harness error: {type(exc).__name__}: {exc}")
        timings[version] = time.monotonic() - started
        style = _STATE_STYLE[verdict.state.value]
        as_released = " [dim](dependencies as released)[/]" if verdict.deps == "as-released" else ""
        err.print(f"  {version}: [{style}]{verdict.state.value}[/]{as_released} — {escape(_short(verdict.reason))} "
                  f"[dim]({timings[version]:.0f} s)[/]", highlight=False)
        return verdict

    return verdict_for


def _short(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _print_bisect(result: "BisectResult", check: str | None, timings: dict[str, float]) -> None:
    from harness.compare.bisect import side_by_side

    out.print(f"[bold]bisect: {result.outcome.value}[/] — {escape(result.message)}", highlight=False)
    older, newer = result.older, result.newer
    if older is not None and newer is not None:
        table = Table(title="observations side by side (changed rows in bold)", title_justify="left")
        table.add_column("check", overflow="fold")
        table.add_column(f"{older.version} ({older.state.value})", overflow="fold")
        table.add_column(f"{newer.version} ({newer.state.value})", overflow="fold")
        for row in side_by_side(older, newer):
            if check and row.check_id != check:
                continue
            mark = "[bold]" if row.differs else "[dim]"
            table.add_row(f"{mark}{escape(row.title)}[/]", f"{mark}{escape(row.before)}[/]",
                          f"{mark}{escape(row.after)}[/]")
        out.print(table)
    tested = Table(title="releases tested (in order)", title_justify="left")
    for column in ("release", "state", "deps", "why", "time"):
        tested.add_column(column, overflow="fold")
    for verdict in result.tested:
        style = _STATE_STYLE[verdict.state.value]
        deps = "as released (retried)" if verdict.deps_fallback else verdict.deps.replace("-", " ")
        tested.add_row(verdict.version, f"[{style}]{verdict.state.value}[/]", deps,
                       escape(_short(verdict.reason, 120)), f"{timings.get(verdict.version, 0):.0f} s")
    out.print(tested)
    for line in deps_lines(result.tested):
        out.print(escape(line), highlight=False)


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
    """`bisect.json`: the answer, every release tested and where its results document is.

    `direction` says what was looked for: `broke` (last_good, first_bad) or `fixed` (last_bad,
    first_good); the other pair is null. `deps` is the mode asked for (auto, today, as-released);
    each release says which dependencies it was tested with (`deps`) and, when today's did not
    start and it was retried as released, why (`deps_fallback`). Machine paths are replaced in
    every string; the file is written all or nothing (`OutputError`). Returns its path.
    """
    from harness.compare.bisect import Direction
    from harness.common.files import write_text
    from harness.common.redact import redact_machine_paths, redact_strings, shareable_path

    def release(verdict: "ReleaseVerdict | None") -> dict | None:
        if verdict is None:
            return None
        results = folder / verdict.version / "results.json"
        return {
            "version": verdict.version,
            "state": verdict.state.value,
            "reason": verdict.reason,
            "observations": dict(verdict.observations),
            "titles": dict(verdict.titles),
            "elapsed_s": round(timings.get(verdict.version, 0.0), 1),
            "results": f"{verdict.version}/results.json" if results.exists() else None,
            "deps": verdict.deps,
            "deps_fallback": verdict.deps_fallback,
        }

    document = {
        "schema_version": "gateconform.bisect/1",
        "scenario": scenario.id,
        "scenario_path": shareable_path(scenario.path),
        "check": check,
        "direction": result.direction.value,
        "good": candidates[-1] if result.direction is Direction.FIXED else candidates[0],
        "bad": candidates[0] if result.direction is Direction.FIXED else candidates[-1],
        "releases_in_range": len(candidates),
        "deps": deps,
        "outcome": result.outcome.value,
        "message": result.message,
        "last_good": release(result.last_good),
        "first_bad": release(result.first_bad),
        "last_bad": release(result.last_bad),
        "first_good": release(result.first_good),
        "untestable_between": result.untestable_between,
        "tested": [release(v) for v in result.tested],
        "elapsed_s": round(elapsed_s, 1),
    }
    return write_text(folder / "bisect.json", json.dumps(redact_strings(document, redact_machine_paths), indent=2))


# --------------------------------------------------------------------------- cache


@cache_app.command("list")
def cache_list() -> None:
    """Environments under the cache root: version, size, last use, and whether still usable."""
    from harness.gateways.litellm.cache import format_age, format_size, list_environments
    from harness.common.cache_root import default_cache_root

    root = default_cache_root()
    environments = list_environments(root)
    table = Table(title=escape(f"{root}/envs"), title_justify="left")
    table.add_column("environment (litellm version)", no_wrap=True)
    for column in ("deps", "size", "pruning frees", "last used", "state"):
        table.add_column(column)
    now = time.time()
    for env in environments:
        state = "ok" if not env.stale else ("incomplete" if not env.complete else "stale")
        deps = env.deps if not env.exclude_newer else f"{env.deps} (≤ {env.exclude_newer})"
        table.add_row(escape(env.name), escape(deps), format_size(env.size_bytes), format_size(env.own_bytes),
                      f"{format_age(now - env.last_used)} ago", state)
    out.print(table)
    total = sum(env.size_bytes for env in environments)
    own = sum(env.own_bytes for env in environments)
    out.print(f"{len(environments)} environment(s), {format_size(total)} ({format_size(own)} not shared with "
              "uv's cache)", highlight=False)


@cache_app.command("prune")
def cache_prune(
    older_than: Optional[str] = typer.Option(None, "--older-than", help="not used for this long: 30d, 12h, 2w"),
    version: list[str] = typer.Option([], "--version", help="a LiteLLM version (repeatable)"),
    stale: bool = typer.Option(False, "--stale", help="incomplete, older recipe or another Python"),
    everything: bool = typer.Option(False, "--all", help="every environment"),
    dry_run: bool = typer.Option(False, "--dry-run", help="say what would be removed, remove nothing"),
) -> None:
    """Remove environments by age, version or staleness; never one being built or used."""
    from harness.gateways.litellm.cache import format_size, list_environments, parse_age, prune, select_for_pruning
    from harness.common.cache_root import default_cache_root

    if not (older_than or version or stale or everything):
        raise _fail("gateconform cache prune: say what to remove: --older-than, --version, --stale or --all")
    try:
        older_than_s = parse_age(older_than) if older_than else None
    except ValueError as exc:
        raise _fail(f"gateconform: {exc}")
    chosen = select_for_pruning(list_environments(default_cache_root()), older_than_s=older_than_s,
                                versions=version, stale=stale, everything=everything)
    decisions = prune(chosen, dry_run=dry_run)
    freed = sum(d.environment.own_bytes for d in decisions if d.removed)
    for decision in decisions:
        verb = "removed" if decision.removed else "kept"
        out.print(f"{verb} {decision.environment.name}: {decision.reason}", highlight=False)
    out.print(f"{sum(d.removed for d in decisions)} removed, {format_size(freed)} freed", highlight=False)
