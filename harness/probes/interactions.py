"""Gemini's Interactions API, `POST /v1beta/interactions` (and `/interactions`), the model in the body.
"""
# Sources: https://docs.litellm.ai/docs/interactions.

from __future__ import annotations

from harness.probes.bodies import response_body
from harness.probes.routed import body_model, routed_kind, same_call
from harness.probes.shapes import INTERACTION, RESPONSE

# Gateways that serve interactions through a Responses-speaking deployment may answer either way.
KIND = routed_kind("interactions", "POST", same_call(
    ("/v1beta/interactions", "/interactions"), body_model("POST", response_body), INTERACTION))
