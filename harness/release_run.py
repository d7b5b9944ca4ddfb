"""Run a set of scenarios on one LiteLLM release: the unit of work of a matrix and a bisect.

One `ScenarioRunner` per release (target `litellm==V`), scenarios grouped by model list so each
list boots one proxy, and each proxy stopped as soon as its scenarios ran, so a release never
holds more than one proxy. The results document is written per release.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from harness.results import RunResult
from harness.scenario.model import Scenario

Log = Callable[[str], None]


@dataclass
class ReleaseRun:
    """What running the scenarios on one release gave."""

    version: str
    result: RunResult
    elapsed_s: float
    results_path: Path | None = None


def run_on_release(
    version: str,
    scenarios: Sequence[Scenario],
    log: Log,
    out_dir: Path | None = None,
    cancel: threading.Event | None = None,
    runner_started: Callable[[object], None] | None = None,
) -> ReleaseRun:
    """Run `scenarios` on `litellm==version`; never raises for a release that cannot boot.

    A release that cannot be installed or started gives a results document whose scenarios
    carry the error (ERROR verdicts), exactly as `gateconform run` would. `cancel` stops before
    the next scenario; `runner_started` lets the caller stop the runner's proxies from another
    thread (Ctrl-C in a matrix).
    """
    from harness.report.outputs import write_reports
    from harness.runner import ScenarioRunner

    started = time.monotonic()
    spec = f"litellm=={version}"
    with ScenarioRunner(spec, log=log) as runner:
        if runner_started is not None:
            runner_started(runner)
        result = runner.run_all(scenarios, cancel=cancel)
        results_path = None
        if out_dir is not None:
            results_path = result.write(out_dir / "results.json", secrets=runner.redactor.secrets)
            try:
                write_reports(result, out_dir)
            except Exception as exc:  # noqa: BLE001 - results.json is written; a report bug must not
                # turn a tested release into an untestable one
                log(f"reports not written for litellm {version}: {type(exc).__name__}: {exc}")
    return ReleaseRun(version, result, time.monotonic() - started, results_path)


def failed_release_run(version: str, scenarios: Sequence[Scenario], error: str, elapsed_s: float = 0.0) -> ReleaseRun:
    """A release the harness itself could not run (an unexpected exception): every check ERROR."""
    from harness.oracle.explicit import checks_for
    from harness.results import ScenarioResult

    result = RunResult.new(target=f"litellm=={version}")
    for scenario in scenarios:
        result.scenarios.append(ScenarioResult.failed(
            id=scenario.id, title=scenario.title, issue=scenario.issue,
            path=str(scenario.path) if scenario.path else None, source=scenario.source_text,
            checks=checks_for(scenario), error=error,
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

    def __init__(self, log: Log) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self._log = log
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
        from harness.targets.environments import default_cache_root, ensure_environment, find_complete_environment
        from harness.targets.wasm_engine import ensure_wasm_engine

        root = default_cache_root()
        if version not in self._wanted or find_complete_environment(root, version) is not None:
            return
        started = time.monotonic()
        try:
            engine = ensure_wasm_engine(root)
            ensure_environment(version, root, engine.env())
        except Exception as exc:  # noqa: BLE001 - reported when the release itself is tested
            self._log(f"(background) environment for litellm {version} did not build: {str(exc).splitlines()[0]}")
            return
        self._log(f"(background) environment for litellm {version} ready in {time.monotonic() - started:.0f} s")

    def close(self) -> None:
        """Drop queued builds and wait for the one in progress (a uv or prisma child process)."""
        self._pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> "EnvironmentPrefetcher":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
