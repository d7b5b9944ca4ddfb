"""The CI gate: exit codes, expected-failure bookkeeping, baselines, and file errors with lines."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from harness.cli import app as cli
from harness.engine import runner
from harness.model.check import Check, Expect
from harness.model.exit_codes import ExitCode
from harness.compare.gate import (
    ExpectedFailure,
    ExpectedFailures,
    ExpectedFailuresError,
    evaluate_gate,
    load_expected_failures,
    parse_expected_failures,
)
from harness.model.results import RunResult, ScenarioResult
from harness.model.verdict import Outcome, Verdict

SCENARIO = "seed"
SVC_GPT4O = "seed::svc::chat::gpt-4o"
SVC_CLAUDE = "seed::svc::chat::claude-sonnet"
SVC_MINI = "seed::svc::chat::gpt-4o-mini"


def _verdict(model: str, outcome: Outcome, principal: str = "svc") -> Verdict:
    check = Check(SCENARIO, principal, "chat", model=model, expect=Expect.DENIED)
    return Verdict(check, outcome, f"{check.title}: {outcome.value}", None, "denied", outcome.value)


def run_with(outcomes: dict[str, Outcome], error: str | None = None) -> RunResult:
    """A results document whose svc checks (by model) have the given outcomes."""
    result = RunResult.new(target="litellm==1.82.3", run_id="r1")
    verdicts = [_verdict(model, outcome) for model, outcome in outcomes.items()]
    result.scenarios.append(ScenarioResult(id=SCENARIO, title="seed", verdicts=verdicts, error=error))
    return result


def expected(*check_ids: str) -> ExpectedFailures:
    return ExpectedFailures([ExpectedFailure(c, "known bug", line=i + 1) for i, c in enumerate(check_ids)],
                            "known.yaml")


# --------------------------------------------------------------------------- exit codes


def test_all_pass_is_exit_0() -> None:
    report = evaluate_gate(run_with({"gpt-4o": Outcome.PASS, "claude-sonnet": Outcome.SKIP}))
    assert report.exit_code == ExitCode.OK


def test_a_failure_nobody_expected_is_a_regression() -> None:
    report = evaluate_gate(run_with({"gpt-4o": Outcome.FAIL, "claude-sonnet": Outcome.PASS}))
    assert report.exit_code == ExitCode.FOUND
    assert [item.check_id for item in report.new_failures] == [SVC_GPT4O]
    assert any(line.startswith(f"REGRESSION {SVC_GPT4O}") for line in report.lines())


def test_only_expected_failures_pass_the_gate() -> None:
    report = evaluate_gate(run_with({"gpt-4o": Outcome.FAIL, "claude-sonnet": Outcome.PASS}), expected(SVC_GPT4O))
    assert report.exit_code == ExitCode.OK
    assert [item.check_id for item in report.expected_failures] == [SVC_GPT4O]
    assert "expected failure" in "\n".join(report.lines())


def test_errors_are_never_absorbed_by_the_list_or_the_baseline() -> None:
    result = run_with({"gpt-4o": Outcome.ERROR})
    report = evaluate_gate(result, expected(SVC_GPT4O), baseline=run_with({"gpt-4o": Outcome.ERROR}))
    assert report.exit_code == ExitCode.UNDECIDED


def test_target_that_did_not_boot_is_exit_2_never_a_pass() -> None:
    result = run_with({"gpt-4o": Outcome.ERROR}, error="target did not start: proxy exited")
    report = evaluate_gate(result)
    assert report.exit_code == ExitCode.UNDECIDED
    assert any("target did not start" in line for line in report.lines())


def test_an_empty_run_cannot_pass() -> None:
    assert evaluate_gate(RunResult.new(target="litellm==1.82.3")).exit_code == ExitCode.UNDECIDED


def test_a_regression_wins_over_an_error() -> None:
    report = evaluate_gate(run_with({"gpt-4o": Outcome.FAIL, "claude-sonnet": Outcome.ERROR}))
    assert report.exit_code == ExitCode.FOUND


@pytest.mark.parametrize(
    ("outcomes", "overall_code"),
    [({"gpt-4o": Outcome.PASS}, 0), ({"gpt-4o": Outcome.FAIL}, 1), ({"gpt-4o": Outcome.ERROR}, 2),
     ({"gpt-4o": Outcome.SKIP}, 0), ({"gpt-4o": Outcome.FAIL, "x": Outcome.ERROR}, 1)],
)
def test_without_list_or_baseline_the_gate_matches_the_run_verdict(outcomes: dict, overall_code: int) -> None:
    result = run_with(outcomes)
    assert evaluate_gate(result).exit_code == overall_code
    assert {"pass": 0, "fail": 1}.get(result.overall, 2) == overall_code


# --------------------------------------------------------------------------- bookkeeping


def test_expected_failure_that_passes_now_is_reported_fixed_and_does_not_fail() -> None:
    report = evaluate_gate(run_with({"gpt-4o": Outcome.PASS}), expected(SVC_GPT4O))
    assert report.exit_code == ExitCode.OK
    assert [entry.check for entry in report.fixed_expected] == [SVC_GPT4O]
    assert f"fixed — remove it from the list: {SVC_GPT4O} (known.yaml:1) passes now" in report.lines()


def test_expected_failure_not_in_the_run_is_a_note() -> None:
    report = evaluate_gate(run_with({"gpt-4o": Outcome.PASS}), expected("other::k::chat::m"))
    assert [e.check for e in report.unmatched_expected] == ["other::k::chat::m"]
    assert report.exit_code == ExitCode.OK


def test_pattern_entry_covers_several_checks_and_is_fixed_only_when_none_fails() -> None:
    entry = ExpectedFailures([ExpectedFailure("seed::svc::*", "23850")], "known.yaml")
    failing = evaluate_gate(run_with({"gpt-4o": Outcome.FAIL, "claude-sonnet": Outcome.FAIL,
                                      "gpt-4o-mini": Outcome.PASS}), entry)
    assert failing.exit_code == ExitCode.OK and len(failing.expected_failures) == 2
    assert failing.fixed_expected == []
    fixed = evaluate_gate(run_with({"gpt-4o": Outcome.PASS, "claude-sonnet": Outcome.PASS}), entry)
    assert [e.check for e in fixed.fixed_expected] == ["seed::svc::*"]


def test_baseline_separates_new_still_failing_and_fixed() -> None:
    baseline = run_with({"gpt-4o": Outcome.FAIL, "claude-sonnet": Outcome.FAIL, "gpt-4o-mini": Outcome.PASS})
    now = run_with({"gpt-4o": Outcome.FAIL, "claude-sonnet": Outcome.PASS, "gpt-4o-mini": Outcome.FAIL})
    report = evaluate_gate(now, baseline=baseline)
    assert [i.check_id for i in report.still_failing] == [SVC_GPT4O]
    assert [i.check_id for i in report.fixed_since_baseline] == [SVC_CLAUDE]
    assert [i.check_id for i in report.new_failures] == [SVC_MINI]
    assert report.exit_code == ExitCode.FOUND
    summary = report.lines()[-1]
    assert "1 new failure(s)" in summary and "1 still failing" in summary and "1 fixed" in summary


def test_baseline_failures_only_pass_the_gate() -> None:
    baseline = run_with({"gpt-4o": Outcome.FAIL})
    report = evaluate_gate(run_with({"gpt-4o": Outcome.FAIL}), baseline=baseline)
    assert report.exit_code == ExitCode.OK
    assert "still failing (as in the baseline)" in "\n".join(report.lines())


def test_checks_failing_in_baseline_but_not_run_are_noted() -> None:
    baseline = run_with({"gpt-4o": Outcome.FAIL, "claude-sonnet": Outcome.FAIL})
    report = evaluate_gate(run_with({"gpt-4o": Outcome.FAIL}), baseline=baseline)
    assert report.gone_from_baseline == [SVC_CLAUDE]


# --------------------------------------------------------------------------- the file


def test_file_is_parsed_with_lines(tmp_path: Path) -> None:
    path = tmp_path / "known.yaml"
    path.write_text(
        "# known failures\n"
        f"- check: {SVC_GPT4O}\n"
        "  why: BerriAI/litellm#23850, open\n"
        "  issue: https://github.com/BerriAI/litellm/issues/23850\n"
        "- check: seed::control::*\n"
        "  why: flaky on 1.82\n"
    )
    loaded = load_expected_failures(path)
    assert [(e.check, e.line) for e in loaded.entries] == [(SVC_GPT4O, 2), ("seed::control::*", 5)]
    assert loaded.entries[0].issue == "https://github.com/BerriAI/litellm/issues/23850"
    assert loaded.where(loaded.entries[1]) == f"{path}:5"


def test_empty_file_expects_nothing() -> None:
    assert parse_expected_failures("# nothing yet\n").entries == []


@pytest.mark.parametrize(
    ("text", "expected_message"),
    [
        ("- check: a::b::chat::m\n  whyy: x\n", "known.yaml:2: [0].whyy: unknown field (did you mean 'why'?)"),
        ("- check: a::b::chat::m\n  why: x\n  steps: y\n",
         "known.yaml:3: [0].steps: unknown field (allowed: check, why, issue)"),
        ("- check: a::b::chat::m\n", "known.yaml:1: [0].why: required"),
        ("- why: x\n", "known.yaml:1: [0].check: required"),
        ("- check: a::b::chats::m\n  why: x\n", "known.yaml:1: [0].check: unknown probe 'chats' in "
                                                "'a::b::chats::m' (did you mean 'chat'?)"),
        ("- check: just-a-scenario\n  why: x\n", "known.yaml:1: [0].check: 'just-a-scenario' is not a check id"),
        ("- check: a::b::chat::m\n  why: x\n  issue: not-a-url\n", "known.yaml:3: [0].issue: 'not-a-url' is not a URL"),
        ("- check: a::b::chat::m\n  why: ''\n", "known.yaml:2: [0].why: must be a non-empty text"),
        ("check: a::b::chat::m\nwhy: x\n", "known.yaml:1: expected a list of entries"),
        ("- check: a::b::chat::m\n  why: x\n- [oops\n", "known.yaml:4: YAML syntax error"),
        ("- check: a::b::chat::m\n  why: x\n\n- check: a::b::chat::m\n  why: y\n",
         "known.yaml:4: [1].check: 'a::b::chat::m' is listed twice (first at line 1)"),
    ],
)
def test_file_errors_name_file_line_and_field(text: str, expected_message: str) -> None:
    with pytest.raises(ExpectedFailuresError) as error:
        parse_expected_failures(text, "known.yaml")
    assert str(error.value).startswith(expected_message), str(error.value)


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(ExpectedFailuresError) as error:
        parse_expected_failures("- check: a::b::chat::m\n  whyy: x\n- why: y\n", "known.yaml")
    # the misspelt field (not also "why: required") and the second entry's missing check
    assert [str(p) for p in error.value.problems] == [
        "known.yaml:2: [0].whyy: unknown field (did you mean 'why'?)",
        "known.yaml:3: [1].check: required",
    ]


# --------------------------------------------------------------------------- the run command


SEED = Path(__file__).parents[2] / "scenarios/litellm/issue-23850-access-group-limits-service-key.yaml"


def test_run_rejects_a_bad_expected_failures_file_before_starting(tmp_path: Path, no_target: list[str]) -> None:
    known = tmp_path / "known.yaml"
    known.write_text("- check: a::b::chat::m\n  whyy: x\n")
    result = CliRunner().invoke(cli.app, ["run", str(SEED), "--expected-failures", str(known)])
    assert result.exit_code == 2
    assert f"{known}:2: [0].whyy: unknown field" in result.output
    assert no_target == []


def test_run_rejects_a_missing_baseline_before_starting(tmp_path: Path, no_target: list[str]) -> None:
    result = CliRunner().invoke(cli.app, ["run", str(SEED), "--baseline", str(tmp_path / "nope.json")])
    assert result.exit_code == 2
    assert "no such baseline results file" in result.output
    assert no_target == []


def test_run_exit_code_comes_from_the_gate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With a fake runner: the seed fails on svc; listed as expected, the run exits 0 and says so."""
    from harness.oracle.explicit import checks_for

    class FakeRunner(runner.ScenarioRunner):
        """The real runner's bookkeeping, with a canned verdict per check instead of a proxy."""

        def release(self, models) -> None:  # type: ignore[no-untyped-def]
            pass

        def run(self, scenario):  # type: ignore[no-untyped-def]
            verdicts = [
                Verdict(c, Outcome.FAIL if c.principal == "svc" and c.expect is Expect.DENIED else Outcome.PASS,
                        c.title, None, "x", "y")
                for c in checks_for(scenario)
            ]
            return ScenarioResult(id=scenario.id, title=scenario.title, verdicts=verdicts)

    monkeypatch.setattr(runner, "ScenarioRunner", FakeRunner)
    known = tmp_path / "known.yaml"
    known.write_text(
        "- check: litellm-23850-access-group-limits-service-key::svc::chat::*\n  why: BerriAI/litellm#23850\n"
    )
    args = ["run", str(SEED), "--report-dir", str(tmp_path / "out")]
    assert CliRunner().invoke(cli.app, args).exit_code == 1
    result = CliRunner().invoke(cli.app, [*args, "--expected-failures", str(known)])
    assert result.exit_code == 0, result.output
    assert "gate: PASS (exit 0)" in result.output
