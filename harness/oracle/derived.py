"""The derived oracle: checks computed from a gateway's documented rules, not written by hand.

The gateway's semantics (`Gateway.semantics`, `harness.gateways.base.Semantics`) derives, for
every principal and round of a scenario, each call and the listing (`harness.model.derivation`).
Each determined one becomes a check with the id a written check would have
(`scn::svc::chat::gpt-4o`, `scn::svc::list_models`), `oracle="derived"`, and its rule chain in
`derivation` and `rules`; an undetermined one is kept aside with its reason and never checked.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from harness.model.check import Check, Judgement
from harness.model.derivation import Derived
from harness.model.scenario import Scenario
from harness.oracle.serving import Serving
from harness.probes.registry import default_kind

#: The oracle name of derived checks (`Check.oracle`).
DERIVED = "derived"


class NoSemantics(ValueError):
    """The gateway documents no semantics: nothing can be derived for it."""


@dataclass
class DerivedOracle:
    """What the docs make of a scenario: the checks, and the cases they leave open."""

    checks: list[Check] = field(default_factory=list)
    undetermined: list[Derived] = field(default_factory=list)
    #: every derivation, determined or not, in derivation order (for `both` and reports)
    derived: list[Derived] = field(default_factory=list)


def derived_checks(scenario: Scenario, semantics: object | None, version: str | None) -> DerivedOracle:
    """The derived checks of `scenario` under `semantics` (a gateway's `Semantics`) for release `version`."""
    if semantics is None:
        raise NoSemantics("this gateway documents no semantics: run with --oracle explicit")
    derivations = semantics.derive(scenario, version)  # type: ignore[attr-defined]
    serving = Serving(scenario)
    oracle = DerivedOracle(derived=list(derivations))
    for item in derivations:
        if not item.determined:
            oracle.undetermined.append(item)
            continue
        oracle.checks.append(check_of(scenario, item, serving))
    return oracle


def check_of(scenario: Scenario, item: Derived, serving: Serving) -> Check:
    """The check a determined derivation makes (the id a written check would have)."""
    base = dict(scenario_id=scenario.id, principal=item.principal, round=item.round, oracle=DERIVED,
                derivation=item.summary, rules=item.rule_ids,
                decided_by=item.decided_by or None)
    if item.model is None:
        return Check(probe=default_kind(Judgement.LISTING).name, listed=item.listed, **base)
    return Check(probe=default_kind(Judgement.CALL).name, model=item.model, expect=item.expect,
                 deployments=serving.of(item.model), **base)


def undetermined_entry(item: Derived) -> dict:
    """{principal, round, model, reason, rules}: an undetermined case as the results document holds it."""
    return {"principal": item.principal, "round": item.round, "model": item.model, "reason": item.undetermined,
            "rules": list(item.rule_ids)}
