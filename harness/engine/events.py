"""What happens during a run, as typed events: the engine and the comparisons emit them, handlers show them.

A run used to speak in free-text lines; now `ScenarioRunner` hands each step to an event sink
(any callable taking an `Event`), and one thin handler per output decides what to show and how:
the terminal's progress printer (`harness.report.progress`), the pytest terminal line
(`harness.pytest.session`), or a test's list. Events are small frozen dataclasses; none does
I/O or knows how it is worded.

The release-level events (`ReleaseStarted` … `BisectVerdict`) are emitted by `harness.compare`
but declared here, below both `compare/` and `report/`, which never import each other.
What targets and gateways say in free text (an environment build, a proxy booting) keeps its
words: the runner wraps each line into a `TargetProgress`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    from harness.model.bisect import ReleaseVerdict
    from harness.model.results import RunResult, ScenarioResult


@dataclass(frozen=True)
class Event:
    """Something that happened during a run (the base of every event)."""


#: Receives every event of a run, in order, from the runner's thread (a matrix: several threads).
EventSink = Callable[[Event], None]


def ignore(_event: Event) -> None:
    """The sink of a caller that shows nothing."""


# --------------------------------------------------------------------------- a run (engine)


@dataclass(frozen=True)
class RunStarted(Event):
    """`run_all` begins: how many scenarios, on which target spec, how many proxies at once."""

    target: str
    scenario_count: int
    jobs: int = 1


@dataclass(frozen=True)
class TargetStarting(Event):
    """A target is about to start for a model list (the first scenario that needs it)."""

    target: str
    models: tuple[str, ...]


@dataclass(frozen=True)
class TargetProgress(Event):
    """What a target or its gateway says while it works (environment build, boot), as written."""

    target: str
    message: str


@dataclass(frozen=True)
class TargetReady(Event):
    """A target answers: where, and which version of the gateway it runs."""

    target: str
    base_url: str
    proxy_version: str | None


@dataclass(frozen=True)
class TargetFailed(Event):
    """A target did not install or start; its scenarios end as ERROR with `reason` (redacted)."""

    target: str
    reason: str


@dataclass(frozen=True)
class ScenarioStarted(Event):
    """A scenario begins (before its target starts, when it is the first to need it)."""

    scenario_id: str


@dataclass(frozen=True)
class ScenarioProgress(Event):
    """A scenario's work in progress, as the engine words it: provisioning, waiting, teardown trouble."""

    scenario_id: str
    message: str


@dataclass(frozen=True)
class ScenarioFinished(Event):
    """A scenario has its verdicts (or its error), `elapsed_s` after it started."""

    result: "ScenarioResult"
    elapsed_s: float


@dataclass(frozen=True)
class RunFinished(Event):
    """`run_all` is done: the finished results document."""

    result: "RunResult"


# --------------------------------------------------------------------------- across releases (compare)


@dataclass(frozen=True)
class InRelease(Event):
    """An event of the run on one release of a matrix or a bisect (the runner's events, its notes)."""

    version: str
    event: Event


@dataclass(frozen=True)
class ReleaseNote(Event):
    """Something the comparison says about a release, as worded there (a retry, a file not written)."""

    version: str
    message: str


@dataclass(frozen=True)
class ReleaseStarted(Event):
    """A matrix starts testing a release."""

    version: str


@dataclass(frozen=True)
class ReleaseFinished(Event):
    """A matrix is done with a release: its overall verdict, how long, which dependencies."""

    version: str
    overall: str
    elapsed_s: float
    deps: str


@dataclass(frozen=True)
class BisectStep(Event):
    """A bisect is about to test `version`: step `step` of about `estimated_total`."""

    version: str
    step: int
    estimated_total: int


@dataclass(frozen=True)
class BisectVerdict(Event):
    """A bisect tested a release: its state (good, bad, …) and why, `elapsed_s` after it began."""

    verdict: "ReleaseVerdict"
    elapsed_s: float
