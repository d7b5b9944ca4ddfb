"""One pytest item per check: its verdict as a pytest outcome, its failure as the evidence text.

Verdicts map onto pytest outcomes: fail → failed test, error → error (in setup, so JUnit
writes `<error>`), skip → skipped with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from harness.model.check import Check
from harness.model.scenario import Scenario
from harness.model.verdict import Outcome, Verdict
from harness.pytest.session import RUNNER_KEY


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
            return str(excinfo.value)
        return str(super().repr_failure(excinfo, style=style))

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, f"{self.scenario.id}: {self.check.title}"


def as_verdict_report(item: pytest.Item, call: pytest.CallInfo[None], report: pytest.TestReport) -> pytest.TestReport:
    """A verdict is reported as its evidence text, not a traceback, in setup (error) as in call
    (failure); its first line, the verdict sentence, is the short message."""
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
