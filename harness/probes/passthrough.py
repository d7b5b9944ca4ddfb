"""Provider pass-through routes that resolve a model of the gateway's own: `POST /<provider>/...`.

A pass-through route forwards a provider's native request. Some resolve a model name of the
gateway's to one of its deployments ("router models") instead of calling the provider's public
API: vLLM (model in the body), Azure (the deployment in the URL), Bedrock (the model in the URL),
NVIDIA NIM and GigaChat. Those are probed here, each the way its provider's clients name the
model. Pass-throughs that forward to a provider's public API are not: a probe there would leave
the machine if the gateway let it through. Only denials can be shown (`proves_allowed=False`):
the harness's deployments are OpenAI-compatible, none of these providers'.
"""
# Sources: https://docs.litellm.ai/docs/pass_through/vllm, https://docs.litellm.ai/docs/pass_through/azure_passthrough,
# https://docs.litellm.ai/docs/pass_through/bedrock; BerriAI/litellm#41295 (Azure).

from __future__ import annotations

from harness.probes.bodies import chat_body
from harness.probes.kind import ProbeAsk, ProbeRequest
from harness.probes.routed import RouteCall, body_model, routed_kind
from harness.probes.shapes import COMPLETION

AZURE_API_VERSION = "2024-10-21"


def _azure(ask: ProbeAsk, route: str) -> ProbeRequest:
    return ProbeRequest("POST", f"/azure/openai/deployments/{ask.model}/chat/completions",
                        params={"api-version": AZURE_API_VERSION}, json=chat_body(None, ask.marker))


def _bedrock(ask: ProbeAsk, route: str) -> ProbeRequest:
    from harness.probes.bodies import probe_text

    body = {"messages": [{"role": "user", "content": [{"text": probe_text(ask.marker)}]}]}
    return ProbeRequest("POST", f"/bedrock/model/{ask.model}/converse", json=body)


def _in_body(prefix: str, tail: str):  # type: ignore[no-untyped-def]
    make = body_model("POST", chat_body)
    return lambda ask, route: ProbeRequest("POST", f"{prefix}/{tail.format(model=ask.model)}",
                                           json=make(ask, route).json)


#: Swept only where a scenario asks (`sweep: {only: [passthrough]}`): Azure and Bedrock hand the model
#: in the URL to the router without checking the key's models (no `model` in the body for
#: `user_api_key_auth` to check), and the router's pass-through call then fails on the harness's
#: OpenAI-compatible deployment: 1.82.3 answers 500 "Provider openai not found" from
#: `allm_passthrough_route`, for an allowed and a denied model alike. That 500 is an ERROR (never
#: "denied"), so in every scenario's default sweep it would make every run undecidable; the
#: scenario that asks for it states the finding.
OPT_IN = ("/azure/{endpoint}", "/bedrock/{endpoint}")

KIND = routed_kind("passthrough", "POST", [
    RouteCall("/vllm/{endpoint}", _in_body("/vllm", "v1/chat/completions"), COMPLETION),
    RouteCall("/azure/{endpoint}", _azure, COMPLETION),
    RouteCall("/bedrock/{endpoint}", _bedrock, COMPLETION),
    RouteCall("/nvidia_nim/{endpoint}", _in_body("/nvidia_nim", "{model}/v1/infer"), COMPLETION),
    RouteCall("/gigachat/{endpoint}", _in_body("/gigachat", "v1/chat/completions"), COMPLETION),
], proves_allowed=False, opt_in_routes=OPT_IN)
