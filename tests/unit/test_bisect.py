"""Bisect over releases, on a fake verdict function: the answers a user relies on."""

from __future__ import annotations

import math

import pytest

from harness.compare.bisect import (
    BisectOutcome,
    Direction,
    ReleaseState,
    ReleaseVerdict,
    bisect_fix,
    bisect_releases,
    classify,
)
from harness.engine.events import BisectStep, Event, EventSink
from harness.model.bisect import side_by_side
from harness.model.check import Check, Expect
from harness.model.results import ScenarioResult
from harness.model.verdict import Outcome, Verdict
from harness.store.documents import write_results
from tests.fixtures import fake_releases

GOOD, BAD, NA, UNTESTABLE = (ReleaseState.GOOD, ReleaseState.BAD, ReleaseState.NOT_APPLICABLE,
                             ReleaseState.UNTESTABLE)
RELEASES = [f"1.{minor}.0" for minor in range(70, 90)]  # 20 releases, oldest first


class FakeReleases:
    """verdict_for over a fixed table; records what was asked, in order."""

    def __init__(self, states: dict[str, ReleaseState]) -> None:
        self.states = states
        self.asked: list[str] = []

    def __call__(self, version: str) -> ReleaseVerdict:
        self.asked.append(version)
        state = self.states[version]
        observed = {"s::svc::chat::gpt-4o": "fail: allowed (200)" if state is BAD else "pass: denied"}
        return ReleaseVerdict(version, state, f"{version} is {state.value}", observed)


def states_with_first_bad(first_bad: str, untestable: tuple[str, ...] = (), applicable_from: str | None = None):
    index = RELEASES.index(first_bad)
    first_applicable = RELEASES.index(applicable_from) if applicable_from else 0
    states = {}
    for i, version in enumerate(RELEASES):
        states[version] = NA if i < first_applicable else (GOOD if i < index else BAD)
    for version in untestable:
        states[version] = UNTESTABLE
    return states


@pytest.mark.parametrize("first_bad", RELEASES[1:])
def test_finds_the_first_bad_release_wherever_it_is(first_bad: str) -> None:
    fake = FakeReleases(states_with_first_bad(first_bad))
    result = bisect_releases(RELEASES, fake)
    assert result.outcome is BisectOutcome.FOUND
    assert result.first_bad is not None and result.first_bad.version == first_bad
    assert result.last_good is not None and result.last_good.version == RELEASES[RELEASES.index(first_bad) - 1]
    # both ends are tested, never assumed, and the search is logarithmic
    assert fake.asked[:2] == [RELEASES[-1], RELEASES[0]]
    assert len(fake.asked) <= 2 + math.ceil(math.log2(len(RELEASES)))


def test_untestable_midpoints_are_skipped_and_reported_never_guessed() -> None:
    states = states_with_first_bad("1.80.0", untestable=("1.79.0", "1.78.0"))
    fake = FakeReleases(states)
    result = bisect_releases(RELEASES, fake)
    assert result.outcome is BisectOutcome.FOUND
    # the change lies after the last testable good release, 1.77.0; the untestable ones are named
    assert result.last_good is not None and result.last_good.version == "1.77.0"
    assert result.first_bad is not None and result.first_bad.version == "1.80.0"
    assert result.untestable_between == ["1.78.0", "1.79.0"]
    assert {v.version for v in result.skipped} == {"1.78.0", "1.79.0"}
    assert "1.78.0, 1.79.0" in result.message


def test_untestable_bad_end_falls_back_to_a_testable_neighbour() -> None:
    states = states_with_first_bad("1.85.0", untestable=(RELEASES[-1],))
    result = bisect_releases(RELEASES, FakeReleases(states))
    assert result.outcome is BisectOutcome.FOUND
    assert result.first_bad is not None and result.first_bad.version == "1.85.0"
    assert RELEASES[-1] in [v.version for v in result.skipped]


def test_untestable_good_end_falls_back_to_a_testable_neighbour() -> None:
    states = states_with_first_bad("1.75.0", untestable=(RELEASES[0],))
    result = bisect_releases(RELEASES, FakeReleases(states))
    assert result.outcome is BisectOutcome.FOUND
    assert result.first_bad is not None and result.first_bad.version == "1.75.0"


