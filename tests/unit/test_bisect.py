"""Bisect over releases, on a fake verdict function: the answers a user relies on."""

from __future__ import annotations

import math

import pytest

from harness.bisect import (
    BisectOutcome,
    ReleaseState,
    ReleaseVerdict,
    bisect_releases,
    classify,
    side_by_side,
)
from harness.checks import Check, Expect, Probe
from harness.results import ScenarioResult
from harness.verdicts import Outcome, Verdict

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


def test_progress_counts_steps_and_estimates_the_total() -> None:
    seen: list[tuple[str, int, int]] = []
    fake = FakeReleases(states_with_first_bad("1.81.0"))
    bisect_releases(RELEASES, fake, progress=lambda v, step, total: seen.append((v, step, total)))
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
    check = Check("s", principal, Probe.CHAT, model=model, expect=Expect.DENIED)
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
    check = Check("s", "svc", Probe.CHAT, model="gpt-4o", expect=Expect.DENIED)
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
