"""A forked start is only a faster start: the whole scenario library observes the same with proxies
forked from a warm parent (Prisma CLI answered by the shim) as with plain starts (the `litellm`
script, the real Prisma CLI), on 1.82.3 and 1.108.7.

Compared per check: the verdict, the HTTP status, the listed set, the upstream hits (model and
path), the error type. Compared per proxy: what LiteLLM's CLI printed before uvicorn started,
line by line (numbers and ids aside) — where it runs the Prisma CLI and prints its answer ("Failed
to generate migration diff. Error: …"): with the shim it printed the same. That, and each forked
proxy having run no Prisma CLI at all (every call it made was replayed), is how the shim is
verified per release. (The whole logs were also compared by hand: the same kinds of lines, but
for timing-dependent warnings under load, so the test does not compare them.)

Cost (2-core machine, loaded; CI's fresh machine is faster): per release a plain library run
(three proxies, ~20 s each) and a forked one (one warm parent's import, then ~2 s per proxy);
both releases about 4 minutes. Printed at the end of each run.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from harness.engine.runner import ScenarioRunner
from harness.gateways.litellm.local import LocalTarget
from harness.model.results import RunResult
from harness.scenario.loader import load_scenarios
from harness.targets.lifecycle import current_owner, marker_env
from harness.targets.postgres import PostgresServer

pytestmark = pytest.mark.integration

LIBRARY = Path(__file__).parents[2] / "scenarios" / "litellm"
#: uvicorn's first line: LiteLLM's CLI is done.
_SERVER_STARTED = re.compile(r"^INFO: +Started server process")
_ID = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b|\b[0-9a-f]{12,}\b")


class LogKeepingTarget(LocalTarget):
    """A local target that keeps its proxy's start-up log and Prisma calls when it stops."""

    kept_log: list[str]
    kept_calls: list[str] | None
    proxy_identity: str = ""  # what it was started with: pairs a plain start with its forked one

    def start(self, models, settings=None):  # type: ignore[no-untyped-def]
        self.proxy_identity = repr((list(models), settings))
        return super().start(models, settings)

    def stop(self) -> None:
        if self.run_dir is not None and self.proxy_log is not None and self.proxy_log.exists():
            self.kept_log = cli_lines(self.proxy_log.read_text(errors="replace"))
            calls = self.run_dir / "prisma-calls.log"
            self.kept_calls = calls.read_text().splitlines() if calls.exists() else None
        super().stop()


def cli_lines(text: str) -> list[str]:
    """What LiteLLM's CLI printed before uvicorn started (numbers and ids aside).

    That is where it runs the Prisma CLI and prints its answers; it runs one step after another,
    so the lines come in a fixed order. What the server prints later depends on timing (which
    background job ran when, a cache hit or miss under load): the observations compare that.
    """
    lines = []
    for line in text.splitlines():
        if _SERVER_STARTED.search(line):
            return lines
        lines.append(re.sub(r"\d+", "N", _ID.sub("<id>", line)))
    raise AssertionError("the proxy's log never says that its server started")


def _served_model(check, hit) -> str | None:  # type: ignore[no-untyped-def]
    """The checked model when one of its deployments served, else the upstream model asked for."""
    if check.deployments and hit.deployment in check.deployments:
        return check.model
    return hit.model


def observations(result: RunResult) -> dict[str, tuple]:
    seen = {}
    for scenario in result.scenarios:
        assert scenario.error is None, f"{scenario.id}: {scenario.error}"
        for verdict in scenario.verdicts:
            observation = verdict.observation
            seen[verdict.check_id] = (
                verdict.outcome.value,
                observation and observation.status,
                observation and observation.listed_models is not None and sorted(observation.listed_models),
                # which of a model's deployments served is the router's random pick: not compared
                observation and sorted((_served_model(verdict.check, hit), hit.path) for hit in observation.upstream_hits),
                observation and observation.error_type,
            )
    return seen


def run_library(version: str, mode: str, postgres: PostgresServer) -> tuple[RunResult, list[LogKeepingTarget], float]:
    targets: list[LogKeepingTarget] = []

    def factory(spec: str, log):  # type: ignore[no-untyped-def]
        target = LogKeepingTarget(spec, log=log, start_mode=mode, postgres=postgres)
        targets.append(target)
        return target

    started = time.monotonic()
    # The sweep's thousands of probes ask nothing of how the proxy was started that the written
    # checks do not: off here, to keep the test within CI's time (the request-surface tests sweep).
    scenarios = [scenario.model_copy(update={"sweep": False}) for scenario in load_scenarios(LIBRARY)]
    with ScenarioRunner(f"litellm=={version}", target_factory=factory) as runner:
        result = runner.run_all(scenarios, jobs=2)
    return result, targets, time.monotonic() - started


@pytest.mark.parametrize("version", ["1.82.3", "1.108.7"])
def test_forked_and_plain_starts_observe_the_same_across_the_library(version: str) -> None:
    with PostgresServer(log=print, extra_env=marker_env(f"parity-{version}", current_owner())) as postgres:
        plain, plain_targets, plain_s = run_library(version, "plain", postgres)
        forked, forked_targets, forked_s = run_library(version, "fork", postgres)

    boots = {mode: [round(t.timings["proxy_boot_s"], 1) for t in targets]
             for mode, targets in (("plain", plain_targets), ("fork", forked_targets))}
    print(f"\nlitellm {version}: library plain {plain_s:.0f} s, forked {forked_s:.0f} s; proxy boots {boots}")

    by_plain, by_fork = observations(plain), observations(forked)
    differing = {check: (seen, by_fork.get(check)) for check, seen in by_plain.items() if by_fork.get(check) != seen}
    assert not differing and by_fork.keys() == by_plain.keys(), differing
    assert len(by_plain) >= 70  # the whole library ran, not an empty subset

    assert [target.started_how for target in plain_targets] == ["plain start"] * len(plain_targets)
    assert all(target.started_how.startswith("forked from warm parent") for target in forked_targets), \
        [target.started_how for target in forked_targets]
    def by_proxy(targets: list[LogKeepingTarget]) -> list[LogKeepingTarget]:  # jobs=2 starts them in any order
        return sorted(targets, key=lambda target: target.proxy_identity)

    for plain_target, forked_target in zip(by_proxy(plain_targets), by_proxy(forked_targets), strict=True):
        assert any("migration diff" in line for line in plain_target.kept_log)  # the Prisma CLI's answer
        assert forked_target.kept_log == plain_target.kept_log
        assert plain_target.kept_calls is None  # the reference ran the real Prisma CLI
        assert forked_target.kept_calls and all(call.startswith("replayed: ") for call in forked_target.kept_calls)
