"""pytest plugin: scenario YAML files collected as tests, one test per check.

`pytest scenarios/ --target <gateway>==1.82.3` collects every scenario file below a
`scenarios` folder; each check becomes an item named like a sentence (`svc cannot call
gpt-4o`). A scenario is provisioned and probed once, on its first item; its other items
read the verdicts. One proxy per model list serves every scenario of the session.

Verdicts map onto pytest outcomes: fail → failed test, error → error (in setup, so JUnit
writes `<error>`), skip → skipped with the reason.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Sequence

import pytest

from harness.model.check import Check
from harness.engine.grouping import proxy_group
from harness.model.results import RunResult, ScenarioResult
from harness.scenario.loader import ScenarioError, load_scenario
from harness.model.scenario import Scenario
from harness.model.verdict import Outcome, Verdict
from harness.store.documents import write_results

_RUNNER_KEY = pytest.StashKey["_SessionScenarios"]()
#: Lines the target check asks to show once (in the session header).
_TARGET_NOTES_KEY = pytest.StashKey[tuple]()
#: Key of a worker's results document in pytest-xdist's `workeroutput` (sent to the controller).
_WORKER_RESULTS = "gateconform_results"


def pytest_addoption(parser: pytest.Parser) -> None:
    from harness.gateways import registry  # the gateways' names and default target, for the help

    group = parser.getgroup("gateconform", "gateconform: LLM gateway conformance scenarios")
    name = registry.spec_name()
    group.addoption(
        "--target",
        dest="gateconform_target",
        default=None,
        help=f"proxy to test: {name}==VERSION or latest (local), docker:{name}==VERSION or docker:IMAGE "
        f"(default {registry.default_gateway().default_target})",
    )
    group.addoption(
        "--deps",
        dest="gateconform_deps",
        default=None,
        choices=tuple(dict.fromkeys(m for n in registry.names() for m in registry.gateway(n).deps_modes)),
        help="local target's dependencies: today (default: what pip installs today) or as-released "
        f"(as of the release's upload date; same as --target {name}==VERSION@as-released)",
    )
    group.addoption(
        "--gateconform-results",
        dest="gateconform_results",
        default=None,
        metavar="PATH",
        help="write the results document (JSON) of the scenarios run to PATH",
    )
    group.addoption(
        "--gateconform-report-dir",
        dest="gateconform_report_dir",
        default=None,
        metavar="DIR",
        help="write results.json and every report (report.html, summary.md, junit.xml, allure-results/) into DIR",
    )


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """`pytest -n N` (no `--dist`, or `--dist loadgroup`): keep the scenarios of one proxy on one worker.

    See `harness.pytest.xdist`. Under `--dist loadgroup` this scheduler replaces xdist's own:
    newer pytest/xdist pairs stopped grouping by `xdist_group` (pytest-dev/pytest-xdist#1386),
    which made every worker boot every proxy. It still honours `xdist_group` marks of other
    tests wherever xdist tags their node ids. Any other explicit `--dist` is left to xdist.
    """
    dist = config.getoption("dist", None)
    if _dist_given(config.invocation_params.args) and dist != "loadgroup":
        return None
    if dist not in ("load", "loadgroup"):
        return None
    from harness.pytest.xdist import ProxyGroupScheduling

    if dist == "loadgroup":  # said up front (also under -q): the user asked for xdist's scheduler
        _progress(config.pluginmanager.get_plugin("terminalreporter"),
                  "--dist loadgroup: scenario checks are grouped by proxy by gateconform's scheduler")
    return ProxyGroupScheduling(config, log)


def _dist_given(args: Sequence[str]) -> bool:
    return any(arg in ("--dist", "--distload") or arg.startswith("--dist=") for arg in args)


def pytest_configure(config: pytest.Config) -> None:
    target = config.getoption("gateconform_target")
    deps = config.getoption("gateconform_deps", None)
    if deps:  # folded into the spec, which every worker and the results document then carry
        from harness.engine.runner import DEFAULT_TARGET, with_deps
        from harness.targets.errors import TargetError

        try:
            target = config.option.gateconform_target = with_deps(target or DEFAULT_TARGET, deps)
        except TargetError as exc:
            raise pytest.UsageError(f"--deps {deps}: {exc}") from None
    if target:
        # A target that cannot run (malformed, compromised, not a published release, too old for
        # the local target, index unreachable) is a usage error, before anything is collected or run.
        # xdist workers judge it again, from what the controller's check cached (no network).
        from harness.engine.runner import check_target_spec
        from harness.targets.errors import TargetError

        try:
            checked = check_target_spec(target)
        except TargetError as exc:
            raise pytest.UsageError(f"--target {target}: {exc}") from None
        config.option.gateconform_target = checked.spec  # written one way (`1.82.3` → `<gateway>==1.82.3`)
        config.stash[_TARGET_NOTES_KEY] = checked.notes
    _check_outputs(config)
    config.stash[_RUNNER_KEY] = _SessionScenarios(config)
    # Registered here too, so the marker is known when pytest-xdist is not installed.
    config.addinivalue_line("markers", "xdist_group(name): run these tests on one pytest-xdist worker")


def pytest_report_header(config: pytest.Config) -> list[str]:
    """What the target check had to say (what `latest` passed over and why), once, in the header."""
    return [f"gateconform: {line}" for line in config.stash.get(_TARGET_NOTES_KEY, ())]


def _check_outputs(config: pytest.Config) -> None:
    """A results path or report folder that cannot be written is a usage error now, not after the run."""
    from harness.common.files import OutputError, check_file, check_folder

    checks = (("--gateconform-results", "gateconform_results", check_file),
              ("--gateconform-report-dir", "gateconform_report_dir", check_folder))
    for option, dest, check in checks:
        value = config.getoption(dest, None)
        if not value:
            continue
        try:
            check(Path(value))
        except OutputError as exc:
            raise pytest.UsageError(f"{option}: {exc}") from None


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if file_path.suffix in (".yaml", ".yml") and "scenarios" in file_path.parts[:-1]:
        return ScenarioFile.from_parent(parent, path=file_path)
    return None


def pytest_sessionfinish(session: pytest.Session) -> None:
    # Runs on success, failure and Ctrl-C alike: every proxy started for the session stops.
    from harness.common.files import OutputError

    scenarios = session.config.stash.get(_RUNNER_KEY, None)
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


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """pytest-xdist controller: keep the results document a finished worker sent back."""
    document = getattr(node, "workeroutput", {}).get(_WORKER_RESULTS)
    scenarios = node.config.stash.get(_RUNNER_KEY, None)
    if document and scenarios is not None:
        scenarios.worker_documents.append(document)


class _SessionScenarios:
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
        if scenario.id not in self._results:
            from harness.engine.runner import DEFAULT_TARGET, ScenarioRunner

            if self._runner is None:
                spec = self._config.getoption("gateconform_target") or DEFAULT_TARGET
                reporter = self._config.pluginmanager.get_plugin("terminalreporter")
                self._runner = ScenarioRunner(spec, log=lambda msg: _progress(reporter, msg))
                self._run = RunResult.new(target=spec, run_id=self._runner.run_id)
            self._results[scenario.id] = self._runner.run(scenario)
        return self._results[scenario.id]

    def _wants_results(self) -> bool:
        return bool(self._config.getoption("gateconform_results") or self._config.getoption("gateconform_report_dir"))

    def _publish(self, run: RunResult, secrets: Sequence[str] = ()) -> None:
        """Write the results document and, with `--gateconform-report-dir`, every report."""
        report_dir = self._config.getoption("gateconform_report_dir")
        path = self._config.getoption("gateconform_results")
        if path:
            write_results(run, path, secrets=secrets)
        if report_dir:
            from harness.report.outputs import write_reports

            write_results(run, Path(report_dir) / "results.json", secrets=secrets)
            write_reports(run, Path(report_dir))

    def close(self) -> None:
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
                    self._config.workeroutput[_WORKER_RESULTS] = self._run.to_json()  # type: ignore[attr-defined]
                else:
                    self._publish(self._run, tuple(self._runner.redactor.secrets))
        finally:
            self._runner.close()
            self._runner = None

    def write_merged_worker_results(self) -> None:
        """pytest-xdist controller: one results document from every worker's scenarios."""
        if not self._wants_results() or not self.worker_documents:
            return
        runs = [RunResult.from_json(text) for text in self.worker_documents]
        merged = RunResult.new(target=runs[0].target, run_id=runs[0].run_id)
        merged.started_at = min(run.started_at for run in runs)
        merged.proxy_version = next((run.proxy_version for run in runs if run.proxy_version), None)
        # with an explicit `--dist load` a scenario may have run on several workers: keep one
        unique = {s.id: s for run in reversed(runs) for s in run.scenarios}
        merged.scenarios = sorted(unique.values(), key=lambda s: s.id)
        merged.finish()
        self._publish(merged)


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
        # One xdist group per model list, so every scenario that needs the same proxy runs on the
        # same worker and each proxy boots once per session: `pytest -n N` does so by itself
        # (pytest_xdist_make_scheduler); the marker serves an explicit `--dist loadgroup`.
        group = pytest.mark.xdist_group(proxy_group(scenario))
        for check in checks_for(scenario):
            item = ScenarioCheckItem.from_parent(self, name=check.title, scenario=scenario, check=check)
            item.add_marker(group)
            yield item


class CheckFailed(AssertionError):
    """A check whose observation contradicts the expectation.

    An AssertionError, so that reporters (allure-pytest) count it as a failed test, not a
    broken one; CheckErrored stays a plain exception: the harness could not decide.
    """


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
        self.user_properties.append(("scenario_id", scenario.id))

    def setup(self) -> None:
        result = self.config.stash[_RUNNER_KEY].result_for(self.scenario)
        self.verdict = next((v for v in result.verdicts if v.check_id == self.check.id), None)
        if self.verdict is None:
            raise CheckErrored(f"{self.check.title}: no verdict was recorded (harness bug)")
        if getattr(self.config.option, "allure_report_dir", None):  # allure-pytest is recording
            from harness.report.allure import annotate_pytest_item

            annotate_pytest_item(self.config.stash[_RUNNER_KEY].target, result, self.verdict)
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


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    # A verdict is reported as its evidence text, not a traceback, in setup (error) as in
    # call (failure); its first line, the verdict sentence, is the short message.
    report = yield
    excinfo = call.excinfo
    if excinfo is not None and isinstance(excinfo.value, (CheckFailed, CheckErrored)):
        report.longrepr = _VerdictRepr(str(excinfo.value), str(item.path))
    return report


@dataclass(frozen=True)
class _CrashLine:
    path: str
    lineno: int
    message: str


class _VerdictRepr:
    """A failure text whose first line (the verdict sentence) is its short message.

    JUnit's `<failure message=…>`/`<error message=…>` and the `-ra` summary line read
    `longrepr.reprcrash.message`; the element text and the terminal get the whole text.
    """

    def __init__(self, text: str, path: str) -> None:
        self.text = text
        self.reprcrash = _CrashLine(path, 0, text.splitlines()[0] if text else "")

    def toterminal(self, tw: Any) -> None:
        for line in self.text.splitlines():
            tw.line(line)

    def __str__(self) -> str:
        return self.text


def _describe(verdict: Verdict) -> str:
    """The verdict sentence plus its evidence, as a pytest failure text."""
    from harness.report.text import evidence_text

    return evidence_text(verdict)
