"""The explicit oracle: the checks a scenario writes down, and nothing more.

Per round of expectations (`Scenario.rounds()`; one for a scenario written with `expect:`), per
key: one listing check when the key's listing is checked, then one call check per model of
`can_call` (ALLOWED), `cannot_call` (DENIED) and `may_call` (EITHER). Admin checks come from
declared entities that carry `admin:` (first) and from every change of the timeline (where it
happens). Models a key's expectations leave unmentioned get no check here; deriving those from
documented semantics is the job of a separate oracle. Which probe kind observes a written
expectation is the registry's answer (`default_kind`).
"""

from __future__ import annotations

from typing import Iterator

from harness.model.check import Check, Expect, Judgement
from harness.model.expectations import Expectation
from harness.model.scenario import Round, Scenario
from harness.model.steps import CHANGE_TYPES, change_ids
from harness.model.world import AdminExpect, creation_id
from harness.oracle.serving import Serving
from harness.probes.registry import default_kind

_ADMIN = {AdminExpect.ACCEPTED: Expect.ACCEPTED, AdminExpect.REFUSED: Expect.REFUSED}
#: A declared entity's place in the scenario, as its creation's check names it.
CREATED = (("organizations", "organization"), ("access_groups", "access-group"), ("teams", "team"),
           ("users", "user"), ("keys", "key"), ("models", "model"))


def checks_for(scenario: Scenario) -> list[Check]:
    """Every check the scenario writes, in timeline order (see the module docstring).

    Keys in the order the scenario declares them; per key, the listing check first, then the
    call checks in the order the scenario declares its models (other names, such as aliases
    and a wildcard's matches, after them in the order written).
    """
    checks = list(creation_checks(scenario))
    rounds = {r.where: r for r in scenario.rounds()}
    serving = Serving(scenario)
    if scenario.steps is None:
        return checks + round_checks(scenario, rounds[("expect",)], serving)
    ids = change_ids(scenario.steps)
    admin = default_kind(Judgement.ADMIN)
    for index, step in enumerate(scenario.steps):
        if ("steps", index, "expect") in rounds:
            checks += round_checks(scenario, rounds[("steps", index, "expect")], serving)
        elif isinstance(step, CHANGE_TYPES):
            checks.append(Check(scenario.id, ids[index], admin.name, expect=_ADMIN[step.admin]))
    return checks


def creation_checks(scenario: Scenario) -> Iterator[Check]:
    """One admin check per declared entity that says whether creating it is accepted."""
    admin = default_kind(Judgement.ADMIN)
    for field, kind in CREATED:
        for entity in getattr(scenario, field):
            if entity.admin is not None:
                yield Check(scenario.id, creation_id(kind, entity.name), admin.name, expect=_ADMIN[entity.admin])


def round_checks(scenario: Scenario, round_: Round, serving: Serving) -> list[Check]:
    """The checks of one round, keys in declared order (a user's key after the declared ones)."""
    lister, caller = default_kind(Judgement.LISTING), default_kind(Judgement.CALL)
    principals = [key.name for key in scenario.keys] + [name for name in round_.expect
                                                        if scenario.key(name) is None]
    checks: list[Check] = []
    for principal in principals:
        expectation = round_.expect.get(principal)
        if expectation is None:
            continue
        base = dict(scenario_id=scenario.id, principal=principal, round=round_.name)
        if expectation.checks_listing:
            checks.append(Check(probe=lister.name, **base, **_listing(scenario, expectation)))
        for model, fields in _calls(scenario, expectation):
            checks.append(Check(probe=caller.name, model=model, deployments=serving.of(model), **base, **fields))
    return checks


def _listing(scenario: Scenario, expectation: Expectation) -> dict:
    listing = expectation.listing
    fields: dict = {"listed": frozenset(expectation.lists) if expectation.lists is not None else None}
    if listing is not None:
        excludes = set(listing.excludes) | (set(scenario.special_names) if listing.no_special_names else set())
        fields.update(
            includes=frozenset(listing.includes) or None,
            excludes=frozenset(excludes) or None,
            no_wildcards=listing.no_wildcards or None,
            no_duplicates=listing.no_duplicates or None,
        )
    return fields


def _calls(scenario: Scenario, expectation: Expectation) -> list[tuple[str, dict]]:
    """(model, check fields) of every call expectation, declared models first."""
    written: dict[str, dict] = {}
    for entry in expectation.can_call:
        written[entry.model] = {"expect": Expect.ALLOWED, "served_by": _set(entry.served_by)}
    for denied in expectation.cannot_call:
        written[denied.model] = {"expect": Expect.DENIED, "denial_status": denied.status,
                                 "denial_type": denied.error_type, "denial_message": denied.message}
    for either in expectation.may_call:
        written[either.model] = {"expect": Expect.EITHER, "served_by": _set(either.served_by),
                                 "because": either.because}
    order = [name for name in scenario.model_names if name in written]
    order += [name for name in written if name not in order]
    return [(name, written[name]) for name in order]


def _set(names: list[str] | None) -> frozenset[str] | None:
    return frozenset(names) if names else None


def expectation_path(scenario: Scenario, check: Check) -> tuple[str | int, ...]:
    """Where `check`'s expectation is written in the scenario, for `Scenario.line_of`.

    The inverse of `checks_for`: `('expect', 'svc', 'lists')` for a listing check,
    `('expect', 'svc', 'cannot_call', 0)` for the `cannot_call` entry a call check comes from
    (the enclosing list, or the key's expectations, when the entry is not there); under
    `('steps', i, 'expect')` for a round of a timeline; the entity or the step for an admin check.
    """
    if check.judgement is Judgement.ADMIN:
        return _admin_path(scenario, check)
    round_ = next((r for r in scenario.rounds() if r.name == check.round), None)
    where = round_.where if round_ is not None else ("expect",)
    expectation = round_.expect.get(check.principal) if round_ is not None else None
    if check.judgement is Judgement.LISTING:
        field = "lists" if expectation is None or expectation.lists is not None else "listing"
        return where + (check.principal, field)
    field = {Expect.ALLOWED: "can_call", Expect.EITHER: "may_call"}.get(check.expect, "cannot_call")  # type: ignore[arg-type]
    if expectation is None:
        return where + (check.principal,)
    written = [entry.model for entry in getattr(expectation, field)]
    if check.model in written:
        return where + (check.principal, field, written.index(check.model))
    return where + (check.principal, field)


def _admin_path(scenario: Scenario, check: Check) -> tuple[str | int, ...]:
    for field, kind in CREATED:
        for index, entity in enumerate(getattr(scenario, field)):
            if creation_id(kind, entity.name) == check.principal:
                return (field, index, "admin") if entity.admin is not None else (field, index)
    for index, change_id in change_ids(scenario.steps).items():
        if change_id == check.principal:
            return ("steps", index)
    return ()
