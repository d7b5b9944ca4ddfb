"""pytest plugin: scenario YAML files collected as tests, one test per check.

`pytest scenarios/ --target litellm==1.82.3` collects every scenario file below a
`scenarios` folder; each check becomes an item named like a sentence (`svc cannot call
gpt-4o`). A scenario is provisioned and probed once, on its first item; its other items
read the verdicts. One proxy per model list serves every scenario of the session.

Verdicts map onto pytest outcomes: fail → failed test, error → error (in setup, so JUnit
writes `<error>`), skip → skipped with the reason.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import pytest

from harness.checks import Check
from harness.results import RunResult, ScenarioResult
from harness.scenario.loader import ScenarioError, load_scenario
from harness.scenario.model import Scenario
from harness.verdicts import Outcome, Verdict

_RUNNER_KEY = pytest.StashKey["_SessionScenarios"]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("gateconform", "gateconform: LLM gateway conformance scenarios")
    group.addoption(
        "--target",
        dest="gateconform_target",
        default=None,
        help="proxy to test: litellm==VERSION (local, default litellm==1.108.7) | latest",
    )
    group.addoption(
        "--gateconform-results",
        dest="gateconform_results",
        default=None,
        metavar="PATH",
        help="write the results document (JSON) of the scenarios run to PATH",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_RUNNER_KEY] = _SessionScenarios(config)


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if file_path.suffix in (".yaml", ".yml") and "scenarios" in file_path.parts[:-1]:
        return ScenarioFile.from_parent(parent, path=file_path)
    return None


def pytest_sessionfinish(session: pytest.Session) -> None:
    # Runs on success, failure and Ctrl-C alike: every proxy started for the session stops.
    scenarios = session.config.stash.get(_RUNNER_KEY, None)
    if scenarios is not None:
        scenarios.close()


class _SessionScenarios:
    """The session's runner (started lazily) and the results of scenarios run so far."""

    def __init__(self, config: pytest.Config) -> None:
        self._config = config
        self._runner: Any = None
        self._results: dict[str, ScenarioResult] = {}
        self._run: RunResult | None = None

    def result_for(self, scenario: Scenario) -> ScenarioResult:
        if scenario.id not in self._results:
            from harness.runner import DEFAULT_TARGET, ScenarioRunner

            if self._runner is None:
                spec = self._config.getoption("gateconform_target") or DEFAULT_TARGET
                reporter = self._config.pluginmanager.get_plugin("terminalreporter")
                self._runner = ScenarioRunner(spec, log=lambda msg: _progress(reporter, msg))
                self._run = RunResult.new(target=spec, run_id=self._runner.run_id)
            self._results[scenario.id] = self._runner.run(scenario)
        return self._results[scenario.id]

    def close(self) -> None:
        if self._runner is None:
            return
        try:
            path = self._config.getoption("gateconform_results")
            if path and self._run is not None:
                self._run.proxy_version = self._runner.proxy_version
                self._run.scenarios = list(self._results.values())
                self._run.finish()
                self._run.write(path, secrets=self._runner.redactor.secrets)
        finally:
            self._runner.close()
            self._runner = None


def _progress(reporter: Any, message: str) -> None:
    if reporter is not None:
        reporter.write_line(f"[gateconform] {message}")


class ScenarioFile(pytest.File):
    """A scenario YAML file; a malformed one is a collection error naming file and line."""

    def collect(self) -> Iterator[pytest.Item]:
        from harness.oracle.explicit import checks_for

        try:
            scenario = load_scenario(self.path)
        except ScenarioError as exc:
            raise self.CollectError(str(exc)) from None
        for check in checks_for(scenario):
            yield ScenarioCheckItem.from_parent(self, name=check.title, scenario=scenario, check=check)


class CheckFailed(Exception):
    """A check whose observation contradicts the expectation."""


class CheckErrored(Exception):
    """A check the harness could not decide (5xx, timeout, odd body, target or provisioning error)."""


class ScenarioCheckItem(pytest.Item):
    """One check of one scenario."""

    def __init__(self, *, scenario: Scenario, check: Check, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.scenario = scenario
        self.check = check
        self.verdict: Verdict | None = None
        self.user_properties.append(("check_id", check.id))

    def setup(self) -> None:
        result = self.config.stash[_RUNNER_KEY].result_for(self.scenario)
        self.verdict = next((v for v in result.verdicts if v.check_id == self.check.id), None)
        if self.verdict is None:
            raise CheckErrored(f"{self.check.title}: no verdict was recorded (harness bug)")
        if self.verdict.outcome is Outcome.SKIP:
            pytest.skip(self.verdict.message)
        if self.verdict.outcome is Outcome.ERROR:
            raise CheckErrored(_describe(self.verdict))

    def runtest(self) -> None:
        assert self.verdict is not None
        if self.verdict.outcome is Outcome.FAIL:
            raise CheckFailed(_describe(self.verdict))

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, (CheckFailed, CheckErrored)):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo, style=style))

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, f"{self.scenario.id}: {self.check.title}"


def _describe(verdict: Verdict) -> str:
    """The verdict sentence plus its evidence, as a pytest failure text."""
    lines = [verdict.message, f"  expected: {verdict.expected}", f"  observed: {verdict.observed}"]
    obs = verdict.observation
    if obs is not None:
        if obs.status is not None:
            lines.append(f"  HTTP status: {obs.status}")
        lines.append(f"  upstream requests: {len(obs.upstream_hits)}")
        if obs.body_excerpt:
            lines.append(f"  body: {obs.body_excerpt[:500]}")
    return "\n".join(lines)
