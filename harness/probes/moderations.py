"""OpenAI moderations, `POST /v1/moderations` (and `/moderations`), the model in the body.
"""
# Sources: https://docs.litellm.ai/docs/moderation.

from __future__ import annotations

from harness.probes.bodies import moderation_body
from harness.probes.routed import body_model, routed_kind, same_call
from harness.probes.shapes import MODERATION

KIND = routed_kind("moderations", "POST", same_call(
    ("/v1/moderations", "/moderations"), body_model("POST", moderation_body), MODERATION))
