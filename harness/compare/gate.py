"""The CI gate: which failures are regressions, and the exit code that says so.

Two ways to say a failure is already known:
- an **expected-failures file** (YAML, a list of `{check: <check id>, why: <text>, issue?: <url>}`;
  `*` in a check id matches any characters, e.g. `issue-23850::svc::*`);
- a **baseline**: the results document of an earlier run (`--baseline last/results.json`); a
  check that failed there and fails again is "still failing", not new.

Exit codes (`GateReport.exit_code`):
- 0: every check passed or skipped, or failed only where expected/known from the baseline;
- 1: a regression: a check failed that is neither listed as expected nor failed in the baseline;
- 2: the harness or the target could not decide (a check errored, the proxy did not start, or
  nothing was judged at all). Errors are never absorbed by the list or the baseline: "could
  not tell" is never a pass. A regression wins over an error, because it is a definite answer.

An expected failure that now passes is reported as "fixed — remove it from the list", so the
list does not rot; it does not fail the gate.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from harness.compare.expected_failures import (  # noqa: F401 - the gate's input, named here for callers
    ExpectedFailure, ExpectedFailures, ExpectedFailuresError, ExpectedFailuresProblem, load_expected_failures,
    parse_expected_failures,
)
from harness.gateways import registry
from harness.model.exit_codes import ExitCode
from harness.model.results import RunResult
from harness.model.verdict import Outcome, Verdict
from harness.store.documents import read_results

#: How many items of one kind `lines()` lists before summarising the rest.
MAX_LISTED = 20


# --------------------------------------------------------------------------- the gate


@dataclass(frozen=True)
class GateItem:
    """One check the gate has something to say about."""

    check_id: str
    title: str
    message: str
    scenario_id: str
    entry: ExpectedFailure | None = None  # the expected-failures entry that names it


@dataclass
class GateReport:
    """What the gate decided, by kind, with the exit code and sentences for people."""

    new_failures: list[GateItem] = field(default_factory=list)  # regressions
    expected_failures: list[GateItem] = field(default_factory=list)  # failing, listed in the file
    still_failing: list[GateItem] = field(default_factory=list)  # failing, as in the baseline
    errors: list[GateItem] = field(default_factory=list)  # could not tell
    fixed_expected: list[ExpectedFailure] = field(default_factory=list)  # listed, nothing fails now
    fixed_since_baseline: list[GateItem] = field(default_factory=list)  # failed in baseline, passes now
    unmatched_expected: list[ExpectedFailure] = field(default_factory=list)  # listed, not run
    gone_from_baseline: list[str] = field(default_factory=list)  # failed in baseline, not run now
    scenario_errors: list[str] = field(default_factory=list)  # scenarios that could not run
    judged: int = 0  # verdicts in the run
    expected_path: str | None = None
    baseline_label: str | None = None

    @property
    def exit_code(self) -> int:
        """0 conform (or only known failures), 1 regressions, 2 the harness could not decide."""
        if self.new_failures:
            return ExitCode.FOUND
        if self.errors or self.scenario_errors or self.judged == 0:
            return ExitCode.UNDECIDED
        return ExitCode.OK

    @property
    def verdict(self) -> str:
        """The headline word for the exit code."""
        return {ExitCode.OK: "PASS", ExitCode.FOUND: "REGRESSION", ExitCode.UNDECIDED: "ERROR"}[self.exit_code]

    def lines(self) -> list[str]:
        """Human sentences, most important first, ending with a one-line summary."""
        out: list[str] = []
        for item in self.new_failures[:MAX_LISTED]:
            out.append(f"REGRESSION {item.check_id}: {item.message}")
        out += _more(self.new_failures, "regressions")
        for item in self.errors[:MAX_LISTED]:
            out.append(f"ERROR {item.check_id}: {item.message}")
        out += _more(self.errors, "errors")
        for message in self.scenario_errors:
            out.append(f"ERROR {message}")
        if self.judged == 0:
            out.append("ERROR nothing was judged: an empty run cannot pass the gate")
        for entry in self.fixed_expected:
            out.append(f"fixed — remove it from the list: {entry.check} ({self._where(entry)}) passes now")
        for item in self.fixed_since_baseline[:MAX_LISTED]:
            out.append(f"fixed since the baseline: {item.check_id}")
        out += _more(self.fixed_since_baseline, "fixed checks")
        out += self._expected_lines()
        for item in self.still_failing[:MAX_LISTED]:
            out.append(f"still failing (as in the baseline) {item.check_id}")
        out += _more(self.still_failing, "still failing")
        for entry in self.unmatched_expected:
            out.append(f"note: {entry.check} ({self._where(entry)}) matched no check that ran")
        if self.gone_from_baseline:
            shown = ", ".join(self.gone_from_baseline[:5])
            rest = f" and {len(self.gone_from_baseline) - 5} more" if len(self.gone_from_baseline) > 5 else ""
            out.append(f"note: failed in the baseline but not run now: {shown}{rest}")
        out.append(self.summary())
        return out

    def _expected_lines(self) -> list[str]:
        """One line per expected-failures entry: its why, issue, and the checks it covered."""
        by_entry: dict[ExpectedFailure, list[str]] = {}
        for item in self.expected_failures:
            assert item.entry is not None
            by_entry.setdefault(item.entry, []).append(item.check_id)
        lines = []
        for entry, check_ids in by_entry.items():
            issue = f" ({entry.issue})" if entry.issue else ""
            shown = ", ".join(check_ids[:MAX_LISTED]) + (" …" if len(check_ids) > MAX_LISTED else "")
            lines.append(f"expected failure ×{len(check_ids)} [{self._where(entry)}] {entry.why}{issue}: {shown}")
        return lines

    def summary(self) -> str:
        """e.g. `gate: REGRESSION (exit 1) — 1 new failure, 2 expected, 0 still failing, 1 fixed, 0 errors`."""
        fixed = len(self.fixed_expected) + len(self.fixed_since_baseline)
        parts = [
            f"{len(self.new_failures)} new failure(s)",
            f"{len(self.expected_failures)} expected",
            f"{len(self.still_failing)} still failing",
            f"{fixed} fixed",
            f"{len(self.errors)} error(s)",
        ]
        against = [s for s in (self.expected_path and f"expected failures {self.expected_path}",
                               self.baseline_label and f"baseline {self.baseline_label}") if s]
        tail = f" (against {' and '.join(against)})" if against else ""
        return f"gate: {self.verdict} (exit {self.exit_code}) — {', '.join(parts)}{tail}"

    def _where(self, entry: ExpectedFailure) -> str:
        path = self.expected_path or "expected failures"
        return f"{path}:{entry.line}" if entry.line else path


def _more(items: list, what: str) -> list[str]:
    return [f"… and {len(items) - MAX_LISTED} more {what}"] if len(items) > MAX_LISTED else []


def _verdicts(result: RunResult) -> Iterable[tuple[str, Verdict]]:
    for scenario in result.scenarios:
        for verdict in scenario.verdicts:
            yield scenario.id, verdict


def failing_check_ids(result: RunResult) -> set[str]:
    """Ids of the checks that failed (not errored) in a run."""
    return {v.check_id for _, v in _verdicts(result) if v.outcome is Outcome.FAIL}


def evaluate_gate(
    result: RunResult, expected: ExpectedFailures | None = None, baseline: RunResult | None = None
) -> GateReport:
    """Sort every verdict of `result` into regressions, known failures, fixes and errors."""
    expected = expected or ExpectedFailures([])
    baseline_failing = failing_check_ids(baseline) if baseline is not None else set()
    report = GateReport(
        expected_path=expected.path if expected.entries else None,
        baseline_label=_baseline_label(baseline) if baseline is not None else None,
    )
    outcomes_by_entry: dict[ExpectedFailure, list[Outcome]] = {e: [] for e in expected.entries}
    seen: set[str] = set()
    for scenario_id, verdict in _verdicts(result):
        report.judged += 1
        seen.add(verdict.check_id)
        entry = expected.entry_for(verdict.check_id)
        if entry is not None:
            outcomes_by_entry[entry].append(verdict.outcome)
        item = GateItem(verdict.check_id, verdict.title, verdict.message, scenario_id, entry)
        _classify(report, item, verdict.outcome, in_baseline=verdict.check_id in baseline_failing)
    report.scenario_errors = [f"{s.id}: {s.error}" for s in result.scenarios if s.error]
    for entry, outcomes in outcomes_by_entry.items():
        if not outcomes:
            report.unmatched_expected.append(entry)
        elif Outcome.PASS in outcomes and not {Outcome.FAIL, Outcome.ERROR} & set(outcomes):
            report.fixed_expected.append(entry)
    report.gone_from_baseline = sorted(baseline_failing - seen)
    return report


def _classify(report: GateReport, item: GateItem, outcome: Outcome, in_baseline: bool) -> None:
    if outcome is Outcome.ERROR:
        report.errors.append(item)
    elif outcome is Outcome.FAIL:
        if item.entry is not None:
            report.expected_failures.append(item)
        elif in_baseline:
            report.still_failing.append(item)
        else:
            report.new_failures.append(item)
    elif outcome is Outcome.PASS and in_baseline:
        report.fixed_since_baseline.append(item)


def _baseline_label(baseline: RunResult) -> str:
    version = f", {registry.title_of(baseline.target)} {baseline.proxy_version}" if baseline.proxy_version else ""
    return f"{baseline.run_id} ({baseline.target}{version})"


def load_baseline(path: str | Path) -> RunResult:
    """Read a results document to compare against; `ValueError` with the path if unusable."""
    try:
        return read_results(path)
    except FileNotFoundError:
        raise ValueError(f"{path}: no such baseline results file") from None
    except ValueError as exc:  # pydantic's ValidationError is a ValueError
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ValueError(f"{path}: not a gateconform results document ({first})") from None


class GateInputError(Exception):
    """An expected-failures or baseline file given to the gate is unusable (exit 2, nothing starts)."""


def load_gate_inputs(
    expected_path: str | Path | None, baseline_path: str | Path | None
) -> tuple[ExpectedFailures | None, RunResult | None]:
    """Read the gate's inputs before anything starts, so a typo fails in a second, not after a boot."""
    try:
        expected = load_expected_failures(expected_path) if expected_path else None
        baseline = load_baseline(baseline_path) if baseline_path else None
    except (ExpectedFailuresError, ValueError) as exc:
        raise GateInputError(str(exc)) from None
    return expected, baseline
