"""A bisect's answer as data: the state of each release tested, the outcome, the pair that changed.

`harness.compare.bisect` searches; this is what it finds, and what the terminal and bisect.json
show (`side_by_side`: the two releases' observations, check by check). `BisectDocument` is
bisect.json itself (schema `gateconform.bisect/1`), built from an answer by `bisect_document`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Collection, Mapping, Sequence

from pydantic import BaseModel

BISECT_SCHEMA_VERSION = "gateconform.bisect/1"


class ReleaseState(str, Enum):
    """What one release showed for the scenario or check under test."""

    GOOD = "good"
    BAD = "bad"
    NOT_APPLICABLE = "not applicable"
    UNTESTABLE = "untestable"

    @property
    def before_change(self) -> bool:
        """On the good side of the change (a release that cannot express the scenario counts)."""
        return self in (ReleaseState.GOOD, ReleaseState.NOT_APPLICABLE)


@dataclass(frozen=True)
class ReleaseVerdict:
    """One release's answer: its state, why, and what each check saw (check id → short text)."""

    version: str
    state: ReleaseState
    reason: str = ""
    observations: Mapping[str, str] = field(default_factory=dict)
    #: check id → the check as a sentence (`svc cannot call gpt-4o`), for people
    titles: Mapping[str, str] = field(default_factory=dict)
    #: the dependencies the release was tested with: `today` or `as-released` (after today's did
    #: not start, `deps_fallback` says why)
    deps: str = "today"
    deps_fallback: str | None = None
    #: what was installed in place of what the release pins (none: installed as published)
    substitutions: tuple[str, ...] = ()


class Direction(str, Enum):
    """What a bisect looks for."""

    BROKE = "broke"  # --good is older than --bad: the first bad release
    FIXED = "fixed"  # --good is newer than --bad: the first good release after the last bad one


class BisectOutcome(str, Enum):
    """How a bisect ended."""

    FOUND = "found"  # last good and first bad are known
    BAD_SINCE_APPLICABLE = "bad since applicable"  # bad from the first release the scenario applies to
    ALWAYS_BAD = "always bad"  # the first testable release is already bad
    FIXED = "fixed"  # last bad and first good (fixed in) are known
    BAD_UNTIL_NOT_APPLICABLE = "bad until not applicable"  # bad up to the last release the scenario applies to
    STILL_BAD = "still bad"  # the newest testable release still fails: not fixed in the range
    NOT_REPRODUCED = "not reproduced"  # the "bad" end does not show the failure
    UNDECIDED = "undecided"  # untestable releases hide the answer


@dataclass
class BisectResult:
    """The answer plus every release tried, in the order tried.

    Looking for where it broke (`Direction.BROKE`), the answer is `last_good` and `first_bad`;
    looking for the fix (`Direction.FIXED`), it is `last_bad` and `first_good` (fixed in).
    `older` and `newer` name the pair in release order, whichever the direction.
    """

    outcome: BisectOutcome
    tested: list[ReleaseVerdict]
    last_good: ReleaseVerdict | None = None
    first_bad: ReleaseVerdict | None = None
    #: untestable releases between the two answers (oldest first): the change may be in any of them
    untestable_between: list[str] = field(default_factory=list)
    message: str = ""
    direction: Direction = Direction.BROKE
    last_bad: ReleaseVerdict | None = None
    first_good: ReleaseVerdict | None = None

    @property
    def skipped(self) -> list[ReleaseVerdict]:
        """Releases that were marked untestable and skipped."""
        return [v for v in self.tested if v.state is ReleaseState.UNTESTABLE]

    @property
    def older(self) -> ReleaseVerdict | None:
        """The older release of the answer: last good (where it broke) or last bad (the fix)."""
        return self.last_good if self.direction is Direction.BROKE else self.last_bad

    @property
    def newer(self) -> ReleaseVerdict | None:
        """The newer release of the answer: first bad (where it broke) or first good (the fix)."""
        return self.first_bad if self.direction is Direction.BROKE else self.first_good


@dataclass(frozen=True)
class ObservationRow:
    """One check, observed on the older and on the newer release of the answer."""

    check_id: str
    title: str
    before: str
    after: str

    @property
    def differs(self) -> bool:
        return self.before != self.after


