"""OpenAI image generation and edits, the model in the body (edits: a multipart form).
"""
# Sources: https://docs.litellm.ai/docs/image_generation, https://docs.litellm.ai/docs/image_edits.

from __future__ import annotations

from harness.probes.bodies import image_body, png_bytes, probe_text
from harness.probes.kind import ProbeAsk, ProbeRequest
from harness.probes.routed import RouteCall, body_model, routed_kind
from harness.probes.shapes import IMAGE_LIST


def edit_form(ask: ProbeAsk, route: str) -> ProbeRequest:
    """A multipart image edit: the model and the prompt as fields, a tiny PNG as the image."""
    form = {"prompt": probe_text(ask.marker)}
    if ask.model is not None and "{model}" not in route:
        form["model"] = ask.model
    return ProbeRequest("POST", route.replace("{model}", ask.model or ""), form=form,
                        files={"image": ("probe.png", png_bytes(), "image/png")})


KIND = routed_kind("images", "POST", [
    RouteCall("/v1/images/generations", body_model("POST", image_body), IMAGE_LIST),
    RouteCall("/images/generations", body_model("POST", image_body), IMAGE_LIST),
    RouteCall("/v1/images/edits", edit_form, IMAGE_LIST),
    RouteCall("/images/edits", edit_form, IMAGE_LIST),
])