def test_always_bad_when_the_good_end_already_fails() -> None:
    fake = FakeReleases({v: BAD for v in RELEASES})
    result = bisect_releases(RELEASES, fake)
    assert result.outcome is BisectOutcome.ALWAYS_BAD
    assert result.first_bad is not None and result.first_bad.version == RELEASES[0]
    assert fake.asked == [RELEASES[-1], RELEASES[0]]  # no search needed
    assert "always so" in result.message


def test_always_bad_when_older_releases_cannot_be_tested() -> None:
    states = {v: BAD for v in RELEASES}
    states.update({v: UNTESTABLE for v in RELEASES[:3]})
    result = bisect_releases(RELEASES, FakeReleases(states))
    assert result.outcome is BisectOutcome.ALWAYS_BAD
    assert result.first_bad is not None and result.first_bad.version == RELEASES[3]
    assert result.untestable_between == RELEASES[:3]


def test_not_reproduced_when_the_bad_end_is_good() -> None:
    fake = FakeReleases({v: GOOD for v in RELEASES})
    result = bisect_releases(RELEASES, fake)
    assert result.outcome is BisectOutcome.NOT_REPRODUCED
    assert fake.asked == [RELEASES[-1]]  # nothing else is worth booting
    assert "not bad" in result.message


def test_not_applicable_releases_narrow_the_search_to_where_the_scenario_applies() -> None:
    # access groups appear in 1.80.0 and are broken from their first release on
    states = states_with_first_bad("1.80.0", applicable_from="1.80.0")
    result = bisect_releases(RELEASES, FakeReleases(states))
    assert result.outcome is BisectOutcome.BAD_SINCE_APPLICABLE
    assert result.first_bad is not None and result.first_bad.version == "1.80.0"
    assert result.last_good is not None and result.last_good.state is NA
    assert result.last_good.version == "1.79.0"


def test_not_applicable_then_good_then_bad_finds_the_real_change() -> None:
    states = states_with_first_bad("1.84.0", applicable_from="1.78.0")
    result = bisect_releases(RELEASES, FakeReleases(states))
    assert result.outcome is BisectOutcome.FOUND
    assert result.last_good is not None and result.last_good.version == "1.83.0"


def test_nothing_testable_is_undecided() -> None:
    result = bisect_releases(RELEASES, FakeReleases({v: UNTESTABLE for v in RELEASES}))
    assert result.outcome is BisectOutcome.UNDECIDED
    assert len(result.tested) == len(RELEASES)  # every release was tried, none guessed


def test_two_adjacent_releases() -> None:
    result = bisect_releases(["1.0.0", "1.0.1"], FakeReleases({"1.0.0": GOOD, "1.0.1": BAD}))
    assert result.outcome is BisectOutcome.FOUND
    assert (result.last_good.version, result.first_bad.version) == ("1.0.0", "1.0.1")  # type: ignore[union-attr]


def test_needs_two_releases() -> None:
    with pytest.raises(ValueError):
        bisect_releases(["1.0.0"], FakeReleases({"1.0.0": GOOD}))


def steps(seen: list[tuple[str, int, int]]) -> EventSink:
    """A progress sink keeping (version, step, estimated total) of each `BisectStep`."""

    def keep(event: Event) -> None:
        if isinstance(event, BisectStep):
            seen.append((event.version, event.step, event.estimated_total))

    return keep


def test_progress_counts_steps_and_estimates_the_total() -> None:
    seen: list[tuple[str, int, int]] = []
    fake = FakeReleases(states_with_first_bad("1.81.0"))
    bisect_releases(RELEASES, fake, progress=steps(seen))
    assert [step for _, step, _ in seen] == list(range(1, len(fake.asked) + 1))
    assert all(total >= step for _, step, total in seen)
    first_estimate = seen[0][2]
    assert abs(first_estimate - len(fake.asked)) <= 2  # "3 of ~7" is close to the real count


def test_upcoming_names_the_releases_that_may_come_next() -> None:
    announced: list[list[str]] = []
    fake = FakeReleases(states_with_first_bad("1.81.0"))
    bisect_releases(RELEASES, fake, upcoming=announced.append)
    tested_after_first = fake.asked[1:]
    # every release tested after the first one had been announced beforehand
    flat = {v for group in announced for v in group}
    assert set(tested_after_first) <= flat


# --------------------------------------------------------------------------- classify


def _verdict(principal: str, model: str, outcome: Outcome, observed: str) -> Verdict:
    check = Check("s", principal, "chat", model=model, expect=Expect.DENIED)
    return Verdict(check, outcome, f"{check.title}: {observed}", None, "denied", observed)


