"""`POST /v1/embeddings` (and `/embeddings`): embeddings, the model in the body.
"""
# Sources: https://docs.litellm.ai/docs/embedding/supported_embedding (OpenAI: /v1/embeddings).

from __future__ import annotations

from harness.probes.bodies import embedding_body
from harness.probes.routed import body_model, routed_kind, same_call
from harness.probes.shapes import EMBEDDING_LIST

KIND = routed_kind("embeddings", "POST", same_call(
    ("/v1/embeddings", "/embeddings"), body_model("POST", embedding_body), EMBEDDING_LIST))
