"""Expectations derived from a gateway's documented rules: pure data, no I/O.

A gateway's semantics (`harness.gateways.base.Semantics`) reads a scenario's world and says, for
every principal, round and model, what its documentation makes of it: a `Derived`. Each one
carries the chain of documented rules (`RuleUse`) that produced it, so a report can show *why*
("team all-proxy-models ∩ key access group {a} ⇒ {a}") with the docs' own words and link.

Where the docs leave a case open, the `Derived` says so (`undetermined`, with the reason) and
holds no expectation: it never becomes a check.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.model.check import Expect


@dataclass(frozen=True)
class Rule:
    """One documented rule: the sentence quoted from the docs, the page, and the releases it holds for.

    `releases` is a PEP 440 specifier (`>=1.81.12`), None when it holds for every release.
    """

    id: str
    sentence: str
    url: str
    releases: str | None = None

    def holds_for(self, version: str | None) -> bool:
        """Whether the rule holds for `version` (None: an unknown version, every rule holds)."""
        if self.releases is None or version is None:
            return True
        from packaging.specifiers import SpecifierSet
        from packaging.version import InvalidVersion, Version

        try:
            return Version(version) in SpecifierSet(self.releases)
        except InvalidVersion:
            return True


@dataclass(frozen=True)
class RuleUse:
    """A rule applied in one world: `says` is what it made of this world, in a few words."""

    rule: Rule
    says: str


@dataclass(frozen=True)
class Derived:
    """What the docs make of one principal in one round: a call (`model`) or the listing (`model` None).

    A call holds `expect` (allowed or denied); the listing holds `listed` (the exact set
    `GET /v1/models` must show). Either one None together with `undetermined` (the reason the
    docs leave it open) is an undetermined case, which never becomes a check.
    """

    principal: str
    round: str | None
    model: str | None
    expect: Expect | None = None
    listed: frozenset[str] | None = None
    chain: tuple[RuleUse, ...] = ()
    undetermined: str | None = None
    #: the ids of the rules of `chain` that decide the outcome: for a denial, those of the steps that
    #: deny the model (a step that allows it explains, but does not decide); () when every rule does
    decided_by: tuple[str, ...] = ()

    @property
    def determined(self) -> bool:
        """Whether the docs decide this case (it becomes a check)."""
        if self.undetermined is not None:
            return False
        return self.listed is not None if self.model is None else self.expect is not None

    @property
    def summary(self) -> str:
        """The rule chain and its outcome in one line: `team all-proxy-models ∩ key access group {a} ⇒ {a}`."""
        steps = " ∩ ".join(use.says for use in self.chain if use.says) or "no rule"
        if self.undetermined is not None:
            return f"{steps} ⇒ undetermined: {self.undetermined}"
        if self.model is None:
            return f"{steps} ⇒ {_set_words(self.listed or frozenset())}"
        verb = "allowed" if self.expect is Expect.ALLOWED else "denied"
        return f"{steps} ⇒ {self.model} {verb}"

    @property
    def signature(self) -> tuple[str, ...]:
        """The chain's rule ids, in order (for deduplicating findings by the rules behind them)."""
        return tuple(use.rule.id for use in self.chain)

    @property
    def rule_ids(self) -> tuple[str, ...]:
        """The chain's distinct rule ids, in first-use order."""
        return tuple(dict.fromkeys(self.signature))


def _set_words(names: frozenset[str]) -> str:
    return "{" + ", ".join(sorted(names)) + "}"


def set_words(names: frozenset[str] | set[str]) -> str:
    """`{a, b}`: a set of names as a chain step writes it (sorted)."""
    return _set_words(frozenset(names))
