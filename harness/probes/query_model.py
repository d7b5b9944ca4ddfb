"""The model named in the `?model=` query string of chat and completions routes.

Three kinds, one per way of naming it:
- `query_model`: in the query string only, no model in the body;
- `query_over_body`: the checked model in the query, an allowed model in the body;
- `body_over_query`: the checked model in the body, an allowed model in the query.
The last two carry a second, allowed model (`ProbeAsk.companion`): whichever one the gateway
serves, the checked model must not reach the upstream unless the key may call it. A gateway that
checks the body but routes by the query lets a key call any model.
"""
# Sources: BerriAI/litellm#41810 (the bypass); the proxy's OpenAPI document (the `model` query
# parameter of /v1/completions); https://docs.litellm.ai/docs/proxy/user_keys (the routes).

from __future__ import annotations

from dataclasses import replace
from typing import Callable

from harness.model.check import Check, standard_title
from harness.probes.bodies import chat_body, completion_body
from harness.probes.kind import ProbeAsk, ProbeRequest
from harness.probes.routed import BodyMaker, RouteCall, RoutedKind, routed_kind
from harness.probes.shapes import COMPLETION, TEXT_COMPLETION

_ROUTES: tuple[tuple[str, BodyMaker, object], ...] = (
    ("/v1/chat/completions", chat_body, COMPLETION), ("/chat/completions", chat_body, COMPLETION),
    ("/v1/completions", completion_body, TEXT_COMPLETION), ("/completions", completion_body, TEXT_COMPLETION),
)

Placement = Callable[[ProbeAsk], tuple[str | None, str | None]]  # (body model, query model)


def _request(body: BodyMaker, placement: Placement) -> Callable[[ProbeAsk, str], ProbeRequest]:
    def make(ask: ProbeAsk, route: str) -> ProbeRequest:
        in_body, in_query = placement(ask)
        return ProbeRequest("POST", route, json=body(in_body, ask.marker),
                            params={"model": in_query} if in_query is not None else {})
    return make


class _Worded(RoutedKind):
    how: str = ""

    def title(self, check: Check) -> str:
        """`svc cannot call gpt-4o named in ?model= alone via /v1/chat/completions`."""
        sentence = standard_title(replace(check, variant=None))
        return f"{sentence} {self.how} via {check.variant or self.path}"


def _kind(name: str, how: str, placement: Placement, needs_companion: bool) -> RoutedKind:
    table = [RouteCall(route, _request(body, placement), answer) for route, body, answer in _ROUTES]  # type: ignore[arg-type]
    worded = type(f"{name.title()}Kind", (_Worded,), {"how": how})
    return routed_kind(name, "POST", table, kind=worded, needs_companion=needs_companion)


QUERY_ONLY = _kind("query_model", "named in ?model= alone", lambda ask: (None, ask.model), False)
QUERY_OVER_BODY = _kind("query_over_body", "named in ?model= over an allowed body model",
                        lambda ask: (ask.companion, ask.model), True)
BODY_OVER_QUERY = _kind("body_over_query", "named in the body under an allowed ?model=",
                        lambda ask: (ask.model, ask.companion), True)
KINDS = (QUERY_ONLY, QUERY_OVER_BODY, BODY_OVER_QUERY)
