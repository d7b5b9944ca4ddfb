"""The model named only in the URL path: Azure-style deployments and OpenAI's old engines routes.

`/openai/deployments/{model}/chat/completions` and `/engines/{model}/chat/completions` (and the
same for completions, embeddings and images), with no model in the body: a gateway that checks
only the body model lets these through.
"""
# Sources: BerriAI/litellm#8780, #8688 (the bypass);
# https://docs.litellm.ai/docs/providers/azure/ (the proxy's Azure-compatible routes).

from __future__ import annotations

from harness.probes.bodies import chat_body, completion_body, embedding_body, image_body
from harness.probes.images import edit_form
from harness.probes.routed import RouteCall, path_model, routed_kind
from harness.probes.shapes import COMPLETION, EMBEDDING_LIST, IMAGE_LIST, TEXT_COMPLETION

_APIS = (("chat/completions", chat_body, COMPLETION), ("completions", completion_body, TEXT_COMPLETION),
         ("embeddings", embedding_body, EMBEDDING_LIST))

KIND = routed_kind("path_model", "POST", [
    *(RouteCall(f"{prefix}/{{model}}/{api}", path_model("POST", body), answer)
      for api, body, answer in _APIS for prefix in ("/openai/deployments", "/engines")),
    RouteCall("/openai/deployments/{model}/images/generations", path_model("POST", image_body), IMAGE_LIST),
    RouteCall("/openai/deployments/{model}/images/edits", edit_form, IMAGE_LIST),
])
