"""`POST /v1/completions` (and `/completions`): OpenAI's legacy completions, the model in the body.
"""
# Sources: https://docs.litellm.ai/docs/text_completion (OpenAI: /v1/completions).

from __future__ import annotations

from harness.probes.bodies import completion_body
from harness.probes.routed import body_model, routed_kind, same_call
from harness.probes.shapes import TEXT_COMPLETION

KIND = routed_kind("completions", "POST", same_call(
    ("/v1/completions", "/completions"), body_model("POST", completion_body), TEXT_COMPLETION))
