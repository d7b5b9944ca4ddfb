"""OpenAI's Responses API, the model in the body: create, compact and count input tokens.

On `/v1/responses`, `/responses` and `/openai/v1/responses` (each with `/compact` and, where the
release has it, `/input_tokens`), and Cursor's `/cursor/chat/completions`, which takes a
Responses body (and answers a chat completion).
"""
# Sources: https://docs.litellm.ai/docs/response_api

from __future__ import annotations

from harness.probes.bodies import response_body
from harness.probes.routed import RouteCall, body_model, routed_kind
from harness.probes.shapes import COMPLETION, RESPONSE, TOKEN_COUNT

_CALL = body_model("POST", response_body)
_BASES = ("/v1/responses", "/responses", "/openai/v1/responses")

KIND = routed_kind("responses", "POST", [
    *(RouteCall(base, _CALL, RESPONSE) for base in _BASES),
    *(RouteCall(f"{base}/compact", _CALL, RESPONSE) for base in _BASES),
    *(RouteCall(f"{base}/input_tokens", _CALL, TOKEN_COUNT) for base in _BASES),
    # Cursor sends a Responses body and reads a chat completion back.
    RouteCall("/cursor/chat/completions", _CALL, COMPLETION),
])
