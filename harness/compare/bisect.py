"""Binary search over releases for the release where a scenario (or one check) went bad, or got fixed.

The search is a pure function over `verdict_for(version) -> ReleaseVerdict`, so it is tested
on a fake; `gateconform bisect` passes a function that boots the release and runs the scenario.

Two directions, one search: `bisect_releases` (the good release is older) finds the last good
and first bad release; `bisect_fix` (the good release is newer: "in which release was it
fixed?") runs the same search over the releases newest first and names the last bad and the
first good release.

Each tested release lands in one of five states:

- GOOD: every relevant check passed (or skipped, with at least one passing);
- BAD: a relevant check failed;
- NOT_APPLICABLE: every relevant check skipped, i.e. the release lacks a feature the scenario
  needs (e.g. access-group entities before they existed). It counts on the *good* side: the
  releases are assumed to go NOT_APPLICABLE* → GOOD* → BAD*, so if the last release before the
  first bad one is NOT_APPLICABLE, the behaviour was bad from the first release where the
  scenario can be expressed at all;
- UNTESTABLE: the release could not be installed or booted, or a check errored (the harness
  could not tell). It is marked and skipped — the search tries the nearest untried neighbour —
  and never guessed.

The result is one of FOUND (last good, first bad), BAD_SINCE_APPLICABLE, ALWAYS_BAD (the
first testable release is already bad), NOT_REPRODUCED (the "bad" release does not fail) or
UNDECIDED (too many untestable releases to tell). Looking for a fix, the releases are assumed to
go BAD* → GOOD* (a NOT_APPLICABLE release again counts as good: it does not show the bug), and
the result is FIXED (last bad, first good), BAD_UNTIL_NOT_APPLICABLE (the first "good" release
is one that cannot express the scenario any more), STILL_BAD (the newest testable release still
fails), NOT_REPRODUCED (the older, "bad" release does not fail) or UNDECIDED.
"""

from __future__ import annotations

import math
import time
from dataclasses import replace
from typing import TYPE_CHECKING, Callable, Sequence

from harness.engine.events import BisectStep, BisectVerdict, EventSink, ignore
from harness.model.bisect import (  # noqa: F401 - the search's vocabulary, named here for its callers
    BisectOutcome, BisectResult, Direction, ReleaseState, ReleaseVerdict,
)

if TYPE_CHECKING:
    from harness.model.results import ScenarioResult


#: Hears `BisectStep` before each release is tested and `BisectVerdict` once it was.
Progress = EventSink
#: `upcoming(versions)`: the releases the search may test right after the current one (one per
#: possible answer), so a caller can prepare them (build environments) while this one runs.
Upcoming = Callable[[list[str]], None]


def _no_upcoming(_versions: list[str]) -> None:
    pass


class _Search:
    """State of one search: the ordered releases and what is known about each."""

    def __init__(
        self,
        releases: Sequence[str],
        verdict_for: Callable[[str], ReleaseVerdict],
        progress: Progress,
        upcoming: Upcoming,
    ):
        self.releases = list(releases)
        self.verdict_for = verdict_for
        self.progress = progress
        self.upcoming = upcoming
        self.known: dict[int, ReleaseVerdict] = {}
        self.order: list[ReleaseVerdict] = []

    def test(self, index: int, remaining_estimate: int) -> ReleaseVerdict:
        version = self.releases[index]
        step = len(self.order) + 1
        self.progress(BisectStep(version, step, step + remaining_estimate))
        started = time.monotonic()
        verdict = self.verdict_for(version)
        if verdict.version != version:  # a verdict function must answer for the release asked
            verdict = replace(verdict, version=version)
        self.progress(BisectVerdict(verdict, time.monotonic() - started))
        self.known[index] = verdict
        self.order.append(verdict)
        return verdict

    def untested_between(self, low: int, high: int) -> list[int]:
        return [i for i in range(low + 1, high) if i not in self.known]

    def next_pick(self, low: int, high: int) -> int | None:
        """The untried release nearest the middle of (low, high); ties go to the older one."""
        candidates = self.untested_between(low, high)
        if not candidates:
            return None
        middle = (low + high) / 2
        return min(candidates, key=lambda i: (abs(i - middle), i))

    def announce_followers(self, index: int, low: int, high: int) -> None:
        """Tell the caller which releases come next if `index` turns out good or bad."""
        followers = [self.next_pick(index, high), self.next_pick(low, index)]
        versions = [self.releases[i] for i in followers if i is not None]
        if versions:
            self.upcoming(versions)

    def estimate_after(self, low: int, high: int) -> int:
        """Steps still needed to close (low, high), ignoring untestable surprises."""
        open_count = len(self.untested_between(low, high))
        return math.ceil(math.log2(open_count + 1)) if open_count else 0

    def untestable_between(self, low: int, high: int) -> list[str]:
        return [
            self.releases[i] for i in range(low + 1, high)
            if i in self.known and self.known[i].state is ReleaseState.UNTESTABLE
        ]


