"""Findings: derived checks the proxy disagreed with, and their signatures for deduplication.

A finding is a derived check (`Check.oracle == "derived"`) whose verdict is FAIL: the proxy did
something the documented rules say it must not. An ERROR verdict is never a finding of the proxy
(the harness could not tell): it is counted apart, and a run with errors never claims "nothing
found". Written and swept checks are not findings either: explore judges the docs' rules only.

Two disagreements are one finding when their signature is: the rules that decide the expectation
(`Check.decided_by`: for a denial, the steps that deny the model, not those that merely allow it;
their ids as a set: the order a chain names them in says nothing about the finding), the probe
kind, what was expected and what was observed, in words that do not depend on the world's names.

- A call: `denied` vs `allowed`, and the call check's rules.
- A listing is about models one by one, so a failing listing has a signature per model it gets
  wrong, with the rules of that model's call (the same key, the same round): a declared model
  listed though the docs deny it (`listed though its call is refused` when the proxy refused the
  call too — a listing showing a model the key cannot call —, `listed` when the proxy let the call
  through), one missing, or a name that is no declared model (a special name, by name; any other
  name as one class). A listing's whole chain names a rule per model, so taking it as the
  signature would make nearly every world a finding of its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

from harness.model.check import Judgement
from harness.model.results import ScenarioResult
from harness.model.verdict import Outcome, Verdict

DERIVED = "derived"
NOT_LISTED, LISTED = "not listed", "listed"
#: What a listing showed of one model or name it gets wrong.
LISTED_UNCALLABLE = "listed though its call is refused"
LISTED_CALLABLE = "listed, and its call let through"
LISTED_NOT_A_MODEL = "listed, and no declared model"
MISSING = "not listed"
MISSING_CALLABLE = "not listed, though its call goes through"


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
        rules = ", ".join(self.rules) or "none"
        return f"{self.probe}: expected {self.expected}, observed {self.observed} [rules: {rules}]"


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


def _rules(verdict: Verdict | None) -> tuple[str, ...]:
    """The rules that decide a derived check (all its rules when the semantics do not single them out)."""
    if verdict is None:
        return ()
    return tuple(sorted(set(verdict.check.decided_by or verdict.check.rules or ())))


def signatures_of(verdict: Verdict, declared_models: Iterable[str], others: Sequence[Verdict] = (),
                  special_names: Iterable[str] = ()) -> list[Signature]:
    """The signatures of a failing derived check; `others` are the verdicts of the same world.

    A call has one; a listing one per model or name it gets wrong (see the module docstring).
    `declared_models` are the pool's callable names, `special_names` the gateway's.
    """
    check = verdict.check
    if check.judgement is not Judgement.LISTING:
        expected = check.expect.value if check.expect is not None else "?"
        observed = verdict.observed.split(" (")[0].split(",")[0]  # `allowed, served by x (200)` → `allowed`
        return [Signature(_rules(verdict), check.probe, expected, observed)]
    calls = {v.check.model: v for v in others
             if v.check.judgement is Judgement.CALL and v.check.principal == check.principal
             and v.check.round == check.round and v.check.variant is None}
    observation = verdict.observation
    listed = set(observation.listed_models or ()) if observation is not None else set()
    want = set(check.listed or ())
    declared, specials = set(declared_models), set(special_names)
    found: list[Signature] = []

    def add(signature: Signature) -> None:
        if signature not in found:
            found.append(signature)

    for name in sorted(listed - want):
        call = calls.get(name)
        if name in declared:
            add(Signature(_rules(call) or _rules(verdict), check.probe, NOT_LISTED, _call_words(call, LISTED)))
        elif name in specials:
            add(Signature((), check.probe, NOT_LISTED, f"{LISTED}: the special name {name}"))
        else:
            add(Signature((), check.probe, NOT_LISTED, LISTED_NOT_A_MODEL))
    for name in sorted(want - listed):
        call = calls.get(name)
        missing = MISSING_CALLABLE if call is not None and _observed(call) == "allowed" else MISSING
        add(Signature(_rules(call) or _rules(verdict), check.probe, LISTED, missing))
    return found or [Signature(_rules(verdict), check.probe, "the documented set", "another set")]


def _observed(call: Verdict) -> str | None:
    """`allowed` or `denied` when the proxy's answer to a call was judged (None: an error, a skip)."""
    if call.outcome not in (Outcome.PASS, Outcome.FAIL):
        return None
    return call.observed.split(" (")[0].split(",")[0]


def _call_words(call: Verdict | None, default: str) -> str:
    seen = _observed(call) if call is not None else None
    return {"denied": LISTED_UNCALLABLE, "allowed": LISTED_CALLABLE}.get(seen or "", default)


def failing(result: ScenarioResult, signature: Signature, declared_models: Iterable[str],
            special_names: Iterable[str] = ()) -> list[Verdict]:
    """The failing derived checks of `result` that show `signature`."""
    declared, specials = list(declared_models), list(special_names)
    return [v for v in result.verdicts
            if is_finding(v) and signature in signatures_of(v, declared, result.verdicts, specials)]


class FindingLog:
    """The distinct findings of a run, in the order they were first seen."""

    def __init__(self, declared_models: Iterable[str], special_names: Iterable[str] = ()) -> None:
        self.declared_models = tuple(declared_models)
        self.special_names = tuple(special_names)
        self.findings: list[Finding] = []
        self._by_signature: dict[Signature, Finding] = {}

    def add(self, result: ScenarioResult, world: dict, world_index: int) -> list[Finding]:  # type: ignore[type-arg]
        """Record the findings of one world's result; return those seen for the first time."""
        new = []
        for verdict in result.verdicts:
            if not is_finding(verdict):
                continue
            for signature in signatures_of(verdict, self.declared_models, result.verdicts, self.special_names):
                known = self._by_signature.get(signature)
                if known is not None:
                    known.seen += 1
                    continue
                finding = Finding(signature, world, world_index, verdict)
                self._by_signature[signature] = finding
                self.findings.append(finding)
                new.append(finding)
        return new
