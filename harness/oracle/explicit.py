"""The explicit oracle: the checks a scenario's `expect` section writes down, and nothing more.

Models a key's expectations leave unmentioned get no check here; deriving those from
documented semantics is the job of a separate oracle. Which probe kind observes a written
expectation is the registry's answer (`default_kind`): `lists` → the default listing kind,
`can_call`/`cannot_call` → the default call kind.
"""

from __future__ import annotations

from harness.model.check import Check, Expect, Judgement
from harness.model.scenario import Scenario
from harness.probes.registry import default_kind


def checks_for(scenario: Scenario) -> list[Check]:
    """One check per written expectation, in a stable order.

    Keys in the order the scenario declares them; per key, the listing check first (when
    `lists` is given), then one call check per model of `can_call` (ALLOWED) and
    `cannot_call` (DENIED), in the order the scenario declares its models.
    """
    lister, caller = default_kind(Judgement.LISTING), default_kind(Judgement.CALL)
    checks: list[Check] = []
    for key in scenario.keys:
        expectation = scenario.expect.get(key.name)
        if expectation is None:
            continue
        if expectation.lists is not None:
            checks.append(
                Check(
                    scenario_id=scenario.id,
                    principal=key.name,
                    probe=lister.name,
                    listed=frozenset(expectation.lists),
                )
            )
        allowed, denied = set(expectation.can_call), set(expectation.cannot_call)
        for model in scenario.model_names:
            if model in allowed:
                expect = Expect.ALLOWED
            elif model in denied:
                expect = Expect.DENIED
            else:
                continue
            checks.append(
                Check(
                    scenario_id=scenario.id,
                    principal=key.name,
                    probe=caller.name,
                    model=model,
                    expect=expect,
                )
            )
    return checks


def expectation_path(scenario: Scenario, check: Check) -> tuple[str | int, ...]:
    """Where `check`'s expectation is written in the scenario, for `Scenario.line_of`.

    The inverse of `checks_for`: `('expect', 'svc', 'lists')` for a listing check,
    `('expect', 'svc', 'cannot_call', 0)` for the `cannot_call` entry a call check comes from
    (the enclosing list, or the key's expectations, when the entry is not there).
    """
    if check.judgement is Judgement.LISTING:
        return ("expect", check.principal, "lists")
    field = "can_call" if check.expect is Expect.ALLOWED else "cannot_call"
    expectation = scenario.expect.get(check.principal)
    if expectation is None:
        return ("expect", check.principal)
    written = getattr(expectation, field)
    if check.model in written:
        return ("expect", check.principal, field, written.index(check.model))
    return ("expect", check.principal, field)