def bisect_releases(
    releases: Sequence[str],
    verdict_for: Callable[[str], ReleaseVerdict],
    progress: Progress | None = None,
    upcoming: Upcoming | None = None,
) -> BisectResult:
    """Find the last good and first bad release in `releases` (oldest first, good end first).

    `releases[0]` is the release the user calls good and `releases[-1]` the one they call bad;
    both are tested first (never assumed). The search keeps virtual bounds outside the list
    (-1 and len) until a release on each side has been seen, so an untestable end costs no
    more than an untestable midpoint: the nearest untried neighbour is tested instead.
    """
    search = _search(releases, verdict_for, progress, upcoming)
    return _conclude(search, *_bounds(search))


def bisect_fix(
    releases: Sequence[str],
    verdict_for: Callable[[str], ReleaseVerdict],
    progress: Progress | None = None,
    upcoming: Upcoming | None = None,
) -> BisectResult:
    """Find the last bad and first good release (fixed in) in `releases` (oldest first, bad end first).

    `releases[0]` is the release the user calls bad and `releases[-1]` the newer one they call
    good. The same search as `bisect_releases`, over the releases newest first: the bad end is
    tested first (if it does not fail there is nothing to search), untestable releases are
    stepped around and named, a release that cannot express the scenario counts as good.
    """
    search = _search(list(reversed(releases)), verdict_for, progress, upcoming)
    return _conclude_fix(search, *_bounds(search))


def _search(
    releases: Sequence[str],
    verdict_for: Callable[[str], ReleaseVerdict],
    progress: Progress | None,
    upcoming: Upcoming | None,
) -> _Search:
    if len(releases) < 2:
        raise ValueError("bisect needs at least two releases (a good one and a bad one)")
    return _Search(releases, verdict_for, progress or ignore, upcoming or _no_upcoming)


def _bounds(search: _Search) -> tuple[int, int]:
    """(index of the good-side release next to the change, index of the bad one) in search order.

    `search.releases[0]` is the good end and `[-1]` the bad end; a bound left at -1 or len
    was never observed.
    """
    releases = search.releases
    low, high = -1, len(releases)
    last = len(releases) - 1
    middle_steps = search.estimate_after(0, last)
    # The bad end first: if it does not fail there is nothing to search, and no need to boot more.
    search.upcoming([releases[0]])
    low, high = _place(search.test(last, 1 + middle_steps), last, low, high)
    if low < 0:  # the bad end was bad or untestable: the good end is worth testing
        following = search.next_pick(0, last)
        if following is not None:
            search.upcoming([releases[following]])
        low, high = _place(search.test(0, middle_steps), 0, low, high)
    return _narrow(search, low, high)


def _place(verdict: ReleaseVerdict, index: int, low: int, high: int) -> tuple[int, int]:
    """Move the bound the verdict speaks for; an untestable release moves nothing."""
    if verdict.state is ReleaseState.UNTESTABLE:
        return low, high
    return (index, high) if verdict.state.before_change else (low, index)


def _narrow(search: _Search, low: int, high: int) -> tuple[int, int]:
    """Classic bisection on (good side, bad); untestable midpoints are stepped around."""
    while True:
        index = search.next_pick(low, high)
        if index is None:
            return low, high
        search.announce_followers(index, low, high)
        verdict = search.test(index, search.estimate_after(low, high) - 1)
        low, high = _place(verdict, index, low, high)


def _conclude(search: _Search, low: int, high: int) -> BisectResult:
    """Name the outcome from the final bounds (a bound outside the list was never observed)."""
    count = len(search.releases)
    if high == count and low == -1:
        return _undecided(search, "no release in the range could be tested")
    if high == count:
        return _not_reproduced(search, low)
    if low == -1:
        return _always_bad(search, high)
    return _found(search, low, high)


def _found(search: _Search, low: int, high: int) -> BisectResult:
    last, first = search.known[low], search.known[high]
    between = search.untestable_between(low, high)
    if last.state is ReleaseState.NOT_APPLICABLE:
        outcome = BisectOutcome.BAD_SINCE_APPLICABLE
        message = (
            f"bad since the scenario first applies: {first.version} is the first release where it can be "
            f"expressed, and it already fails; {last.version} and older lack what it needs ({last.reason})"
        )
    else:
        outcome = BisectOutcome.FOUND
        message = f"last good {last.version}, first bad {first.version}"
    if between:
        message += f"; untestable in between, so the change may lie in: {', '.join(between)}"
    return BisectResult(outcome, search.order, last, first, between, message)


def _not_reproduced(search: _Search, low: int) -> BisectResult:
    verdict = search.known[low]
    newer = search.untestable_between(low, len(search.releases))
    note = f" ({', '.join(newer)} after it could not be tested)" if newer else ""
    return BisectResult(
        BisectOutcome.NOT_REPRODUCED, search.order, last_good=verdict, message=(
            f"the newest testable release, {verdict.version}{note}, is {verdict.state.value}, not bad: "
            "nothing to search (is the 'bad' release right, or was it fixed?)"
        ),
    )


