"""One pytest item per check: its verdict as a pytest outcome, its failure as the evidence text.

Verdicts map onto pytest outcomes: fail → failed test, error → error (in setup, so JUnit
writes `<error>`), skip → skipped with the reason. An item is located at the YAML line of the
expectation it checks (as Tavern locates its tests): `reportinfo()`, the failure text, the
`--tb=line` crash line and the `-ra`/JUnit skip lines name `scenarios/…/x.yaml:LINE`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from harness.model.check import Check
from harness.model.scenario import Scenario
from harness.model.verdict import Outcome, Verdict
from harness.oracle.explicit import expectation_path
from harness.pytest.session import RUNNER_KEY


class CheckFailed(AssertionError):
    """A check whose observation contradicts the expectation.

    An AssertionError, so that reporters (allure-pytest) count it as a failed test, not a
    broken one; CheckErrored stays a plain exception: the harness could not decide.
    """


class CheckErrored(Exception):
    """A check the harness could not decide (5xx, timeout, odd body, target or provisioning error)."""


class ScenarioCheckItem(pytest.Item):
    """One check of one scenario, located at the line of the expectation it checks."""

    def __init__(self, *, scenario: Scenario, check: Check, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.scenario = scenario
        self.check = check
        self.verdict: Verdict | None = None
        self.expectation_path = expectation_path(scenario, check)
        #: 1-based line of the expectation in the scenario file (None for a scenario built in code)
        self.expectation_line = scenario.line_of(*self.expectation_path)
        self.user_properties.append(("check_id", check.id))
        self.user_properties.append(("scenario_id", scenario.id))

    def setup(self) -> None:
        result = self.config.stash[RUNNER_KEY].result_for(self.scenario)
        self.verdict = next((v for v in result.verdicts if v.check_id == self.check.id), None)
        if self.verdict is None:
            raise CheckErrored(f"{self.check.title}: no verdict was recorded (harness bug)")
        if getattr(self.config.option, "allure_report_dir", None):  # allure-pytest is recording
            from harness.report.allure import annotate_pytest_item

            annotate_pytest_item(self.config.stash[RUNNER_KEY].target, result, self.verdict)
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
            return self.failure_text(excinfo.value)
        return str(super().repr_failure(excinfo, style=style))

    def reportinfo(self) -> tuple[Path, int | None, str]:
        # pytest counts reportinfo's lines from 0 (and shows them plus one, as Tavern relies on)
        line = self.expectation_line - 1 if self.expectation_line is not None else None
        return self.path, line, f"{self.scenario.id}: {self.check.title}"

    @property
    def yaml_location(self) -> str:
        """`scenarios/…/x.yaml:39`: the expectation's line, the path written as in the test's id."""
        path = self.location[0]
        return f"{path}:{self.expectation_line}" if self.expectation_line is not None else path

    def failure_text(self, error: BaseException) -> str:
        """The verdict and its evidence, then where the expectation is written."""
        fields = ".".join(part for part in self.expectation_path if isinstance(part, str))
        if self.check.model is not None and isinstance(self.expectation_path[-1], int):
            fields += f": {self.check.model}"
        return f"{error}\n  expectation: {self.yaml_location} ({fields})"


def as_verdict_report(item: Any, call: pytest.CallInfo[None], report: pytest.TestReport) -> pytest.TestReport:
    """Word a check's report in the scenario's terms instead of the plugin's code.

    A verdict is reported as its evidence text, not a traceback, in setup (error) as in call
    (failure); its first line, the verdict sentence, is the short message. A skip is located
    at the expectation's YAML line, not at the plugin line that skipped it.
    """
    if not isinstance(item, ScenarioCheckItem) and not hasattr(item, "failure_text"):
        return report  # neither a check nor the sweep of a key (`harness.pytest.sweep_items`)
    excinfo = call.excinfo
    if excinfo is not None and isinstance(excinfo.value, (CheckFailed, CheckErrored)):
        report.longrepr = _VerdictRepr(item.failure_text(excinfo.value), item.location[0], item.expectation_line)
    elif report.skipped and isinstance(report.longrepr, tuple) and item.expectation_line is not None:
        reason = report.longrepr[2]
        report.longrepr = (item.location[0], item.expectation_line, reason)
    return report


@dataclass(frozen=True)
class _CrashLine:
    """Where and what, as pytest's own crash location: `--tb=line` prints it as `path:line: message`."""

    path: str
    lineno: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.lineno}: {self.message}"


class _VerdictRepr:
    """A failure text whose first line (the verdict sentence) is its short message.

    JUnit's `<failure message=…>`/`<error message=…>` and the `-ra` summary line read
    `longrepr.reprcrash.message`; the element text and the terminal get the whole text.
    """

    def __init__(self, text: str, path: str, line: int | None) -> None:
        self.text = text
        self.reprcrash = _CrashLine(path, line or 0, text.splitlines()[0] if text else "")

    def toterminal(self, tw: Any) -> None:
        for line in self.text.splitlines():
            tw.line(line)

    def __str__(self) -> str:
        return self.text


def _describe(verdict: Verdict) -> str:
    """The verdict sentence plus its evidence, as a pytest failure text."""
    from harness.report.text import evidence_text

    return evidence_text(verdict)
