"""Run a set of scenarios on one release of the default gateway: the unit of work of a matrix and a bisect.

One `ScenarioRunner` per release (target `<gateway>==V`), scenarios grouped by model list so each
list boots one proxy, and each proxy stopped as soon as its scenarios ran, so a release never
holds more than one proxy. The results document is written per release.

Dependency modes (`deps`): `today` (what installs today), `as-released` (`<gateway>==V@as-released`:
dependencies as of the release's upload date) or `auto` (a matrix's and a bisect's default):
today's first, and a release that did not install or start with them is retried once with
dependencies as released before it is called untestable. The results document says which mode
the verdicts come from (`deps`) and, after a retry, why today's did not do (`deps_fallback`).

What happens on a release reaches the caller's event sink wrapped in `InRelease(version, …)`:
the runner's events and the notes said here (`ReleaseNote`: a retry, a file not written).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

from harness.engine.events import Event, EventSink, InRelease, ReleaseNote
from harness.gateways import registry
from harness.model.reasons import NotRunReason
from harness.model.results import RunResult
from harness.model.scenario import Scenario
from harness.model.target import LOCAL, TargetSpec
from harness.store.documents import write_results

#: Draws a release's reports from its results document into a folder (`report.outputs.write_reports`).
DrawReports = Callable[[RunResult, Path], object]

DEPS_TODAY = "today"
DEPS_AS_RELEASED = "as-released"
#: today's dependencies, then dependencies as released if the release did not install or start
DEPS_AUTO = "auto"
RELEASE_DEPS_MODES = (DEPS_AUTO, DEPS_TODAY, DEPS_AS_RELEASED)


@dataclass
class ReleaseRun:
    """What running the scenarios on one release gave."""

    version: str
    result: RunResult
    elapsed_s: float
    results_path: Path | None = None
    #: the dependency mode the verdicts come from (`today` or `as-released`)
    deps: str = DEPS_TODAY
    #: why today's dependencies did not do, when the release was retried as released
    deps_fallback: str | None = None
    #: secrets the runner knew (master key …): checked absent from the written documents
    secrets: list[str] = field(default_factory=list, repr=False)
    #: why its results document or reports could not be written (the verdicts are still here)
    write_error: str | None = None


def release_spec(version: str, deps: str) -> str:
    """The target spec of `version` of the default gateway, run locally with dependencies `deps`."""
    return TargetSpec(LOCAL, _gateway_name(), version, deps).normalised


def _gateway_name() -> str:
    return registry.default_name()


def did_not_start(result: RunResult) -> str | None:
    """Why the release could not be tested at all (the first line), if no scenario got a proxy.

    Only a target that did not install or start counts: a provisioning error on a running proxy
    is the release's behaviour, and other dependencies would not change it.
    """
    scenarios = result.scenarios
    if not scenarios or not all(s.error and s.error_reason and s.error_reason.target_did_not_run for s in scenarios):
        return None
    return _why(scenarios[0].error or "")


def _why(error: str) -> str:
    """The telling line of a start failure: an `…Error:` line of the log tail, else the first line."""
    lines = [line.strip() for line in error.strip().splitlines() if line.strip()]
    for line in reversed(lines):
        head = line.split(":", 1)[0]
        if head.endswith(("Error", "Exception")) and " " not in head and "No module named 'proxy_server'" not in line:
            return line
    return lines[0] if lines else error


def run_with_deps(
    version: str,
    deps: str,
    attempt: Callable[[str], ReleaseRun],
    events: EventSink,
) -> ReleaseRun:
    """Run a release in dependency mode `deps`; `auto` retries as released once if today's did not start.

    `attempt(mode)` runs the release with `today` or `as-released` dependencies (a fake in tests);
    a retry is announced to `events` as a `ReleaseNote`.
    """
    if deps not in RELEASE_DEPS_MODES:
        raise ValueError(f"unknown dependency mode {deps!r} (use {', '.join(RELEASE_DEPS_MODES)})")
    if deps != DEPS_AUTO:
        run = attempt(deps)
        run.deps = deps
        return run
    first = attempt(DEPS_TODAY)
    first.deps = DEPS_TODAY
    why = did_not_start(first.result)
    if why is None:
        return first
    events(ReleaseNote(version, f"{_gateway_name()} {version} did not start with today's dependencies ({why}); "
                                "retrying once with dependencies as released"))
    second = attempt(DEPS_AS_RELEASED)
    second.deps = DEPS_AS_RELEASED
    second.deps_fallback = why
    second.elapsed_s += first.elapsed_s
    second.result.deps_fallback = f"today's dependencies did not start: {why}"
    return second


def run_on_release(
    version: str,
    scenarios: Sequence[Scenario],
    events: EventSink,
    out_dir: Path | None = None,
    cancel: threading.Event | None = None,
    runner_started: Callable[[object], None] | None = None,
    deps: str = DEPS_TODAY,
    draw_reports: DrawReports | None = None,
) -> ReleaseRun:
    """Run `scenarios` on `<gateway>==version`; never raises for a release that cannot boot.

    A release that cannot be installed or started gives a results document whose scenarios
    carry the error (ERROR verdicts), exactly as `gateconform run` would. `cancel` stops before
    the next scenario; `runner_started` lets the caller stop the runner's proxies from another
    thread (Ctrl-C in a matrix). `deps`: `today`, `as-released` or `auto` (see the module doc);
    the results document written is the one of the attempt that counts. `draw_reports(result,
    folder)` draws the human-facing reports next to it (the caller's choice: compare never draws).
    Everything that happens reaches `events` wrapped in `InRelease(version, …)`.
    """

    def in_release(event: Event) -> None:
        events(InRelease(version, event))

    def attempt(mode: str) -> ReleaseRun:
        return _run_once(version, scenarios, in_release, mode, cancel, runner_started)

    run = run_with_deps(version, deps, attempt, in_release)
    if out_dir is not None:
        run.results_path = write_release_documents(run, out_dir, in_release, draw_reports)
    return run


def _run_once(
    version: str,
    scenarios: Sequence[Scenario],
    events: EventSink,
    deps: str,
    cancel: threading.Event | None,
    runner_started: Callable[[object], None] | None,
) -> ReleaseRun:
    from harness.engine.runner import ScenarioRunner

    started = time.monotonic()
    with ScenarioRunner(release_spec(version, deps), events=events) as runner:
        if runner_started is not None:
            runner_started(runner)
        result = runner.run_all(scenarios, cancel=cancel)
        secrets = list(runner.redactor.secrets)
    return ReleaseRun(version, result, time.monotonic() - started, deps=deps, secrets=secrets)


def write_release_documents(run: ReleaseRun, out_dir: Path, events: EventSink,
                     draw_reports: DrawReports | None) -> Path | None:
    """results.json and the reports of `run`; the path of results.json, or None if not written.

    A folder that cannot be written (disk full …) is recorded in `run.write_error` and told to
    `events`: the release was tested, its verdicts stay in `run.result` for the matrix or the bisect.
    """
    from harness.common.files import OutputError

    def not_written(what: str, why: object) -> None:
        events(ReleaseNote(run.version, f"{what} not written for {_gateway_name()} {run.version}: {why}"))

    try:
        path = write_results(run.result, out_dir / "results.json", secrets=run.secrets)
    except OutputError as exc:
        run.write_error = str(exc)
        not_written("results", exc)
        return None
    if draw_reports is None:
        return path
    try:
        draw_reports(run.result, out_dir)
    except OutputError as exc:
        run.write_error = str(exc)
        not_written("reports", exc)
    except Exception as exc:  # noqa: BLE001 - results.json is written; a report bug must not
        # turn a tested release into an untestable one
        not_written("reports", f"{type(exc).__name__}: {exc}")
    return path


def failed_release_run(version: str, scenarios: Sequence[Scenario], error: str, elapsed_s: float = 0.0) -> ReleaseRun:
    """A release the harness itself could not run (an unexpected exception): every check ERROR."""
    from harness.oracle.explicit import checks_for
    from harness.common.redact import shareable_path
    from harness.model.results import ScenarioResult

    result = RunResult.new(target=release_spec(version, DEPS_TODAY), gateway=_gateway_name())
    for scenario in scenarios:
        result.scenarios.append(ScenarioResult.failed(
            id=scenario.id, title=scenario.title, issue=scenario.issue,
            path=shareable_path(scenario.path), source=scenario.source_text, models=scenario.model_names,
            checks=checks_for(scenario), error=error, reason=NotRunReason.HARNESS_ERROR,
        ))
    result.finish()
    return ReleaseRun(version, result, elapsed_s)


class EnvironmentPrefetcher:
    """Builds release environments in the background while another release is being tested.

    A bisect knows which releases it may test next (one per possible answer); building their
    environments (uv install + prisma generate, ~10–20 s each) while the current proxy boots and
    runs saves that time on every step. One build at a time, so it never competes with more than
    one proxy boot for the cores. Failures are ignored here: the real test hits them again and
    marks the release untestable with the reason.
    """

    def __init__(self, events: EventSink, deps: str = DEPS_TODAY) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self._events = events
        # `auto` tries today's dependencies first: those are the environments worth building ahead
        self._deps = DEPS_AS_RELEASED if deps == DEPS_AS_RELEASED else DEPS_TODAY
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="prefetch")
        # Only the latest announcement counts: builds queued for an earlier step whose answer
        # is known by now would be wasted work, so they turn into no-ops.
        self._wanted: frozenset[str] = frozenset()

    def prefetch(self, versions: Sequence[str]) -> None:
        """Build environments for `versions` in the background (cached ones are no-ops)."""
        self._wanted = frozenset(versions)
        for version in versions:
            self._pool.submit(self._build, version)

    def _build(self, version: str) -> None:
        from harness.common.cache_root import default_cache_root

        if version not in self._wanted:
            return
        gateway = registry.default_gateway()
        started = time.monotonic()
        try:
            built = gateway.prepare_local(version, self._deps, default_cache_root())
        except Exception as exc:  # noqa: BLE001 - reported when the release itself is tested
            self._events(ReleaseNote(version, f"(background) environment for {gateway.name} {version} did not "
                                              f"build: {str(exc).splitlines()[0]}"))
            return
        if built:
            self._events(ReleaseNote(version, f"(background) environment for {gateway.name} {version} ready in "
                                              f"{time.monotonic() - started:.0f} s"))

    def close(self) -> None:
        """Drop queued builds and wait for the one in progress (a uv or prisma child process)."""
        self._pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> "EnvironmentPrefetcher":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
