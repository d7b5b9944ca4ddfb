"""Scenarios on several proxies at once (`harness.engine.scheduler`), offline: the runner starts
in-process fakes of the proxy (tests/fixtures/fake_litellm.py), some deliberately slow to start."""

from __future__ import annotations

import signal
import threading
import time
from typing import Any

import pytest

from harness.engine import scheduler
from harness.engine.events import Event, RunStarted, ScenarioFinished
from harness.engine.runner import ScenarioRunner
from harness.model.results import ScenarioResult
from harness.scenario.loader import parse_scenario
from tests.fixtures.fake_litellm import FakeTargets
from tests.fixtures.timeless import without_timings
from tests.unit.test_runner import LIMITED_KEY, OTHER_MODELS, SAME_MODELS, SPEC

THIRD_MODELS = LIMITED_KEY.replace("id: runner-limited-key", "id: runner-third-models").replace(
    "models: [gpt-4o, gpt-4o-mini]\nteams", "models: [gpt-4o, gpt-4o-mini, gemini]\nteams")
#: three model lists (three proxies), the first one listed twice
SCENARIOS = [LIMITED_KEY, OTHER_MODELS, SAME_MODELS, THIRD_MODELS]


def run(jobs: int, targets: FakeTargets, events: list[Event] | None = None) -> Any:
    scenarios = [parse_scenario(text) for text in SCENARIOS]
    sink = events.append if events is not None else (lambda _event: None)
    with ScenarioRunner(SPEC, target_factory=targets, events=sink) as runner:
        return runner.run_all(scenarios, jobs=jobs)


FIRST_LIST = ("gpt-4o", "gpt-4o-mini")
SECOND_LIST = ("gpt-4o", "gpt-4o-mini", "claude-sonnet")


def test_a_parallel_run_gives_the_serial_document_but_for_timings() -> None:
    serial = run(1, FakeTargets())
    parallel_targets = FakeTargets(slow_starts={SECOND_LIST: 0.3})
    parallel = run(3, parallel_targets)
    assert [s.id for s in parallel.scenarios] == ["runner-limited-key", "runner-same-models",
                                                    "runner-other-models", "runner-third-models"]
    assert without_timings(parallel) == without_timings(serial)
    assert parallel.overall == "pass" and parallel.counts["pass"] == 16
    assert parallel_targets.most_running > 1, "the proxies should have run at once"


def test_no_more_proxies_than_jobs_and_each_stopped_once_its_scenarios_ran() -> None:
    targets = FakeTargets(slow_starts={FIRST_LIST: 0.2, SECOND_LIST: 0.2})
    run(2, targets)
    assert targets.most_running == 2
    assert len(targets.started) == 3 and targets.stopped == 3 and targets.running == 0
    assert all(proxy.alive() == [] for proxy in targets.proxies)


def test_verdicts_are_told_as_each_scenario_finishes_not_in_document_order() -> None:
    events: list[Event] = []
    # the first model list's proxy is slow to start: the other lists' verdicts are told first
    result = run(3, FakeTargets(slow_starts={FIRST_LIST: 0.5}), events)
    finished = [event.result.id for event in events if isinstance(event, ScenarioFinished)]
    assert finished[-2:] == ["runner-limited-key", "runner-same-models"]
    assert sorted(finished) == sorted(s.id for s in result.scenarios)
    assert [s.id for s in result.scenarios][:2] == ["runner-limited-key", "runner-same-models"]
    started = next(event for event in events if isinstance(event, RunStarted))
    assert started.jobs == 3


def test_a_run_of_one_job_runs_in_the_callers_thread() -> None:
    threads: set[str] = set()

    class Recorder:
        def run(self, scenario: Any) -> ScenarioResult:
            threads.add(threading.current_thread().name)
            return ScenarioResult(id=scenario.id, title=scenario.title)

        def release(self, models: Any) -> None:
            pass

        def close(self) -> None:
            pass

    groups = [[parse_scenario(LIMITED_KEY)], [parse_scenario(OTHER_MODELS)]]
    results = scheduler.run_groups(Recorder(), groups, jobs=1)
    assert [r.id for r in results] == ["runner-limited-key", "runner-other-models"]
    assert threads == {threading.current_thread().name}


def test_a_worker_error_stops_every_proxy_and_reaches_the_caller() -> None:
    closed: list[str] = []
    released: list[Any] = []

    class Broken:
        def run(self, scenario: Any) -> ScenarioResult:
            if scenario.id == "runner-other-models":
                raise RuntimeError("harness bug")
            return ScenarioResult(id=scenario.id, title=scenario.title)

        def release(self, models: Any) -> None:
            released.append(models)

        def close(self) -> None:
            closed.append("closed")

    groups = [[parse_scenario(LIMITED_KEY)], [parse_scenario(OTHER_MODELS)], [parse_scenario(THIRD_MODELS)]]
    with pytest.raises(RuntimeError, match="harness bug"):
        scheduler.run_groups(Broken(), groups, jobs=2)
    assert closed == ["closed"]
    assert len(released) >= 2  # every group that started released its proxy, the broken one too


