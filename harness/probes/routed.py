"""Probe kinds that speak one API on several routes: a table of route → request and answer.

Most kinds beyond chat probe one request shape on a few routes that differ in their prefix
(`/v1/embeddings` and `/embeddings`), or one way of naming the model on routes of several APIs
(the model in the path of chat, completions and embeddings routes). `routed_kind` builds such a
kind from a table: per route, how its request is built (`RouteCall`) and what its 2xx must be.
The first route is the kind's own (its checks carry no variant); the others are variants.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

from harness.model.check import Judgement
from harness.probes.kind import BodyShape, ProbeAsk, ProbeKind, ProbeRequest, fill_route, variant_query

#: Builds a JSON body from (model or None, marker): None leaves the model out of the body.
BodyMaker = Callable[[str | None, str], dict[str, Any]]
#: Builds the whole request from the ask and the route template.
RequestMaker = Callable[[ProbeAsk, str], ProbeRequest]


@dataclass(frozen=True)
class RouteCall:
    """One route of a routed kind: how its request is made and what a 2xx of it must be."""

    route: str
    make: RequestMaker
    answer: BodyShape


def body_model(method: str, body: BodyMaker) -> RequestMaker:
    """The model in the JSON body, the route as it is."""
    return lambda ask, route: ProbeRequest(method, route, json=body(ask.model, ask.marker))


def path_model(method: str, body: BodyMaker, parameter: str = "model") -> RequestMaker:
    """The model in the route's `{parameter}`, none in the body."""
    return lambda ask, route: ProbeRequest(method, fill_route(route, **{parameter: ask.model or ""}),
                                           json=body(None, ask.marker))


@dataclass(frozen=True)
class RoutedKind(ProbeKind):
    """A kind whose request and answer depend on the route a check probes (see the module docstring)."""

    table: tuple[RouteCall, ...] = ()

    def _call(self, variant: str | None) -> RouteCall:
        route = self.route_of(variant)
        return next(call for call in self.table if call.route == route)

    def request(self, ask: ProbeAsk) -> ProbeRequest:
        request = self._call(ask.variant).make(ask, self.route_of(ask.variant))
        query = variant_query(ask.variant)
        return dataclasses.replace(request, params={**request.params, **query}) if query else request

    def answer_for(self, variant: str | None) -> BodyShape:
        return self._call(variant).answer


def routed_kind(name: str, method: str, table: Sequence[RouteCall], *, judgement: Judgement = Judgement.CALL,
                takes_model: bool = True, reaches_upstream: bool = True, kind: type[RoutedKind] = RoutedKind,
                **options: Any) -> RoutedKind:
    """A `RoutedKind` from its table; its path is the first route, its shapes the table's answers."""
    if not table:
        raise ValueError(f"probe kind '{name}' needs at least one route")
    answers = tuple(dict.fromkeys(call.answer for call in table))
    return kind(
        name=name, judgement=judgement, method=method, path=table[0].route,
        routes=tuple(call.route for call in table), takes_model=takes_model, answer=table[0].answer,
        shapes=answers, reaches_upstream=reaches_upstream, table=tuple(table), **options,
    )


def same_call(routes: Sequence[str], make: RequestMaker, answer: BodyShape) -> list[RouteCall]:
    """One request shape and one answer on several routes."""
    return [RouteCall(route, make, answer) for route in routes]


def with_headers(make: RequestMaker, headers: Mapping[str, str]) -> RequestMaker:
    """`make` with extra headers on every request."""

    def made(ask: ProbeAsk, route: str) -> ProbeRequest:
        request = make(ask, route)
        return dataclasses.replace(request, headers={**request.headers, **headers})

    return made