def _always_bad(search: _Search, high: int) -> BisectResult:
    verdict = search.known[high]
    older = search.untestable_between(-1, high)
    note = f" ({', '.join(older)} before it could not be tested)" if older else ""
    return BisectResult(
        BisectOutcome.ALWAYS_BAD, search.order, first_bad=verdict, untestable_between=older, message=(
            f"already bad at {verdict.version}, the oldest testable release{note}: "
            "the behaviour was always so in this range"
        ),
    )


def _undecided(search: _Search, why: str, direction: Direction = Direction.BROKE) -> BisectResult:
    return BisectResult(BisectOutcome.UNDECIDED, search.order, message=why, direction=direction)


def _conclude_fix(search: _Search, low: int, high: int) -> BisectResult:
    """Name the outcome of a fix search; `search.releases` is newest first, so `low` (good side)
    is the newer release of the answer and `high` (bad side) the older."""
    count = len(search.releases)
    if high == count and low == -1:
        return _undecided(search, "no release in the range could be tested", Direction.FIXED)
    if high == count:
        verdict = search.known[low]
        older = _oldest_first(search.untestable_between(low, count))
        note = f" ({', '.join(older)} before it could not be tested)" if older else ""
        return BisectResult(
            BisectOutcome.NOT_REPRODUCED, search.order, direction=Direction.FIXED, first_good=verdict, message=(
                f"the oldest testable release, {verdict.version}{note}, is {verdict.state.value}, not bad: "
                "nothing to search (is the 'bad' release right, or was it never broken there?)"
            ),
        )
    if low == -1:
        verdict = search.known[high]
        newer = _oldest_first(search.untestable_between(-1, high))
        note = f" ({', '.join(newer)} after it could not be tested)" if newer else ""
        return BisectResult(
            BisectOutcome.STILL_BAD, search.order, direction=Direction.FIXED, last_bad=verdict,
            untestable_between=newer, message=(
                f"still bad at {verdict.version}, the newest testable release{note}: not fixed in this range"
            ),
        )
    first_good, last_bad = search.known[low], search.known[high]
    between = _oldest_first(search.untestable_between(low, high))
    if first_good.state is ReleaseState.NOT_APPLICABLE:
        outcome = BisectOutcome.BAD_UNTIL_NOT_APPLICABLE
        message = (
            f"bad until the scenario stops applying: {last_bad.version} is the last release where it can be "
            f"expressed, and it still fails; {first_good.version} and newer lack what it needs ({first_good.reason})"
        )
    else:
        outcome = BisectOutcome.FIXED
        message = f"last bad {last_bad.version}, first good (fixed in) {first_good.version}"
    if between:
        message += f"; untestable in between, so the fix may lie in: {', '.join(between)}"
    return BisectResult(outcome, search.order, untestable_between=between, message=message,
                        direction=Direction.FIXED, last_bad=last_bad, first_good=first_good)


def _oldest_first(versions: list[str]) -> list[str]:
    """A fix search walks the releases newest first; people read them oldest first."""
    return list(reversed(versions))


# --------------------------------------------------------------------------- from results


def classify(result: "ScenarioResult", version: str, check_id: str | None = None) -> ReleaseVerdict:
    """A release's state for bisecting, from its scenario result (pure: reads only the result).

    Relevant checks are all of the scenario's, or only `check_id`. Any failed relevant check
    makes the release BAD; otherwise an errored one (or a scenario that could not run at all)
    makes it UNTESTABLE; all skipped is NOT_APPLICABLE; else GOOD. `observations` holds every
    check's `outcome: observed`, for the side-by-side at the end.
    """
    observations = {v.check_id: _observation_text(v.outcome.value, v.observed) for v in result.verdicts}
    titles = {v.check_id: v.title for v in result.verdicts}

    def verdict(state: ReleaseState, reason: str) -> ReleaseVerdict:
        return ReleaseVerdict(version, state, reason, observations, titles)

    relevant = [v for v in result.verdicts if check_id is None or v.check_id == check_id]
    if result.error:
        return verdict(ReleaseState.UNTESTABLE, _first_line(result.error))
    if not relevant:
        return verdict(ReleaseState.UNTESTABLE, f"no verdict for {check_id or 'any check'}")
    failed = [v for v in relevant if v.outcome.value == "fail"]
    if failed:
        return verdict(ReleaseState.BAD, "; ".join(v.message for v in failed))
    errored = [v for v in relevant if v.outcome.value == "error"]
    if errored:
        return verdict(ReleaseState.UNTESTABLE, f"could not tell: {errored[0].message}")
    if all(v.outcome.value == "skip" for v in relevant):
        return verdict(ReleaseState.NOT_APPLICABLE, relevant[0].check.skip_reason or relevant[0].message)
    return verdict(ReleaseState.GOOD, "every check passed")


def _observation_text(outcome: str, observed: str) -> str:
    """`fail: allowed (200)`; a skipped check just `skipped` (its reason is the release's)."""
    return "skipped" if outcome == "skip" else f"{outcome}: {observed}"


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else text
