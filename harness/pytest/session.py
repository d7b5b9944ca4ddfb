"""The session's scenarios: one runner (started on the first check), the results, their documents.

A scenario is provisioned and probed once, on its first item; its other items read the
verdicts kept here. At the end of the session the runner stops (every proxy it started) and
the results document and reports are written; an xdist worker sends its document to the
controller instead, which merges what every worker sent into one.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

import pytest

from harness.model.results import RunResult, ScenarioResult, merge_results
from harness.model.scenario import Scenario
from harness.store.documents import write_results

if TYPE_CHECKING:
    from harness.engine.events import EventSink

RUNNER_KEY = pytest.StashKey["SessionScenarios"]()
#: Key of a worker's results document in pytest-xdist's `workeroutput` (sent to the controller).
WORKER_RESULTS = "gateconform_results"


class SessionScenarios:
    """The session's runner (started lazily) and the results of scenarios run so far."""

    def __init__(self, config: pytest.Config) -> None:
        self._config = config
        self._runner: Any = None
        self._results: dict[str, ScenarioResult] = {}
        self._run: RunResult | None = None
        # pytest-xdist: results documents the workers sent back (JSON), merged by the controller
        self.worker_documents: list[str] = []

    @property
    def target(self) -> str:
        """The target spec of the session's runs (as `--target` gave it)."""
        return self._run.target if self._run is not None else str(self._config.getoption("gateconform_target") or "")

    def result_for(self, scenario: Scenario) -> ScenarioResult:
        """The scenario's result, running it on its first call."""
        if scenario.id not in self._results:
            from harness.engine.runner import DEFAULT_TARGET, ScenarioRunner

            if self._runner is None:
                spec = self._config.getoption("gateconform_target") or DEFAULT_TARGET
                self._runner = ScenarioRunner(spec, events=terminal_lines(self._config),
                                              oracle=self._config.getoption("gateconform_oracle", None))
                self._run = RunResult.new(target=spec, run_id=self._runner.run_id)
            self._results[scenario.id] = self._runner.run(scenario)
        return self._results[scenario.id]

    def _wants_results(self) -> bool:
        return bool(self._config.getoption("gateconform_results") or self._config.getoption("gateconform_report_dir"))

    def _publish(self, run: RunResult, secrets: Sequence[str] = ()) -> None:
        """Write the results document and, with `--gateconform-report-dir`, every registered report."""
        report_dir = self._config.getoption("gateconform_report_dir")
        path = self._config.getoption("gateconform_results")
        if path:
            write_results(run, path, secrets=secrets)
        if report_dir:
            from harness.report.outputs import write_run_documents

            write_run_documents(run, Path(report_dir), secrets)

    def close(self) -> None:
        """Stop the runner; publish the results (a worker hands them to the controller)."""
        if self._runner is None:
            return
        try:
            if self._wants_results() and self._run is not None:
                self._run.scenarios = list(self._results.values())
                self._runner.stamp(self._run)
                if hasattr(self._config, "workerinput"):
                    # an xdist worker: every worker would write the same PATH; the controller
                    # merges what they send back instead (already redacted and checked here)
                    self._run.assert_no_secrets(self._runner.redactor.secrets)
                    self._config.workeroutput[WORKER_RESULTS] = self._run.to_json()  # type: ignore[attr-defined]
                else:
                    self._publish(self._run, tuple(self._runner.redactor.secrets))
        finally:
            self._runner.close()
            self._runner = None

    def write_merged_worker_results(self) -> None:
        """pytest-xdist controller: one results document from every worker's scenarios."""
        if not self._wants_results() or not self.worker_documents:
            return
        self._publish(merge_results([RunResult.from_json(text) for text in self.worker_documents]))


def finish_session(session: pytest.Session) -> None:
    """Stop every proxy of the session and write its documents; an unwritable one fails the session.

    Runs on success, failure and Ctrl-C alike.
    """
    from harness.common.files import OutputError

    scenarios = session.config.stash.get(RUNNER_KEY, None)
    if scenarios is None:
        return
    try:
        scenarios.close()
        scenarios.write_merged_worker_results()
    except OutputError as exc:
        # The test outcomes are reported by pytest as usual; a missing results document or
        # report must still not pass unnoticed in CI: said plainly, and the session fails.
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        message = f"gateconform: {exc} (no partial file was left)"
        if reporter is not None:
            reporter.write("\n")  # the progress line may still be open ("....  [100%]")
            reporter.write_line(message, red=True, bold=True)
        else:
            sys.stderr.write(message + "\n")
        if session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.INTERNAL_ERROR


def keep_worker_results(node: Any) -> None:
    """pytest-xdist controller: keep the results document a finished worker sent back."""
    document = getattr(node, "workeroutput", {}).get(WORKER_RESULTS)
    scenarios = node.config.stash.get(RUNNER_KEY, None)
    if document and scenarios is not None:
        scenarios.worker_documents.append(document)


def progress(config: pytest.Config, message: str) -> None:
    """A `[gateconform] …` line on the terminal (also under `-q`); nothing without a terminal."""
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(f"[gateconform] {message}")


def terminal_lines(config: pytest.Config) -> "EventSink":
    """The runner's events as `[gateconform] …` lines: what targets say, and each scenario's verdict as it
    finishes (not when it starts: pytest names the item it runs)."""
    from harness.engine.events import ScenarioStarted
    from harness.report.progress import as_lines

    return as_lines(lambda line: progress(config, line), shown=lambda event: not isinstance(event, ScenarioStarted))
