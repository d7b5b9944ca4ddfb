"""One pytest item per key a scenario sweeps: does every route keep out what the key must not reach?

The sweep's checks (`harness.oracle.sweep`) exist only once the proxy has told its routes, after
collection; each key with expectations gets one item collected up front that stands for all of
that key's sweep checks: it fails when any of them failed (a bypass first), errors when any
errored, is skipped when all were, and passes otherwise. The failure text names every route that
did not come out as expected; the item is located at the key's expectations in the YAML.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from harness.model.results import ScenarioResult
from harness.model.scenario import Scenario
from harness.model.verdict import Outcome, Verdict
from harness.oracle.sweep import SWEEP
from harness.pytest.items import CheckErrored, CheckFailed
from harness.pytest.session import RUNNER_KEY

_LISTED = 40  # routes named in a failure text; the reports name them all


def sweep_item_name(principal: str) -> str:
    """`svc on every model-bearing route`."""
    return f"{principal} on every model-bearing route"


class SweepItem(pytest.Item):
    """The sweep of one key of one scenario (see the module docstring)."""

    def __init__(self, *, scenario: Scenario, principal: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.scenario = scenario
        self.principal = principal
        self.expectation_line = scenario.line_of("expect", principal)
        self.user_properties.append(("scenario_id", scenario.id))
        self._failure: str | None = None

    def setup(self) -> None:
        result = self.config.stash[RUNNER_KEY].result_for(self.scenario)
        verdicts = _swept(result, self.principal)
        if result.error is not None and not verdicts:
            raise CheckErrored(f"{self.name}: the scenario could not run: {result.error}")
        if not verdicts:
            pytest.skip("no model-bearing route to try (the proxy described none, or none applies)")
        outcomes = {v.outcome for v in verdicts}
        if Outcome.FAIL in outcomes:
            self._failure = _text(self.name, verdicts, (Outcome.FAIL, Outcome.ERROR))
        elif Outcome.ERROR in outcomes:
            raise CheckErrored(_text(self.name, verdicts, (Outcome.ERROR,)))
        elif outcomes == {Outcome.SKIP}:
            pytest.skip(verdicts[0].message)

    def runtest(self) -> None:
        if self._failure is not None:
            raise CheckFailed(self._failure)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, (CheckFailed, CheckErrored)):
            return self.failure_text(excinfo.value)
        return str(super().repr_failure(excinfo, style=style))

    def failure_text(self, error: BaseException) -> str:
        """What went wrong on which routes, then where the key's expectations are written."""
        where = f"{self.location[0]}:{self.expectation_line}" if self.expectation_line else self.location[0]
        return f"{error}\n  expectation: {where} (expect.{self.principal})"

    def reportinfo(self) -> tuple[Path, int | None, str]:
        line = self.expectation_line - 1 if self.expectation_line is not None else None
        return self.path, line, f"{self.scenario.id}: {self.name}"


def _swept(result: ScenarioResult, principal: str) -> list[Verdict]:
    return [v for v in result.verdicts if v.check.oracle == SWEEP and v.check.principal == principal]


def _text(name: str, verdicts: list[Verdict], outcomes: tuple[Outcome, ...]) -> str:
    """`svc on every model-bearing route: 2 of 64 routes not as expected` and one line per route."""
    from harness.report.routes_view import attention_rank, is_bypass, route_of

    wrong = sorted((v for v in verdicts if v.outcome in outcomes), key=attention_rank)
    lines = [f"{name}: {len(wrong)} of {len(verdicts)} checks not as expected"]
    for verdict in wrong[:_LISTED]:
        word = "BYPASS" if is_bypass(verdict) else verdict.outcome.value.upper()
        lines.append(f"  {word} {route_of(verdict)}: {verdict.message}")
    if len(wrong) > _LISTED:
        lines.append(f"  … and {len(wrong) - _LISTED} more (in the reports)")
    return "\n".join(lines)