def _result(*verdicts: Verdict, error: str | None = None) -> ScenarioResult:
    return ScenarioResult(id="s", title="t", verdicts=list(verdicts), error=error)


def test_classify_failed_check_is_bad_and_other_checks_do_not_matter() -> None:
    result = _result(_verdict("svc", "gpt-4o", Outcome.FAIL, "allowed (200)"),
                     _verdict("ctl", "gpt-4o", Outcome.PASS, "denied"))
    assert classify(result, "1.0").state is BAD
    assert classify(result, "1.0", check_id="s::ctl::chat::gpt-4o").state is GOOD


def test_classify_errors_and_unbootable_are_untestable_all_skipped_is_not_applicable() -> None:
    errored = _result(_verdict("svc", "gpt-4o", Outcome.ERROR, "HTTP 500"))
    assert classify(errored, "1.0").state is UNTESTABLE
    unbootable = _result(_verdict("svc", "gpt-4o", Outcome.ERROR, "error"), error="target did not start: boom\nlog")
    verdict = classify(unbootable, "1.0")
    assert verdict.state is UNTESTABLE and verdict.reason == "target did not start: boom"
    # a skipped check carries its reason (as `judge` leaves it); the message is not read back
    check = Check("s", "svc", "chat", model="gpt-4o", expect=Expect.DENIED, skip_reason="no access groups")
    skipped = _result(Verdict(check, Outcome.SKIP, f"{check.title}: skipped: no access groups", None,
                              "denied", "skipped"))
    verdict = classify(skipped, "1.0")
    assert verdict.state is NA and verdict.reason == "no access groups"
    assert verdict.observations == {"s::svc::chat::gpt-4o": "skipped"}
    assert verdict.titles == {"s::svc::chat::gpt-4o": "svc cannot call gpt-4o"}


def test_classify_unknown_check_is_untestable() -> None:
    result = _result(_verdict("svc", "gpt-4o", Outcome.PASS, "denied"))
    assert classify(result, "1.0", check_id="s::nobody::chat::x").state is UNTESTABLE


def test_side_by_side_marks_the_observations_that_differ() -> None:
    good = ReleaseVerdict("1.0", GOOD, observations={"a": "pass: denied", "b": "pass: allowed"},
                          titles={"a": "svc cannot call a", "b": "svc can call b"})
    bad = ReleaseVerdict("1.1", BAD, observations={"a": "fail: allowed (200)", "b": "pass: allowed"})
    rows = side_by_side(good, bad)
    assert [(r.title, r.before, r.after, r.differs) for r in rows] == [
        ("svc cannot call a", "pass: denied", "fail: allowed (200)", True),
        ("svc can call b", "pass: allowed", "pass: allowed", False),
    ]


# --------------------------------------------------------------------------- in which release was it fixed?


def states_with_first_good(first_good: str, untestable: tuple[str, ...] = (), applicable_until: str | None = None):
    """Bad up to the release before `first_good`, good from it on; not applicable after `applicable_until`."""
    index = RELEASES.index(first_good)
    last_applicable = RELEASES.index(applicable_until) if applicable_until else len(RELEASES) - 1
    states = {}
    for i, version in enumerate(RELEASES):
        states[version] = NA if i > last_applicable else (BAD if i < index else GOOD)
    for version in untestable:
        states[version] = UNTESTABLE
    return states


@pytest.mark.parametrize("first_good", RELEASES[1:])
def test_fix_finds_the_first_good_release_wherever_it_is(first_good: str) -> None:
    fake = FakeReleases(states_with_first_good(first_good))
    result = bisect_fix(RELEASES, fake)  # oldest first: RELEASES[0] is --bad, RELEASES[-1] is --good
    assert result.outcome is BisectOutcome.FIXED and result.direction is Direction.FIXED
    assert result.first_good is not None and result.first_good.version == first_good
    last_bad = RELEASES[RELEASES.index(first_good) - 1]
    assert result.last_bad is not None and result.last_bad.version == last_bad
    assert (result.older, result.newer) == (result.last_bad, result.first_good)
    assert result.last_good is None and result.first_bad is None
    assert result.message == f"last bad {last_bad}, first good (fixed in) {first_good}"
    # both ends are tested first, the bad end before the good one, and the search is logarithmic
    assert fake.asked[:2] == [RELEASES[0], RELEASES[-1]]
    assert len(fake.asked) <= 2 + math.ceil(math.log2(len(RELEASES)))


