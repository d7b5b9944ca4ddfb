"""The model helpers of a gateway that name a model without calling it: token counting, the model's
supported parameters and its info.

`POST /utils/token_counter` (the model in the body), `GET /utils/supported_openai_params` and
`GET /utils/model_info` (the model in `?model=`). Nothing reaches the upstream: an answer for a
model the key may not use is what gives access away. Two kinds, one per method.
"""
# Sources: https://docs.litellm.ai/docs/proxy/token_counter (and the proxy's OpenAPI document).

from __future__ import annotations

from harness.model.check import Judgement
from harness.probes.bodies import token_count_body
from harness.probes.kind import BodyShape, ProbeAsk, ProbeRequest
from harness.probes.routed import RouteCall, body_model, routed_kind


def _is_token_total(body: dict, obs: object) -> bool:  # type: ignore[type-arg]
    """`{"total_tokens": int}`."""
    total = body.get("total_tokens")
    return isinstance(total, int) and not isinstance(total, bool)


def _is_model_facts(body: dict, obs: object) -> bool:  # type: ignore[type-arg]
    """Any JSON object naming the model or its parameters (`{"model": ..., "model_info": {...}}`)."""
    return bool(body)


TOKEN_TOTAL = BodyShape("token_total", "a token total", _is_token_total, '{"total_tokens": int}')
MODEL_FACTS = BodyShape("model_facts", "facts about the model", _is_model_facts, "a JSON object")


def _query(ask: ProbeAsk, route: str) -> ProbeRequest:
    return ProbeRequest("GET", route, params={"model": ask.model or ""})


TOKEN_COUNTER = routed_kind("token_counter", "POST", [
    RouteCall("/utils/token_counter", body_model("POST", token_count_body), TOKEN_TOTAL),
], reaches_upstream=False, judgement=Judgement.CALL)
MODEL_PARAMS = routed_kind("model_params", "GET", [
    RouteCall("/utils/supported_openai_params", _query, MODEL_FACTS),
    RouteCall("/utils/model_info", _query, MODEL_FACTS),
], reaches_upstream=False, proves_allowed=False)
KINDS = (TOKEN_COUNTER, MODEL_PARAMS)
