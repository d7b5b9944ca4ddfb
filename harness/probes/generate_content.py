"""Gemini's generateContent, streamGenerateContent and countTokens: the model in the path.

`/v1beta/models/{model_name}:generateContent` and its unversioned `/models/...` twin; a model
named only in the path must be checked like one in a body.
"""
# Sources: https://docs.litellm.ai/docs/generateContent.

from __future__ import annotations

from harness.probes.bodies import content_body
from harness.probes.routed import RouteCall, path_model, routed_kind
from harness.probes.shapes import GENERATED_CONTENT, TOKEN_COUNT

_CALL = path_model("POST", lambda model, marker: content_body(marker), parameter="model_name")

KIND = routed_kind("generate_content", "POST", [
    RouteCall(f"{base}/{{model_name}}:{action}", _CALL, TOKEN_COUNT if action == "countTokens" else GENERATED_CONTENT)
    for action in ("generateContent", "streamGenerateContent", "countTokens")
    for base in ("/v1beta/models", "/models")
])