def test_fix_names_untestable_releases_in_between_oldest_first() -> None:
    states = states_with_first_good("1.80.0", untestable=("1.78.0", "1.79.0"))
    result = bisect_fix(RELEASES, FakeReleases(states))
    assert result.outcome is BisectOutcome.FIXED
    # the fix lies after the last testable bad release, 1.77.0; the untestable ones are named
    assert result.last_bad is not None and result.last_bad.version == "1.77.0"
    assert result.first_good is not None and result.first_good.version == "1.80.0"
    assert result.untestable_between == ["1.78.0", "1.79.0"]
    assert {v.version for v in result.skipped} == {"1.78.0", "1.79.0"}
    assert "the fix may lie in: 1.78.0, 1.79.0" in result.message


@pytest.mark.parametrize("end", [RELEASES[0], RELEASES[-1]])
def test_fix_steps_around_an_untestable_end(end: str) -> None:
    states = states_with_first_good("1.83.0", untestable=(end,))
    result = bisect_fix(RELEASES, FakeReleases(states))
    assert result.outcome is BisectOutcome.FIXED
    assert result.first_good is not None and result.first_good.version == "1.83.0"
    assert end in [v.version for v in result.skipped]


def test_fix_not_applicable_counts_as_good_as_when_bisecting_for_the_break() -> None:
    # fixed in 1.80.0; the scenario stops applying from 1.86.0 on (a feature went away)
    states = states_with_first_good("1.80.0", applicable_until="1.85.0")
    result = bisect_fix(RELEASES, FakeReleases(states))
    assert result.outcome is BisectOutcome.FIXED
    assert result.first_good is not None and result.first_good.version == "1.80.0"


def test_fix_bad_until_the_scenario_stops_applying() -> None:
    states = states_with_first_good(RELEASES[-1], applicable_until="1.84.0")  # bad while applicable, then NA
    result = bisect_fix(RELEASES, FakeReleases(states))
    assert result.outcome is BisectOutcome.BAD_UNTIL_NOT_APPLICABLE
    assert result.last_bad is not None and result.last_bad.version == "1.84.0"
    assert result.first_good is not None and result.first_good.state is NA
    assert result.first_good.version == "1.85.0"
    assert "stops applying" in result.message


def test_fix_still_bad_when_the_good_end_fails() -> None:
    fake = FakeReleases({v: BAD for v in RELEASES})
    result = bisect_fix(RELEASES, fake)
    assert result.outcome is BisectOutcome.STILL_BAD
    assert result.last_bad is not None and result.last_bad.version == RELEASES[-1]
    assert fake.asked == [RELEASES[0], RELEASES[-1]]  # no search needed
    assert "not fixed in this range" in result.message


def test_fix_still_bad_names_newer_releases_that_could_not_be_tested() -> None:
    states = {v: BAD for v in RELEASES}
    states.update({v: UNTESTABLE for v in RELEASES[-2:]})
    result = bisect_fix(RELEASES, FakeReleases(states))
    assert result.outcome is BisectOutcome.STILL_BAD
    assert result.last_bad is not None and result.last_bad.version == RELEASES[-3]
    assert result.untestable_between == RELEASES[-2:]
    assert f"({RELEASES[-2]}, {RELEASES[-1]} after it could not be tested)" in result.message


def test_fix_not_reproduced_when_the_bad_end_passes() -> None:
    fake = FakeReleases({v: GOOD for v in RELEASES})
    result = bisect_fix(RELEASES, fake)
    assert result.outcome is BisectOutcome.NOT_REPRODUCED
    assert fake.asked == [RELEASES[0]]  # nothing else is worth booting
    assert "oldest testable release, 1.70.0" in result.message and "not bad" in result.message


def test_fix_nothing_testable_is_undecided() -> None:
    result = bisect_fix(RELEASES, FakeReleases({v: UNTESTABLE for v in RELEASES}))
    assert result.outcome is BisectOutcome.UNDECIDED and result.direction is Direction.FIXED
    assert len(result.tested) == len(RELEASES)


def test_fix_two_adjacent_releases() -> None:
    result = bisect_fix(["1.0.0", "1.0.1"], FakeReleases({"1.0.0": BAD, "1.0.1": GOOD}))
    assert result.outcome is BisectOutcome.FIXED
    assert (result.last_bad.version, result.first_good.version) == ("1.0.0", "1.0.1")  # type: ignore[union-attr]


