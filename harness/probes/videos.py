"""OpenAI video generation, `POST /v1/videos` (and `/videos`; edits, extensions and characters
where the release has them), the model in the body.
"""
# Sources: https://docs.litellm.ai/docs/videos.

from __future__ import annotations

from harness.probes.bodies import video_body
from harness.probes.routed import body_model, routed_kind, same_call
from harness.probes.shapes import VIDEO

_ROUTES = tuple(f"{base}{tail}" for tail in ("", "/edits", "/extensions", "/characters") for base in ("/v1/videos", "/videos"))

KIND = routed_kind("videos", "POST", same_call(_ROUTES, body_model("POST", video_body), VIDEO), proves_allowed=False)
