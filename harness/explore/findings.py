"""Findings: derived checks the proxy disagreed with, and their signatures for deduplication.

A finding is a derived check (`Check.oracle == "derived"`) whose verdict is FAIL: the proxy did
something the documented rules say it must not. An ERROR verdict is never a finding of the proxy
(the harness could not tell): it is counted apart, and a run with errors never claims "nothing
found". Written and swept checks are not findings either: explore judges the docs' rules only.

Two findings are the same when their signature is: the rule chain behind the check (its rule
ids), the probe kind, what was expected and what was observed, in classes that do not depend
on the world's names (`denied` vs `allowed` for a call; for a listing, whether it showed declared
models it should not, other names, or missed models).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from harness.model.check import Judgement
from harness.model.results import ScenarioResult
from harness.model.verdict import Outcome, Verdict

DERIVED = "derived"
#: The classes of a listing's disagreement.
LISTS_EXTRA_MODELS = "lists models it should not"
LISTS_UNCALLABLE_MODELS = "lists models it cannot call"
LISTS_OTHER_NAMES = "lists names that are no model"
MISSES_MODELS = "misses models it should list"


@dataclass(frozen=True)
class Signature:
    """What makes two disagreements one finding."""

    rules: tuple[str, ...]
    probe: str
    expected: str
    observed: str

    @property
    def text(self) -> str:
        """One line: `chat: expected denied, observed allowed [rules: a, b]`."""
        return f"{self.probe}: expected {self.expected}, observed {self.observed} [rules: {', '.join(self.rules)}]"


@dataclass
class Finding:
    """One distinct disagreement, with the first world that showed it (and later, its minimal one)."""

    signature: Signature
    world: dict  # type: ignore[type-arg] - the world as generated (harness.explore.worlds)
    world_index: int  # which world of the run showed it first (0-based)
    verdict: Verdict  # the first failing verdict with this signature in that world
    seen: int = 1  # how many failing checks of the run had this signature


def is_finding(verdict: Verdict) -> bool:
    """A derived check the proxy disagreed with (ERROR and SKIP are not findings)."""
    return verdict.outcome is Outcome.FAIL and verdict.check.oracle == DERIVED


def is_error(verdict: Verdict) -> bool:
    """A check the harness could not decide."""
    return verdict.outcome is Outcome.ERROR


def signature_of(verdict: Verdict, declared_models: Iterable[str], others: Iterable[Verdict] = ()) -> Signature:
    """The signature of a failing derived check (`declared_models`: the pool's callable names).

    `others` are the other verdicts of the same world: a listing that shows a model which the same
    key's call of it was refused is told apart (`lists models it cannot call`) from one that shows
    models the docs deny but the proxy lets through anyway.
    """
    check = verdict.check
    rules = tuple(getattr(check, "rules", None) or ())
    if check.judgement is Judgement.LISTING:
        refused = _refused_calls(check.principal, check.round, others)
        return Signature(rules, check.probe, "the documented set",
                         _listing_class(verdict, set(declared_models), refused))
    expected = check.expect.value if check.expect is not None else "?"
    observed = verdict.observed.split(" (")[0].split(",")[0]  # `allowed, served by x (200)` → `allowed`
    return Signature(rules, check.probe, expected, observed)


def _refused_calls(principal: str, round_name: str | None, verdicts: Iterable[Verdict]) -> set[str]:
    """The models whose call by `principal` in that round the proxy refused (judged, not errored)."""
    refused = set()
    for verdict in verdicts:
        check = verdict.check
        if check.judgement is not Judgement.CALL or check.principal != principal or check.round != round_name:
            continue
        if verdict.outcome in (Outcome.PASS, Outcome.FAIL) and verdict.observed.startswith("denied"):
            refused.add(check.model)
    return refused


def _listing_class(verdict: Verdict, declared: set[str], refused: set[str]) -> str:
    observation = verdict.observation
    listed = set(observation.listed_models or ()) if observation is not None else set()
    want = set(verdict.check.listed or ())
    extra = listed - want
    classes = []
    if extra & refused:
        classes.append(LISTS_UNCALLABLE_MODELS)
    if (extra & declared) - refused:
        classes.append(LISTS_EXTRA_MODELS)
    if extra - declared:
        classes.append(LISTS_OTHER_NAMES)
    if want - listed:
        classes.append(MISSES_MODELS)
    return "; ".join(classes) or "differs"


def failing(result: ScenarioResult, signature: Signature, declared_models: Iterable[str]) -> list[Verdict]:
    """The failing derived checks of `result` that have `signature`."""
    declared = list(declared_models)
    return [v for v in result.verdicts if is_finding(v) and signature_of(v, declared, result.verdicts) == signature]


class FindingLog:
    """The distinct findings of a run, in the order they were first seen."""

    def __init__(self, declared_models: Iterable[str]) -> None:
        self.declared_models = tuple(declared_models)
        self.findings: list[Finding] = []
        self._by_signature: dict[Signature, Finding] = {}

    def add(self, result: ScenarioResult, world: dict, world_index: int) -> list[Finding]:  # type: ignore[type-arg]
        """Record the findings of one world's result; return those seen for the first time."""
        new = []
        for verdict in result.verdicts:
            if not is_finding(verdict):
                continue
            signature = signature_of(verdict, self.declared_models, result.verdicts)
            known = self._by_signature.get(signature)
            if known is not None:
                known.seen += 1
                continue
            finding = Finding(signature, world, world_index, verdict)
            self._by_signature[signature] = finding
            self.findings.append(finding)
            new.append(finding)
        return new
