"""The sweep: a key's written expectations tried on every model-bearing route the proxy has.

A gateway enforces access per route, so a model a key cannot call is tried on every route that
names a model: each call kind's routes the running proxy exposes (read from its own OpenAPI
document, `Capabilities.model_routes`), each way of naming the model there (body, path, query).
A 2xx that reaches the upstream for such a model is a bypass, named with its route. Every
listing route is compared with `GET /v1/models` for each key (a listing that shows what
`/v1/models` hides, or hides what it shows, is a finding of its own).

A route the proxy does not have is not probed; a kind's route missing from this release is simply
absent. Kinds that name an allowed model next to the checked one (`needs_companion`) need the key
to be able to call some model; keys that can call none are not probed with them. The scenario
narrows the sweep (`sweep: {only: [...]}`), turns it off (`sweep: false`) or widens it to the
models a key can call (`sweep: {can_call: true}`, on the kinds that can show a call allowed).

The checks a scenario writes keep their ids; the sweep adds checks whose variant is the route
(`scn::svc::embeddings::gpt-4o::/embeddings`), after the written ones, in a stable order.
"""

from __future__ import annotations

from typing import Iterable, Sequence

from harness.model.check import Check, Expect, Judgement
from harness.model.routes import ModelRoute, route_key
from harness.model.scenario import Scenario
from harness.model.sweep import SweepDecl
from harness.probes.kind import ProbeKind
from harness.probes.registry import default_kind, kinds

#: The oracle name of the checks the sweep adds (`Check.oracle`).
SWEEP = "sweep"


def sweep_checks(scenario: Scenario, checks: Sequence[Check], inventory: Iterable[ModelRoute] | None) -> list[Check]:
    """`checks` followed by the sweep's checks for `scenario` on a proxy with `inventory`.

    Swept per round and principal from the written checks (so a timeline's rounds are swept each
    with its own expectations). No inventory (the gateway could not tell its routes) or
    `sweep: false`: `checks` unchanged.
    """
    settings = scenario.sweep_settings
    if settings is None or inventory is None:
        return list(checks)
    present = {route.key for route in inventory if route.note is None}  # a noted route is not probed
    reference = default_kind(Judgement.LISTING)
    call_kind = default_kind(Judgement.CALL)
    swept: list[Check] = []
    for (round_name, principal), calls in _written_calls(checks, call_kind.name).items():
        denied = [call for call in calls if call.expect is Expect.DENIED]
        allowed = [call for call in calls if call.expect is Expect.ALLOWED]
        base = dict(scenario_id=scenario.id, principal=principal, oracle=SWEEP, round=round_name)
        for kind in kinds():
            for route in _routes(kind, present, settings):
                variant = kind.variant_of(route)
                if kind.judgement is Judgement.LISTING:
                    if kind is reference and variant is None:
                        continue  # the reference itself: its written `lists` check, if any
                    models: list[str | None] = list(scenario.model_names) if kind.takes_model else [None]
                    swept += [Check(**base, probe=kind.name, model=model, variant=variant,
                                    agrees_with=reference.path) for model in models]
                    continue
                if kind.judgement is not Judgement.CALL or (kind.needs_companion and not allowed):
                    continue
                swept += [Check(**base, probe=kind.name, model=call.model, expect=Expect.DENIED, variant=variant,
                                deployments=call.deployments) for call in denied]
                if settings.can_call and kind.proves_allowed and not kind.needs_companion:
                    swept += [Check(**base, probe=kind.name, model=call.model, expect=Expect.ALLOWED,
                                    variant=variant, deployments=call.deployments) for call in allowed]
    written = {check.id for check in checks}
    return list(checks) + [check for check in swept if check.id not in written]


def _written_calls(checks: Sequence[Check], call_kind: str) -> dict[tuple[str | None, str], list[Check]]:
    """(round, principal) → its written allowed/denied calls on the default route, in written order.

    Every principal with a written expectation is there, even one with no calls (its listing
    routes are still compared with `/v1/models`).
    """
    found: dict[tuple[str | None, str], list[Check]] = {}
    for check in checks:
        if check.judgement is Judgement.ADMIN or check.oracle == SWEEP:
            continue
        calls = found.setdefault((check.round, check.principal), [])
        if (check.probe == call_kind and check.variant is None and check.model is not None
                and check.expect in (Expect.ALLOWED, Expect.DENIED)):
            calls.append(check)
    return found


def _routes(kind: ProbeKind, present: set[tuple[str, str]], settings: SweepDecl) -> list[str]:
    """The kind's routes the proxy has and the scenario's `only` (if any) keeps; without `only`,
    not the kind's opt-in routes."""
    only = set(settings.only) if settings.only is not None else None
    return [route for route in kind.all_routes
            if route_key(kind.method, route) in present
            and (kind.name in only or route in only if only is not None else route not in kind.opt_in_routes)]


def sweep_vocabulary() -> set[str]:
    """What a scenario's `sweep.only` may name: every registered probe kind and every route one probes."""
    return {kind.name for kind in kinds()} | {route for kind in kinds() for route in kind.all_routes}
