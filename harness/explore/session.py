"""One explore run: worlds generated, run on one warm proxy, compared with the derived oracle,
each distinct finding shrunk to a minimal world.

Every world of the run declares the pool's models and proxy configuration, so they all share
one proxy (`ScenarioRunner` starts it once, forked from a warm parent like any local proxy), and
each world's entities carry the distinct name prefix the runner gives every scenario run, so
`concurrency` worlds run at once on it (threads; each world provisions, probes and tears down
its own entities). Results are taken in world order whatever order they finish in, so the
findings of a run depend only on the worlds run, and those only on the seed and how many ran:

- `worlds=N` (no time limit): exactly the first N worlds of the seed: the same release gives
  the same findings and (the proxy answering the same) the same minimal worlds.
- a time budget: as many worlds as fit in `EXPLORE_SHARE` of it (always a prefix of the seed's
  worlds, so a longer budget finds a superset); shrinking uses the rest, `concurrency` findings
  at a time with an equal share each, and a finding whose shrinking the budget cut short is
  written as shrunk so far, saying so. With both, the worlds are bounded by N and the whole run by the budget.
"""

from __future__ import annotations

import itertools
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Protocol, Sequence

from harness.explore.findings import Finding, FindingLog, failing, is_error
from harness.explore.pool import Pool
from harness.explore.scenarios import world_scenario
from harness.explore.shrink import ShrinkResult, normalized, shrink
from harness.explore.worlds import generate
from harness.gateways.base import Vocabulary
from harness.model.results import ScenarioResult
from harness.model.scenario import Scenario
from harness.model.verdict import Verdict
from harness.scenario.loader import ScenarioError

#: The part of a time budget spent running new worlds; the rest goes to shrinking findings.
EXPLORE_SHARE = 0.6
#: Candidate worlds one finding's shrinking may run at most.
DEFAULT_SHRINK_RUNS = 120


class WorldRunner(Protocol):
    """What explore needs of the engine: run one scenario (thread-safe), start its proxy first."""

    def run(self, scenario: Scenario) -> ScenarioResult: ...

    def endpoint_for(self, proxy: Any) -> Any: ...


@dataclass(frozen=True)
class ExploreOptions:
    """How an explore run is bounded and what its worlds may hold."""

    seed: int
    worlds: int | None = None  # exactly this many worlds (None: as the budget allows)
    budget_s: float | None = None  # wall time of the whole run (None: no limit)
    concurrency: int = 4
    with_steps: bool = True
    sweep: bool = False
    shrink_runs: int = DEFAULT_SHRINK_RUNS


@dataclass
class WorldError:
    """A world the harness could not judge in full (an ERROR verdict, or the world did not run)."""

    world_index: int
    message: str


@dataclass
class ShrunkFinding:
    """A finding with its minimal world and that world's result (whose failing checks show it)."""

    finding: Finding
    shrink: ShrinkResult
    result: ScenarioResult
    scenario: Scenario
    verdicts: list[Verdict]  # the failing checks of `result` that show the finding


@dataclass
class ExploreOutcome:
    """What one explore run did and found."""

    options: ExploreOptions
    worlds_run: int = 0
    explore_s: float = 0.0
    shrink_s: float = 0.0
    checks: int = 0
    findings: list[ShrunkFinding] = field(default_factory=list)
    errors: list[WorldError] = field(default_factory=list)
    stopped_by_budget: bool = False
    proxy_start_s: float = 0.0

    @property
    def worlds_per_minute(self) -> float:
        """Worlds judged per minute of exploring (the proxy's start not included: `proxy_start_s`)."""
        return 60.0 * self.worlds_run / self.explore_s if self.explore_s > 0 else 0.0