def test_fix_progress_and_upcoming_work_as_for_the_break() -> None:
    seen: list[tuple[str, int, int]] = []
    announced: list[list[str]] = []
    fake = FakeReleases(states_with_first_good("1.81.0"))
    bisect_fix(RELEASES, fake, progress=steps(seen),
               upcoming=announced.append)
    assert [step for _, step, _ in seen] == list(range(1, len(fake.asked) + 1))
    assert abs(seen[0][2] - len(fake.asked)) <= 2
    assert set(fake.asked[1:]) <= {v for group in announced for v in group}


def test_the_answer_pair_is_in_release_order_for_both_directions() -> None:
    broke = bisect_releases(RELEASES, FakeReleases(states_with_first_bad("1.75.0")))
    assert (broke.older.version, broke.newer.version) == ("1.74.0", "1.75.0")  # type: ignore[union-attr]
    fixed = bisect_fix(RELEASES, FakeReleases(states_with_first_good("1.75.0")))
    assert (fixed.older.version, fixed.newer.version) == ("1.74.0", "1.75.0")  # type: ignore[union-attr]
    rows = side_by_side(fixed.older, fixed.newer)  # type: ignore[arg-type]
    assert [(r.before, r.after) for r in rows] == [("fail: allowed (200)", "pass: denied")]


# --------------------------------------------------------------------------- the command, looking for a fix


def test_bisect_command_with_good_newer_than_bad_finds_the_fix(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import json
    from pathlib import Path

    from typer.testing import CliRunner

    from harness.cli import app as cli
    from harness.gateways.litellm import release_list
    from harness.compare import release_run
    from harness.oracle.explicit import checks_for
    from harness.gateways.litellm.release_list import ReleaseList
    from harness.model.results import RunResult

    seed = Path(__file__).parents[2] / "scenarios/litellm/issue-23850-access-group-limits-service-key.yaml"
    published = ["1.80.0", "1.81.0", "1.81.12", "1.82.0", "1.82.3", "1.82.7", "1.90.0", "1.108.7"]
    fixed_in = "1.90.0"
    monkeypatch.setenv("GATECONFORM_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(release_list, "published_releases", lambda list_versions=None: ReleaseList.of(published))
    monkeypatch.setattr(release_list, "_default_latest", lambda: "1.108.7")
    tested: list[str] = []

    def run_on_release(version, scenarios, log, out_dir=None, cancel=None, runner_started=None, deps="today", draw_reports=None):  # type: ignore[no-untyped-def]
        from packaging.version import Version

        tested.append(version)
        result = RunResult.new(target=f"litellm=={version}")
        for scenario in scenarios:
            verdicts = []
            for check in checks_for(scenario):
                broken = check.principal == "svc" and check.expect is Expect.DENIED and Version(version) < Version(fixed_in)
                outcome, observed = (Outcome.FAIL, "allowed (200)") if broken else (Outcome.PASS, "as expected")
                verdicts.append(Verdict(check, outcome, check.title, None, "x", observed))
            result.scenarios.append(ScenarioResult(id=scenario.id, title=scenario.title, verdicts=verdicts))
        if out_dir is not None:
            write_results(result, out_dir / "results.json")
        return release_run.ReleaseRun(version, result, 0.1, None)

    fake_releases.install(monkeypatch, run_on_release)
    result = CliRunner().invoke(cli.app, ["bisect", str(seed), "--good", "latest", "--bad", "1.80.0",
                                          "--report-dir", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "bisect: fixed — last bad 1.82.3, first good (fixed in) 1.90.0" in text
    assert "1.82.3 (bad)" in text and "1.90.0 (good)" in text  # the side-by-side, in release order
    assert tested[:2] == ["1.80.0", "1.108.7"] and "1.82.7" not in tested
    document = json.loads((tmp_path / "out" / "bisect.json").read_text())
    assert (document["direction"], document["good"], document["bad"]) == ("fixed", "1.108.7", "1.80.0")
    assert document["last_bad"]["version"] == "1.82.3" and document["first_good"]["version"] == "1.90.0"
    assert document["last_good"] is None and document["first_bad"] is None

    same = CliRunner().invoke(cli.app, ["bisect", str(seed), "--good", "1.82.3", "--bad", "1.82.3"])
    assert same.exit_code == 2 and "same release" in same.output