def side_by_side(before: ReleaseVerdict, after: ReleaseVerdict) -> list[ObservationRow]:
    """Every check either release saw, with what each observed (`–` where one did not run it).

    `before` and `after` are the older and newer release of the answer: last good and first
    bad, or last bad and first good.
    """
    ids = list(dict.fromkeys([*before.observations, *after.observations]))
    titles = {**before.titles, **after.titles}
    return [
        ObservationRow(check_id, titles.get(check_id, check_id), before.observations.get(check_id, "–"),
                       after.observations.get(check_id, "–"))
        for check_id in ids
    ]


# --------------------------------------------------------------------------- bisect.json


class BisectRelease(BaseModel):
    """One release in bisect.json: its state and why, what each check saw, where its results are."""

    version: str
    state: ReleaseState
    reason: str
    #: check id → `outcome: observed` (`fail: allowed (200)`, `skipped`)
    observations: dict[str, str]
    #: check id → the check as a sentence
    titles: dict[str, str]
    elapsed_s: float
    #: its results document, relative to bisect.json (None: none was written)
    results: str | None
    #: the dependencies it was tested with (`today`, `as-released`) and, after a retry, why
    #: today's did not start
    deps: str
    deps_fallback: str | None
    #: what was installed in place of what the release pins (absent: installed as published)
    substitutions: list[str] | None = None


class BisectDocument(BaseModel):
    """bisect.json: the answer, every release tested and where its results document is.

    `direction` says what was looked for: `broke` (last_good, first_bad) or `fixed` (last_bad,
    first_good); the other pair is null. `deps` is the mode asked for (auto, today,
    as-released); each release says which dependencies it was tested with.
    """

    schema_version: str = BISECT_SCHEMA_VERSION
    scenario: str
    scenario_path: str | None
    check: str | None
    direction: Direction
    good: str
    bad: str
    releases_in_range: int
    deps: str
    outcome: BisectOutcome
    message: str
    last_good: BisectRelease | None
    first_bad: BisectRelease | None
    last_bad: BisectRelease | None
    first_good: BisectRelease | None
    untestable_between: list[str]
    tested: list[BisectRelease]
    elapsed_s: float


def bisect_document(
    *,
    scenario: str,
    scenario_path: str | None,
    check: str | None,
    candidates: Sequence[str],
    result: BisectResult,
    timings: Mapping[str, float],
    elapsed_s: float,
    deps: str,
    with_results: Collection[str],
) -> BisectDocument:
    """bisect.json of a finished bisect (pure: the same answer gives the same document).

    `candidates` are the releases searched, oldest first; `timings` the seconds each release
    took; `with_results` the releases whose `<version>/results.json` was written.
    """

    def release(verdict: ReleaseVerdict) -> BisectRelease:
        return BisectRelease(
            version=verdict.version,
            state=verdict.state,
            reason=verdict.reason,
            observations=dict(verdict.observations),
            titles=dict(verdict.titles),
            elapsed_s=round(timings.get(verdict.version, 0.0), 1),
            results=f"{verdict.version}/results.json" if verdict.version in with_results else None,
            deps=verdict.deps,
            deps_fallback=verdict.deps_fallback,
            substitutions=list(verdict.substitutions) or None,
        )

    def answer(verdict: ReleaseVerdict | None) -> BisectRelease | None:
        return release(verdict) if verdict is not None else None

    fixed = result.direction is Direction.FIXED
    return BisectDocument(
        scenario=scenario,
        scenario_path=scenario_path,
        check=check,
        direction=result.direction,
        good=candidates[-1] if fixed else candidates[0],
        bad=candidates[0] if fixed else candidates[-1],
        releases_in_range=len(candidates),
        deps=deps,
        outcome=result.outcome,
        message=result.message,
        last_good=answer(result.last_good),
        first_bad=answer(result.first_bad),
        last_bad=answer(result.last_bad),
        first_good=answer(result.first_good),
        untestable_between=list(result.untestable_between),
        tested=[release(verdict) for verdict in result.tested],
        elapsed_s=round(elapsed_s, 1),
    )