class Explorer:
    """Runs the worlds of one seed on `runner`'s proxy and shrinks what they show.

    `say` gets progress lines; `clock` is a seam for tests.
    """

    def __init__(self, runner: WorldRunner, pool: Pool, vocabulary: Vocabulary, options: ExploreOptions,
                 say: Callable[[str], None] = lambda line: None, clock: Callable[[], float] = time.monotonic) -> None:
        self.runner = runner
        self.pool = pool
        self.vocabulary = vocabulary
        self.options = options
        self.say = say
        self.clock = clock
        self._started = clock()
        self._candidates: ThreadPoolExecutor | None = None  # while shrinking: the proxy's slots

    # ------------------------------------------------------------------ budget

    def _elapsed(self) -> float:
        return self.clock() - self._started

    def _exploring_over(self, worlds_started: int) -> bool:
        options = self.options
        if options.worlds is not None and worlds_started >= options.worlds:
            return True
        return options.budget_s is not None and self._elapsed() >= options.budget_s * (
            EXPLORE_SHARE if options.worlds is None else 1.0)

    def _out_of_time(self) -> bool:
        return self.options.budget_s is not None and self._elapsed() >= self.options.budget_s


    # ------------------------------------------------------------------ the run

    def run(self) -> ExploreOutcome:
        """Explore, then shrink every distinct finding; the outcome in world order."""
        outcome = ExploreOutcome(options=self.options)
        log = FindingLog(self.pool.model_names, self.vocabulary.names)
        worlds: list[dict[str, Any]] = []
        scenarios = self._scenarios(worlds)
        first = next(scenarios)
        # The shared proxy starts here, in this thread: worlds run in several threads at once.
        self.runner.endpoint_for(first.proxy_spec())
        outcome.proxy_start_s = self._elapsed()
        self.say(f"proxy ready in {outcome.proxy_start_s:.1f} s; exploring with seed {self.options.seed}")
        explore_started = self.clock()

        def judged(index: int, result: ScenarioResult) -> None:  # called in world order
            outcome.checks += len(result.verdicts)
            self._note_errors(result, index, outcome)
            for finding in log.add(result, worlds[index], index):
                self.say(f"world {index + 1}: new finding {log.findings.index(finding) + 1}: {finding.signature.text}")

        results = self._run_worlds(itertools.chain([first], scenarios), judged)
        outcome.worlds_run = len(results)
        outcome.explore_s = self.clock() - explore_started
        outcome.stopped_by_budget = self.options.worlds is not None and outcome.worlds_run < self.options.worlds
        self.say(f"explored {outcome.worlds_run} worlds in {outcome.explore_s:.0f} s "
                 f"({outcome.worlds_per_minute:.1f} worlds/min): {len(log.findings)} distinct findings, "
                 f"{len(outcome.errors)} worlds with errors")
        shrink_started = self.clock()
        outcome.findings = self._shrink_all(log.findings, dict(enumerate(results)))
        outcome.shrink_s = self.clock() - shrink_started
        return outcome

    def _shrink_all(self, findings: Sequence[Finding], results: dict[int, ScenarioResult]) -> list[ShrunkFinding]:
        """Every finding shrunk, `concurrency` findings at a time, their candidates sharing the
        proxy's `concurrency` slots; each finding gets an equal share of what is left of the budget."""
        if not findings:
            return []
        width = max(1, self.options.concurrency)
        share = None
        if self.options.budget_s is not None:
            left = max(0.0, self.options.budget_s - self._elapsed())
            share = left * min(width, len(findings)) / len(findings)

        def one(number: int, finding: Finding) -> ShrunkFinding:
            # its share, and never past the budget: a finding whose turn comes after it is written unshrunk
            deadline = None if share is None else min(self.clock() + share, self._started + self.options.budget_s)
            return self._shrunk(number, finding, results[finding.world_index], deadline)

        with ThreadPoolExecutor(max_workers=width, thread_name_prefix="candidates") as candidates, \
                ThreadPoolExecutor(max_workers=width, thread_name_prefix="findings") as workers:
            self._candidates = candidates
            futures = [workers.submit(one, number, finding) for number, finding in enumerate(findings, start=1)]
            try:
                return [future.result() for future in futures]
            except BaseException:
                for future in futures:
                    future.cancel()
                raise
            finally:
                self._candidates = None

    def _scenarios(self, worlds: list[dict[str, Any]]) -> Iterator[Scenario]:
        """The scenarios of the seed's worlds, in order (each world appended to `worlds` as it is made)."""
        for world in generate(self.pool, self.vocabulary, self.options.seed, with_steps=self.options.with_steps):
            index = len(worlds)
            worlds.append(world)
            yield self._scenario(world, f"explore-s{self.options.seed}-w{index + 1}",
                                 f"world {index + 1} of explore seed {self.options.seed}")

    def _scenario(self, world: dict[str, Any], scenario_id: str, title: str) -> Scenario:
        try:
            return world_scenario(world, self.pool, scenario_id, title, sweep=self.options.sweep)
        except ScenarioError as exc:  # a generator bug: say which world, do not judge the proxy by it
            raise RuntimeError(f"explore generated a world the scenario loader refuses ({scenario_id}):\n{exc}") from exc

    def _run_worlds(self, scenarios: Iterator[Scenario],
                    judged: Callable[[int, ScenarioResult], None]) -> list[ScenarioResult]:
        """Run worlds `concurrency` at a time until the bound; results in world order (a prefix).

        `judged(index, result)` is told each result in world order, as soon as every earlier world
        finished too (so findings are numbered the same whatever order the worlds finish in).
        """
        pending: dict[int, Future[ScenarioResult]] = {}
        done: dict[int, ScenarioResult] = {}
        started = told = 0
        with ThreadPoolExecutor(max_workers=max(1, self.options.concurrency), thread_name_prefix="explore") as pool:
            try:
                while True:
                    while len(pending) < max(1, self.options.concurrency) and not self._exploring_over(started):
                        scenario = next(scenarios)
                        pending[started] = pool.submit(self.runner.run, scenario)
                        started += 1
                    if not pending:
                        break
                    # whichever finishes first frees its slot (a world with steps waits for the
                    # proxy's cache and must not hold the others up); the order is restored below
                    finished, _ = wait(list(pending.values()), return_when=FIRST_COMPLETED)
                    for index in sorted(i for i, future in pending.items() if future in finished):
                        result = pending.pop(index).result()
                        done[index] = result
                        counts = result.counts
                        self.say(f"world {index + 1}: {counts.get('fail', 0)} fail, {counts.get('pass', 0)} pass, "
                                 f"{counts.get('error', 0)} error ({self._elapsed():.0f} s)")
                    while told in done:
                        judged(told, done[told])
                        told += 1
            except BaseException:
                for future in pending.values():
                    future.cancel()
                raise
        return [done[index] for index in sorted(done)]

    @staticmethod
    def _note_errors(result: ScenarioResult, index: int, outcome: ExploreOutcome) -> None:
        errors = [verdict.message for verdict in result.verdicts if is_error(verdict)]
        if result.error is not None or errors:
            outcome.errors.append(WorldError(index, result.error or errors[0]))

    # ------------------------------------------------------------------ shrinking

    def _shrunk(self, number: int, finding: Finding, first_result: ScenarioResult,
                deadline: float | None) -> ShrunkFinding:
        """The finding's world shrunk while the same signature still fails on the proxy."""
        seed = self.options.seed
        candidates = iter(range(1, 1_000_000))
        results: dict[str, ScenarioResult] = {}
        start = normalized(finding.world)
        results[repr(start)] = first_result

        def still_fails(worlds: Sequence[dict[str, Any]]) -> list[bool]:
            scenarios = [self._scenario(world, f"explore-s{seed}-f{number}-c{next(candidates)}",
                                        f"finding {number} of explore seed {seed}, a smaller world")
                         for world in worlds]
            batch = self._run_batch(scenarios)
            answers = []
            for world, result in zip(worlds, batch):
                fails = bool(failing(result, finding.signature, self.pool.model_names, self.vocabulary.names))
                if fails:
                    results[repr(normalized(world))] = result
                answers.append(fails)
            return answers

        self.say(f"shrinking finding {number}: {finding.signature.text}")
        shrunk = shrink(finding.world, still_fails, max_runs=self.options.shrink_runs,
                        out_of_time=lambda: deadline is not None and self.clock() >= deadline,
                        focus=finding.verdict.check.principal)
        result = results.get(repr(shrunk.world), first_result)
        self.say(f"finding {number}: {len(shrunk.steps_taken)} simplifications kept, {shrunk.candidates_run} "
                 f"candidate worlds run in {shrunk.rounds} rounds" + (" (stopped early)" if shrunk.stopped_early else ""))
        scenario = self._scenario(shrunk.world, f"explore-s{seed}-f{number}", f"finding {number} of explore seed {seed}")
        verdicts = failing(result, finding.signature, self.pool.model_names, self.vocabulary.names)
        return ShrunkFinding(finding, shrunk, result, scenario, verdicts)

    def _run_batch(self, scenarios: Sequence[Scenario]) -> list[ScenarioResult]:
        """Scenarios run on the shared proxy's slots (`concurrency` at once in all); results in their order."""
        if self._candidates is not None:
            return list(self._candidates.map(self.runner.run, scenarios))
        with ThreadPoolExecutor(max_workers=max(1, self.options.concurrency), thread_name_prefix="shrink") as pool:
            return list(pool.map(self.runner.run, scenarios))