@pytest.mark.parametrize(("cores", "memory_gib", "groups", "expected"), [
    (2, 24.0, 10, 2),   # the reference machine: one per core
    (8, 3.5, 10, 3),    # memory decides: 1 GiB per proxy
    (8, 0.4, 10, 1),    # never fewer than one
    (8, 64.0, 3, 3),    # never more than there are proxies to start
])
def test_default_jobs_from_cores_free_memory_and_model_lists(cores: int, memory_gib: float,
                                                             groups: int, expected: int) -> None:
    assert scheduler.default_jobs(groups=groups, cpu_count=cores, memory_gib=memory_gib) == expected


def test_free_memory_is_read_from_meminfo(tmp_path: Any) -> None:
    from harness.common.machine import available_memory_gib, jobs_that_fit

    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal:       24000000 kB\nMemFree:  100 kB\nMemAvailable:    3145728 kB\n")
    assert available_memory_gib(meminfo) == 3.0
    assert jobs_that_fit(1.0, 8, None) == 8  # unknown memory does not limit


def test_ctrl_c_stops_every_proxy_and_waits_for_the_workers() -> None:
    import _thread

    closed = threading.Event()
    ran: list[str] = []

    class Slow:
        def run(self, scenario: Any) -> ScenarioResult:
            ran.append(scenario.id)
            closed.wait(5)  # a scenario on a proxy: it ends once the proxies are stopped
            return ScenarioResult(id=scenario.id, title=scenario.title)

        def release(self, models: Any) -> None:
            pass

        def close(self) -> None:
            closed.set()

    groups = [[parse_scenario(LIMITED_KEY), parse_scenario(SAME_MODELS)], [parse_scenario(OTHER_MODELS)],
              [parse_scenario(THIRD_MODELS)]]
    # A process started in the background by a non-interactive shell (as CI runners may start
    # pytest) inherits SIGINT ignored, and `interrupt_main` then does nothing: Ctrl-C as Python
    # handles it by default, for this test.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        threading.Timer(0.3, _thread.interrupt_main).start()
        started = time.monotonic()
        with pytest.raises(KeyboardInterrupt):
            scheduler.run_groups(Slow(), groups, jobs=2)
    finally:
        signal.signal(signal.SIGINT, previous)
    assert closed.is_set() and time.monotonic() - started < 3
    assert sorted(ran) == ["runner-limited-key", "runner-other-models"]  # nothing new started after Ctrl-C


class WarmingTargets(FakeTargets):
    """`FakeTargets` whose targets can warm ahead; records what was warmed and when each target began."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.log: list[tuple[str, tuple[str, ...]]] = []

    def __call__(self, spec: str, log: Any) -> Any:
        target = super().__call__(spec, log)
        start = target.start

        def warm_ahead(models: Any, settings: Any = None) -> bool:
            self.log.append(("warm", tuple(model.name for model in models)))
            return True

        def started(models: Any, settings: Any = None) -> Any:
            self.log.append(("start", tuple(model.name for model in models)))
            return start(models, settings)

        target.warm_ahead, target.start = warm_ahead, started
        return target


def test_every_model_list_is_warmed_ahead_in_run_order_before_the_first_start_and_then_started() -> None:
    targets = WarmingTargets()
    result = run(2, targets)
    third = ("gpt-4o", "gpt-4o-mini", "gemini")
    assert targets.log[:3] == [("warm", FIRST_LIST), ("warm", SECOND_LIST), ("warm", third)]
    assert sorted(targets.log[3:]) == sorted([("start", FIRST_LIST), ("start", SECOND_LIST), ("start", third)])
    assert len(targets.specs) == 3  # the warmed targets are the ones started, not new ones
    assert result.overall == "pass"


def test_a_single_model_list_is_not_warmed_ahead_its_start_does_it() -> None:
    targets = WarmingTargets()
    with ScenarioRunner(SPEC, target_factory=targets) as runner:
        runner.run_all([parse_scenario(LIMITED_KEY), parse_scenario(SAME_MODELS)], jobs=2)
    assert targets.log == [("start", FIRST_LIST)]


def test_the_last_scenario_on_a_proxy_whose_stop_discards_its_database_is_not_torn_down_one_by_one() -> None:
    targets = FakeTargets(discarded_on_stop=True)
    result = run(2, targets)
    by_list = {tuple(proxy.served): proxy for proxy in targets.proxies}
    shared = by_list[FIRST_LIST]  # runner-limited-key, then runner-same-models on the same proxy
    deleted = [call for call in shared.admin_calls() if call.path.endswith("/delete")]
    assert deleted, "the first scenario on the shared proxy is torn down: the next one shares the proxy"
    assert shared.alive() and all(name.startswith(f"gc-{result.run_id}-") for name in shared.alive())
    last_run = {name.split("-")[2] for name in shared.alive()}
    assert len(last_run) == 1  # only the last scenario's entities are left for the stop to discard
    assert all(proxy.alive() for proxy in targets.proxies)
    assert targets.stopped == 3 and result.overall == "pass"


def test_every_scenario_is_torn_down_where_the_stop_keeps_the_proxys_state() -> None:
    targets = FakeTargets(discarded_on_stop=False)  # a url target: the proxy is someone else's
    run(2, targets)
    assert all(proxy.alive() == [] for proxy in targets.proxies)
