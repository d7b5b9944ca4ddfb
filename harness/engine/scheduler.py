"""Runs a run's scenarios on several proxies at once, as the machine allows, in serial order.

The unit of work stays `ScenarioRunner.run(scenario)`; what is scheduled is a *group*: the
scenarios that share a model list, hence a proxy (`harness.engine.grouping`). Up to `jobs`
groups run at once, each in a worker thread that runs its scenarios one after another on its
proxy and stops the proxy when they are done, so at most `jobs` proxies exist at any time.
Each scenario's verdicts are told (`ScenarioFinished`) the moment it finishes, in whatever order
that is; the results come back in the order a serial run gives them (groups in first-seen
order, scenarios in file order within a group), so the document is the same as a serial run's
but for timings.

`jobs` defaults from the machine (`default_jobs`): one proxy per core, as many as the memory
that is free now holds at `MEMORY_PER_PROXY_GIB` each, never more than there are groups.
"""

from __future__ import annotations

import threading
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from typing import Protocol, Sequence

from harness.common.machine import available_memory_gib, jobs_that_fit
from harness.model.results import ScenarioResult
from harness.model.proxy import ProxySpec
from harness.model.scenario import Scenario

#: Memory one proxy of a run needs while it runs: the proxy (~0.5 GiB started plainly, ~0.3 GiB
#: forked from a warm parent), its PostgreSQL, the Prisma engine under Node and the upstream.
MEMORY_PER_PROXY_GIB = 1.0
#: How often a waiting caller looks up from the workers (keeps Ctrl-C responsive).
_POLL_S = 0.5


class GroupRunner(Protocol):
    """What the scheduler needs of a runner (`harness.engine.runner.ScenarioRunner` is one)."""

    def run(self, scenario: Scenario) -> ScenarioResult: ...

    def release(self, proxy: ProxySpec) -> None: ...

    def close(self) -> None: ...


def default_jobs(groups: int | None = None, cpu_count: int | None = None, memory_gib: float | None = None) -> int:
    """Proxies to run at once on this machine: per core, within free memory, at most one per group."""
    memory = memory_gib if memory_gib is not None else available_memory_gib()
    jobs = jobs_that_fit(MEMORY_PER_PROXY_GIB, cpu_count, memory)
    return max(1, min(jobs, groups)) if groups else jobs


def run_groups(runner: GroupRunner, groups: Sequence[Sequence[Scenario]], jobs: int = 1,
               cancel: threading.Event | None = None) -> list[ScenarioResult]:
    """Every group's scenarios on its own proxy, `jobs` groups at once; results in serial order.

    `cancel` stops before the next scenario (the ones started finish). With one job nothing
    runs in another thread: exactly the serial run. With more, Ctrl-C (KeyboardInterrupt in the
    caller's thread) cancels, stops every proxy the runner started, waits for the workers to
    notice and re-raises; an unexpected error in a worker does the same and is raised.
    """
    cancel = cancel or threading.Event()
    if jobs <= 1 or len(groups) <= 1:
        return [result for group in groups for result in _run_group(runner, group, cancel)]
    done: list[list[ScenarioResult]] = [[] for _ in groups]

    def work(index: int) -> None:
        done[index] = _run_group(runner, groups[index], cancel)

    with ThreadPoolExecutor(max_workers=min(jobs, len(groups)), thread_name_prefix="scenarios") as pool:
        futures = [pool.submit(work, index) for index in range(len(groups))]
        try:
            _wait_for(futures)
        except BaseException:
            cancel.set()
            for future in futures:
                future.cancel()
            runner.close()  # the workers' proxies stop: whatever they wait for ends at once
            raise
    return [result for results in done for result in results]


def _run_group(runner: GroupRunner, group: Sequence[Scenario], cancel: threading.Event) -> list[ScenarioResult]:
    """The scenarios of one proxy (models and settings), one after another, then its proxy stopped."""
    results: list[ScenarioResult] = []
    try:
        for scenario in group:
            if cancel.is_set():
                break
            results.append(runner.run(scenario))
    finally:
        runner.release(group[0].proxy_spec())
    return results


def _wait_for(futures: Sequence[Future[None]]) -> None:
    """Until every future is done; the first worker error is raised here, in the caller's thread."""
    pending = set(futures)
    while pending:
        # a timeout keeps the caller's thread able to take Ctrl-C while the workers run
        finished, pending = wait(pending, timeout=_POLL_S, return_when=FIRST_EXCEPTION)
        for future in finished:
            future.result()
