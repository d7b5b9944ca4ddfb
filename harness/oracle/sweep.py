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
from harness.model.scenario import Scenario, SweepDecl
from harness.probes.kind import ProbeKind
from harness.probes.registry import default_kind, kinds

#: The oracle name of the checks the sweep adds (`Check.oracle`).
SWEEP = "sweep"


def sweep_checks(scenario: Scenario, checks: Sequence[Check], inventory: Iterable[ModelRoute] | None) -> list[Check]:
    """`checks` followed by the sweep's checks for `scenario` on a proxy with `inventory`.

    No inventory (the gateway could not tell its routes) or `sweep: false`: `checks` unchanged.
    """
    settings = scenario.sweep_settings
    if settings is None or inventory is None:
        return list(checks)
    present = {route.key for route in inventory if route.note is None}  # a noted route is not probed
    reference = default_kind(Judgement.LISTING)
    swept: list[Check] = []
    for key in scenario.keys:
        expectation = scenario.expect.get(key.name)
        if expectation is None:
            continue
        order = scenario.model_names
        denied = [m for m in order if m in set(expectation.cannot_call)]
        allowed = [m for m in order if m in set(expectation.can_call)] if settings.can_call else []
        can_pair = bool(expectation.can_call)
        for kind in kinds():
            for route in _routes(kind, present, settings):
                variant = kind.variant_of(route)
                if kind.judgement is Judgement.LISTING:
                    if kind is reference and variant is None:
                        continue  # the reference itself: its written `lists` check, if any
                    models: list[str | None] = list(order) if kind.takes_model else [None]
                    swept += [Check(scenario.id, key.name, kind.name, model=model, variant=variant, oracle=SWEEP,
                                    agrees_with=reference.path) for model in models]
                    continue
                if kind.needs_companion and not can_pair:
                    continue
                swept += [Check(scenario.id, key.name, kind.name, model=m, expect=Expect.DENIED, variant=variant,
                                oracle=SWEEP) for m in denied]
                if kind.proves_allowed and not kind.needs_companion:
                    swept += [Check(scenario.id, key.name, kind.name, model=m, expect=Expect.ALLOWED,
                                    variant=variant, oracle=SWEEP) for m in allowed]
    written = {check.id for check in checks}
    return list(checks) + [check for check in swept if check.id not in written]


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
